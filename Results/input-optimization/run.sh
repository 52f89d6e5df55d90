#!/bin/sh
# Joint (JIIO) vs nested input optimisation on synthetic tanh cells (docs/MATH.md §6).
# Usage: Results/input-optimization/run.sh [path/to/deq]   (from the repository root; release build)
# Writes runs/<config>-seed<k>.json and .dat (traces), objective.png; summary.md is written from these files.
set -eu
scripts/write-provenance.sh "$(dirname "$0")" "$0 $*"
DEQ=${1:-.build/release/deq}
OUT=Results/input-optimization/runs
mkdir -p "$OUT"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)" > "$OUT/loadavg.txt"
COMMON="--cell tanh --dim 64 --batch 1 --rho 0.9 --penalty 0.5 --tol 1e-8 --max-iter 20000 --gradient-tol 1e-6 --equal-objective --json"
for k in 1 2 3; do
  "$DEQ" optimize-input $COMMON --seed $k --target-seed $k --solver anderson --step 0.3 --trace "$OUT/anderson-step0.3-seed$k.dat" > "$OUT/anderson-step0.3-seed$k.json"
  "$DEQ" optimize-input $COMMON --seed $k --target-seed $k --solver forward --step 0.1 --trace "$OUT/forward-step0.1-seed$k.dat" > "$OUT/forward-step0.1-seed$k.json"
  "$DEQ" optimize-input $COMMON --seed $k --target-seed $k --solver anderson --step 0.3 --epsilon 1 --trace "$OUT/anderson-step0.3-ball1-seed$k.dat" > "$OUT/anderson-step0.3-ball1-seed$k.json"
  "$DEQ" optimize-input $COMMON --seed $k --target-seed $k --solver forward --step 0.3 --trace "$OUT/forward-step0.3-seed$k.dat" > "$OUT/forward-step0.3-seed$k.json" || true
done
gnuplot Results/input-optimization/objective.gp
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$OUT/loadavg.txt"
