#!/usr/bin/env python3
"""Where a solve's time goes: perf samples of `deq-bench profile` grouped by what the code does.

    OPENBLAS_NUM_THREADS=1 perf record -F 10000 -D 2000 -o broyden.data -- \\
        Benchmarks/.build/release/deq-bench profile broyden 512 1 6000
    python3 Benchmarks/python/perf_budget.py broyden.data [more.data ...]

`-D 2000` starts sampling after 2 s, when the profile loop is solving (the cell's construction,
a random W and its SVD, is over), so every sample is in the solve loop. Each sample is counted
once, by the function it was taken in (perf's "self" samples); the groups name the functions:

- evaluation: the cell's GEMV (OpenBLAS's unnamed kernel, `cblas_dgemv`; `eqk_streamed_product` for a
  batch of 2–16 rows) and its tanh pass;
- history products: the solvers' products with their history blocks (`eqk_gemv*` kernels,
  `daxpy`); Anderson's record loop (ΔX, ΔG and the previous x, g in one pass) on its own line;
- small system: Anderson's gather, Cholesky, condition bound, `dpocon` and solve (LAPACK and BLAS
  routines under them, `AndersonHistory.step`'s own code);
- Broyden update: its own loops, dot products and guard norms;
- residuals and stopping: `SolveContext.assess` (g = f − z, the norms, the best point's copy);
- copies: `memmove` and `memset` wherever they are called;
- line search: `BacktrackingLineSearch.run`'s own code;
- kernel: every sample perf took in the kernel, in a solve loop the page faults of memory touched
  for the first time.

Everything else (the loop, allocation, the Swift runtime) is one line, with its largest items.
"""
import re
import subprocess
import sys

GROUPS = [
    ("evaluation: GEMV", r"^0x0000|cblas_dgemv|dgemv_[nt]_|eqk_streamed_product"),
    ("evaluation: tanh", r"expm1|^__tanh|tanh@plt|TanhCell.*evaluate"),
    ("history products (eqk kernels, axpy)", r"^eqk_gemv|daxpy_k"),
    ("Anderson record loop (ΔX, ΔG, previous x, g)", r"AndersonHistoryC6record"),
    ("small system (gather, Cholesky, bound, dpocon, solve)",
     r"potf2|potrf|potrs|pocon|dlatrs|dtrsv|dtrsm|idamax|dlacn2|drscl|dasum_k|dscal_k|blas_memory|LAPACKE_dpo|"
     r"lsame_|dlamch|conditionBoundProves|AndersonHistoryC4step"),
    ("Broyden update (loops, dots, guard norms)", r"BroydenStateC6update|ddot_k|cblas_ddot|BLASO4norm|vectorDot"),
    ("residuals and stopping (assess)", r"SolveContextC6assess|SolveContextC12assess|residualNorms"),
    ("copies (memmove, memset)", r"memmove|memset"),
    ("line search", r"BacktrackingLineSearch"),
    ("kernel (page faults: first touches of fresh memory)", r"^\[k\] "),
]


def self_samples(path):
    report = subprocess.run(["perf", "report", "-i", path, "--sort", "symbol", "-q", "-g", "none", "--no-children"],
                            capture_output=True, text=True, check=True).stdout
    shares = {}
    for line in report.splitlines():
        parts = line.split()
        if len(parts) < 3 or not parts[0].endswith("%"):
            continue
        symbol = ("[k] " if parts[1] == "[k]" else "") + parts[2]
        shares[symbol] = shares.get(symbol, 0.0) + float(parts[0][:-1])
    return shares


def main(paths):
    if not paths:
        sys.exit(__doc__)
    for path in paths:
        shares = self_samples(path)
        total = sum(shares.values())
        grouped = {name: 0.0 for name, _ in GROUPS}
        rest = {}
        for symbol, share in shares.items():
            for name, pattern in GROUPS:
                if re.search(pattern, symbol):
                    grouped[name] += share
                    break
            else:
                rest[symbol] = share
        evaluation = grouped["evaluation: GEMV"] + grouped["evaluation: tanh"]
        print(f"{path}: % of the samples (n = {total:.1f} % of perf's total)")
        for name, _ in GROUPS:
            print(f"  {name:56s} {100 * grouped[name] / total:6.2f}")
        print(f"  {'everything else':56s} {100 * sum(rest.values()) / total:6.2f}")
        largest = sorted(rest.items(), key=lambda item: -item[1])[:6]
        print("    largest: " + ", ".join(f"{symbol[:36]} {100 * share / total:.2f}" for symbol, share in largest))
        print(f"  outside f: {100 * (1 - evaluation / total):.1f} % of the solve;"
              f" solve / time in f = {total / evaluation:.3f}")


if __name__ == "__main__":
    main(sys.argv[1:])
