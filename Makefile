# The two commands of the README. Both install missing system packages first.
#   make run   - build in release mode and run the bundled default experiment
#   make test  - build in release mode and run the test suite
SWIFT ?= swift

.PHONY: run test build deps bench clean

deps:
	@scripts/ensure-deps.sh

build: deps
	$(SWIFT) build -c release

run: build
	scripts/run-default.sh

test: deps
	$(SWIFT) test -c release

bench: deps
	scripts/bench.sh

clean:
	rm -rf .build Benchmarks/.build
