#!/usr/bin/env bash
# Builds the benchmarks in release mode and runs them end to end (backs `make bench`):
#   1. overhead of the solvers against the cell evaluation, 1b. heap allocations per solve,
#   2. head to head with scipy.optimize.anderson, 3. hard cells, 4. Broyden and Newton–Krylov
#   head to head with scipy.optimize.broyden1 and newton_krylov, 5. the four solver families on
#   the hard cells, 6. Broyden overhead and Newton–Krylov time split, then the backward cost of
#   the gradient estimators and the convolution cell's throughput and solver counts, then (issue 13)
#   the one-sample head to head with SUNDIALS KINSOL (C runner Benchmarks/kinsol/kinsol_runner.c,
#   built here against Debian's libsundials-dev; skipped with a note when it is missing) and the
#   roofline table (every cell against its bare BLAS calls + elementwise pass).
# A missed goal is printed (MISS), not a failure: the script exits non-zero only when a step
# crashes (or a prerequisite is missing). Output is also saved to Benchmarks/out/bench.txt.
#
# usage: scripts/bench.sh [--quick] [--no-scipy]
#   --quick     smaller and fewer runs (about a minute)
#   --no-scipy  skip the SciPy comparison (no python3/numpy/scipy needed)
set -uo pipefail
cd "$(dirname "$0")/.."

quick=()
scipy=1
for argument in "$@"; do
    case "$argument" in
        --quick) quick=(--quick) ;;
        --no-scipy) scipy=0 ;;
        -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "scripts/bench.sh: unknown option '$argument'; expected --quick, --no-scipy or --help" >&2; exit 2 ;;
    esac
done

if [ "$scipy" = 1 ]; then
    if ! command -v python3 >/dev/null 2>&1; then
        echo "scripts/bench.sh: python3 not found; the SciPy comparison needs python3 with numpy and scipy" >&2
        echo "  install them (e.g. apt-get install python3, then: pip install numpy scipy) or run with --no-scipy" >&2
        exit 2
    fi
    if ! python3 -c "import numpy, scipy.optimize" >/dev/null 2>&1; then
        echo "scripts/bench.sh: python3 cannot import numpy and scipy; run: pip install numpy scipy" >&2
        echo "  (or run with --no-scipy to skip the comparison)" >&2
        exit 2
    fi
fi

echo "building Benchmarks/ (release)…"
swift build -c release --package-path Benchmarks 2>&1 | tail -n 3 || { echo "scripts/bench.sh: release build failed" >&2; exit 1; }
bin="$(swift build -c release --package-path Benchmarks --show-bin-path)/deq-bench"
[ -x "$bin" ] || { echo "scripts/bench.sh: $bin not built" >&2; exit 1; }

mkdir -p Benchmarks/out
runner=Benchmarks/out/kinsol-runner
if [ -f /usr/include/kinsol/kinsol.h ]; then
    cc -O2 -std=c11 -Wall -Wextra -o "$runner" Benchmarks/kinsol/kinsol_runner.c \
        -lsundials_kinsol -lsundials_nvecserial -lsundials_sunlinsolspgmr -lopenblas -lm \
        || { echo "scripts/bench.sh: building the KINSOL runner failed" >&2; exit 1; }
else
    rm -f "$runner"
    echo "(KINSOL runner not built: /usr/include/kinsol/kinsol.h missing; apt-get install libsundials-dev)"
fi
log=Benchmarks/out/bench.txt
: > "$log"
started=$(date +%s)

# Runs one step, appends its output to the log, and stops the script if it crashed.
step() {
    "$@" 2>&1 | tee -a "$log"
    local status=${PIPESTATUS[0]}
    if [ "$status" != 0 ]; then
        echo "scripts/bench.sh: '$*' failed with status $status" | tee -a "$log" >&2
        exit 1
    fi
}

step "$bin" overhead "${quick[@]}"
step "$bin" alloc --no-header "${quick[@]}"
step "$bin" scipy --no-header "${quick[@]}"
if [ "$scipy" = 1 ]; then
    step python3 Benchmarks/python/scipy_anderson.py Benchmarks/out/cells
else
    echo "(SciPy comparison skipped: --no-scipy)" | tee -a "$log"
fi
step "$bin" hard --no-header "${quick[@]}"
step "$bin" scipy-nonlin --no-header "${quick[@]}"
if [ "$scipy" = 1 ]; then
    if [ ${#quick[@]} -gt 0 ]; then
        step python3 Benchmarks/python/scipy_nonlin.py Benchmarks/out/nonlin-cells --repeats 1 --interleave "$bin"
    else
        step python3 Benchmarks/python/scipy_nonlin.py Benchmarks/out/nonlin-cells --interleave "$bin"
    fi
else
    echo "(SciPy comparison of Broyden and Newton–Krylov skipped: --no-scipy)" | tee -a "$log"
fi
step "$bin" families --no-header "${quick[@]}"
step "$bin" overhead-nonlin --no-header "${quick[@]}"
step "$bin" backward --no-header
step "$bin" convolution --no-header
if [ -x "$runner" ]; then
    OPENBLAS_NUM_THREADS=1 step "$bin" kinsol --no-header "${quick[@]}" --runner "$runner"
else
    echo "(KINSOL head to head skipped: runner not built)" | tee -a "$log"
fi
OPENBLAS_NUM_THREADS=1 step "$bin" roofline --no-header "${quick[@]}"
step "$bin" threads --no-header "${quick[@]}"

echo "" | tee -a "$log"
echo "benchmarks finished in $(( $(date +%s) - started )) s; output saved to $log" | tee -a "$log"
