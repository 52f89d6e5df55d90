#!/usr/bin/env bash
# Issue 13: before/after runs of the issue-13 benchmark steps, interleaved (before, after,
# before, after, …) so that both sides see the same machine state. Each run writes one file with,
# in this order: overhead (default BLAS threads), overhead again with OPENBLAS_NUM_THREADS=1,
# convolution, kinsol and roofline (one BLAS thread), threads. Then the digits training step
# (training_step.sh, 3 rounds) on both `deq` binaries. Summarise with
#     python3 Benchmarks/python/summarize_runs.py --before OUT/TAG-before-*.txt --after OUT/TAG-after-*.txt
# which reads the second overhead table as the one-thread one.
#
# usage: Benchmarks/interleaved_runs.sh BEFORE_CHECKOUT AFTER_CHECKOUT TAG [RUNS] [OUT]
#   BEFORE_CHECKOUT, AFTER_CHECKOUT: checkouts (e.g. git worktrees) with release builds of `deq`
#   (swift build -c release) and of deq-bench (swift build -c release --package-path Benchmarks);
#   RUNS: runs per side (default 3); OUT: output folder (default Benchmarks/results).
# The KINSOL runner is built here (Benchmarks/out/kinsol-runner, libsundials-dev).
set -euo pipefail
usage="usage: Benchmarks/interleaved_runs.sh BEFORE_CHECKOUT AFTER_CHECKOUT TAG [RUNS] [OUT]"
before=${1:?$usage}; after=${2:?$usage}; tag=${3:?$usage}; runs=${4:-3}
cd "$(dirname "$0")/.."
out=${5:-Benchmarks/results}
case $runs in ''|*[!0-9]*|0) echo "interleaved_runs.sh: RUNS must be a positive integer, got '$runs'" >&2; exit 2 ;; esac
for side in "$before" "$after"; do
    for binary in "$side/.build/release/deq" "$side/Benchmarks/.build/release/deq-bench"; do
        [ -x "$binary" ] || { echo "interleaved_runs.sh: $binary is missing; build $side in release mode first" >&2; exit 2; }
    done
done
[ -f /usr/include/kinsol/kinsol.h ] || { echo "interleaved_runs.sh: /usr/include/kinsol/kinsol.h missing; apt-get install libsundials-dev" >&2; exit 2; }
mkdir -p Benchmarks/out "$out"
runner=$PWD/Benchmarks/out/kinsol-runner
cc -O2 -std=c11 -Wall -Wextra -o "$runner" Benchmarks/kinsol/kinsol_runner.c \
    -lsundials_kinsol -lsundials_nvecserial -lsundials_sunlinsolspgmr -lopenblas -lm
out=$(cd "$out" && pwd)

# One run of the steps with one checkout's deq-bench, from that checkout (it exports its cells there).
one() {
    local checkout=$1 file=$2
    local bench=$checkout/Benchmarks/.build/release/deq-bench
    ( cd "$checkout"
      "$bench" overhead
      OPENBLAS_NUM_THREADS=1 "$bench" overhead --no-header
      "$bench" convolution --no-header
      OPENBLAS_NUM_THREADS=1 "$bench" kinsol --no-header --runner "$runner"
      OPENBLAS_NUM_THREADS=1 "$bench" roofline --no-header
      "$bench" threads --no-header ) > "$file.partial" 2>&1
    mv "$file.partial" "$file"
    echo "$(date +%T) wrote $file"
}
for run in $(seq 1 "$runs"); do
    one "$before" "$out/$tag-before-$run.txt"
    one "$after" "$out/$tag-after-$run.txt"
done
Benchmarks/training_step.sh 3 "$before/.build/release/deq" "$after/.build/release/deq" > "$out/$tag-training-step.txt.partial"
mv "$out/$tag-training-step.txt.partial" "$out/$tag-training-step.txt"
echo "$(date +%T) wrote $out/$tag-training-step.txt"
