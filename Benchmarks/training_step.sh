#!/usr/bin/env bash
# Issue 13, part 5 (training): seconds per training step of the bundled digits model (the DEQ
# tutorial's convolutional cell, `deq train --task digits`, its defaults: C = 16, batch 32,
# Anderson forward, implicit backward) for one epoch, in three ways: 1 BLAS thread ("1"), 2 BLAS
# threads ("2"), and data-parallel steps on 2 threads with 1 BLAS thread each ("2s",
# `--sample-threads 2`, skipped for a binary without that option); interleaved over ROUNDS
# rounds. Prints the median forward, backward and whole-step seconds per step and each 2-thread
# way's speed-up over "1". With two binaries (before, after) both are run in every round.
#
# usage: Benchmarks/training_step.sh ROUNDS DEQ_BINARY [DEQ_BINARY ...]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:?usage: Benchmarks/training_step.sh ROUNDS DEQ_BINARY [DEQ_BINARY ...]}
shift
[ "$#" -ge 1 ] || { echo "usage: Benchmarks/training_step.sh ROUNDS DEQ_BINARY [DEQ_BINARY ...]" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
for round in $(seq 1 "$rounds"); do
    for b in $(seq 1 "$#"); do
        binary=${!b}
        ways="1 2"
        if "$binary" train --help 2>&1 | grep -q -- --sample-threads; then ways="1 2 2s"; fi
        for threads in $ways; do
            out="$work/run-$b-$threads-$round"
            case $threads in
                2s) OPENBLAS_NUM_THREADS=1 "$binary" train --task digits --epochs 1 --sample-threads 2 --output "$out" > /dev/null ;;
                *) OPENBLAS_NUM_THREADS=$threads "$binary" train --task digits --epochs 1 --output "$out" > /dev/null ;;
            esac
            # log.tsv: epoch loss accuracy test_accuracy forward_nfe backward_vjps forward_seconds backward_seconds epoch_seconds steps ...
            awk -v b="$b" -v t="$threads" -v r="$round" 'NR == 2 { printf "%s %s %.6f %.6f %.2f %s\n", b, t, $7 / $10, $8 / $10, $5, r }' "$out/log.tsv" >> "$work/times"
        done
    done
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$work/times" "$@" <<'PY'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1])]
binaries = sys.argv[2:]
print(f"{'binary':<40} {'threads':>7} {'forward s/step':>15} {'backward s/step':>16} {'step s':>8} {'forward nfe':>11} {'speed-up':>9}")
for b, name in enumerate(binaries, 1):
    step = {}
    for t in ("1", "2", "2s"):
        mine = [r for r in rows if r[0] == str(b) and r[1] == t]
        if not mine:
            continue
        f = statistics.median(float(r[2]) for r in mine)
        g = statistics.median(float(r[3]) for r in mine)
        step[t] = f + g
        nfe = sorted({r[4] for r in mine})
        speed = f"{step['1'] / step[t]:.2f}×" if t != "1" else ""
        print(f"{name:<40} {t:>7} {f:15.4f} {g:16.4f} {f + g:8.4f} {','.join(nfe):>11} {speed:>9}")
print(f"medians over {len({r[5] for r in rows})} rounds; threads 1 and 2: BLAS threads; 2s: --sample-threads 2 on 1 BLAS thread each; a step = forward solve + loss, backward, optimiser update (the trainer's forward_seconds + backward_seconds); the epoch's test evaluation is not in it")
PY
