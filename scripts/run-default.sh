#!/usr/bin/env bash
# The README's default run: the four solver families on an easy and a hard tanh cell.
set -euo pipefail
cd "$(dirname "$0")/.."
deq=.build/release/deq
echo "== easy cell: d = 256, rho = 0.9, 8 samples =="
for solver in forward anderson; do
    "$deq" solve --cell tanh --dim 256 --batch 8 --rho 0.9 --seed 1 --solver "$solver" --tol 1e-8
done
echo "== hard cell: d = 512, symmetric, rho = 0.999, injection 0.05, 8 samples =="
for solver in forward anderson; do
    "$deq" solve --cell tanh --dim 512 --batch 8 --rho 0.999 --symmetric --injection-scale 0.05 --seed 1 \
        --solver "$solver" --memory 20 --tol 1e-8 --max-iter 100000
done
