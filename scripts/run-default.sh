#!/usr/bin/env bash
# The README's default run: the quickstart experiment, run afresh into out/quickstart (the
# committed reference results are in Results/quickstart).
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf out/quickstart
exec .build/release/deq run quickstart --out out/quickstart "$@"
