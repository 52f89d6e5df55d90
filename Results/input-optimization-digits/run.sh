#!/bin/sh
# Reproduces Results/input-optimization-digits (issue 15, application 1): an ℓ∞ adversarial
# perturbation (ε = 2 pixel units of 0–16, inside the pixel box) of 3 test digits for each of the
# 3 trained digits models, joint (JIIO) vs nested, Anderson for both. Needs a release build.
set -eu
scripts/write-provenance.sh "$(dirname "$0")" "$0 $*"
cd "$(dirname "$0")/../.."
out=Results/input-optimization-digits
mkdir -p "$out/runs"
uptime > "$out/runs/loadavg.txt"
git rev-parse HEAD > "$out/runs/commit.txt"
start=$(date +%s)
nice -n 5 .build/release/deq attack \
  --checkpoint Results/digits-solvers/runs/implicit-seed-0 \
  --checkpoint Results/digits-solvers/runs/implicit-seed-1 \
  --checkpoint Results/digits-solvers/runs/implicit-seed-2 \
  --data Data/digits --images 0,1,2 --epsilon 2 --lower 0 --upper 16 --step 1000 \
  --tol 1e-6 --max-iter 5000 --max-steps 1000 --gradient-tol 1e-8 --output "$out" > "$out/runs/stdout.txt"
echo "seconds $(( $(date +%s) - start ))" >> "$out/runs/loadavg.txt"
uptime >> "$out/runs/loadavg.txt"
gnuplot "$out/objective.gp"
