#!/bin/sh
# Reproduces Results/input-optimization-inpainting (issue 15, application 2): three DEQ decoders of
# the digits trained with their latent codes (GLO; seeds 0, 1, 2), then inpainting the bottom half
# of 10 test digits through each by optimising the code, joint (JIIO) vs nested, Anderson for
# both, for a sweep of 4 step sizes α. Needs a release build. One BLAS thread (the machine has 2
# cores, shared).
set -eu
scripts/write-provenance.sh "$(dirname "$0")" "$0 $*"
cd "$(dirname "$0")/../.."
out=Results/input-optimization-inpainting
export OPENBLAS_NUM_THREADS=1
mkdir -p "$out/runs" "$out/decoders"
uptime > "$out/runs/loadavg.txt"
git rev-parse HEAD > "$out/runs/commit.txt"
start=$(date +%s)
for seed in 0 1 2; do
  nice -n 5 .build/release/deq train-decoder --data Data/digits --width 32 --code 10 --epochs 800 --lr 0.01 \
    --penalty 0.001 --spectral-cap 0.9 --seed $seed --output "$out/decoders/seed-$seed.npz" > "$out/decoders/seed-$seed.txt"
done
echo "training seconds $(( $(date +%s) - start ))" >> "$out/runs/loadavg.txt"
nice -n 5 .build/release/deq inpaint \
  --decoder "$out/decoders/seed-0.npz" --decoder "$out/decoders/seed-1.npz" --decoder "$out/decoders/seed-2.npz" \
  --data Data/digits --images 0,1,2,3,4,5,6,7,8,9 --mask bottom-half --steps 0.01,0.03,0.1,0.3 --picture-step 0.03 \
  --penalty 0.001 --tol 1e-6 --max-iter 10000 --max-steps 20000 --gradient-tol 1e-5 --output "$out" > "$out/runs/stdout.txt"
echo "seconds $(( $(date +%s) - start ))" >> "$out/runs/loadavg.txt"
uptime >> "$out/runs/loadavg.txt"
gnuplot "$out/objective.gp"
gnuplot "$out/digits.gp"
