#!/usr/bin/env python3
"""Head to head: Swift Anderson against scipy.optimize.anderson on the cells deq-bench exports.

For every cell directory <cells>/<name>/ written by `deq-bench scipy` (W.npy, X.npy, swift.json)
and every sample i, solve z = f(z) with f(z) = tanh(W z + x_i) from z0 = 0 as a root of
F(z) = f(z) - z with scipy.optimize.anderson, in two configurations:

  default   scipy defaults: alpha=None (chosen from the first step, see below), M=5, w0=0.01,
            line_search='armijo';
  alpha=1   alpha=1.0, line_search=None, M=5, w0=0.01: the undamped Anderson step of
            Walker & Ni, i.e. the same method as Swift's Anderson(m = 5, beta = 1) up to the
            regularisation (scipy: w0^2 on the Gram diagonal; Swift: 1e-10 x mean diagonal)
            and Swift's condition-number safeguard.

Common stopping rule, checked at every F evaluation (line-search trials included):
||f(z) - z|| / ||f(z)|| <= 1e-8. The wrapper counts every evaluation and raises a private
exception the first time the rule holds; scipy's own tolerances are set so that they never stop
it earlier (f_tol=1e-300, the x tolerances stay at their default of infinity), with a generous
iteration cap.

scipy conventions (scipy/optimize/_nonlin.py): the initial Jacobian of F is -1/alpha, so its
first step is z + alpha F(z); with alpha=None it picks alpha = 0.5 max(||z0||, 1) / ||F(z0)||
(GenericBroyden.setup), here 0.5 / ||f(0)||, i.e. a damped first step; its Anderson update is
  dz = alpha F - sum_j gamma_j (dX_j + alpha dF_j),  (dF^T dF + w0^2 diag(dF^T dF)) gamma = dF^T F
over the last M differences: with alpha = 1 this is Swift's step x + g - (dX + dG) gamma.

Prints, per cell and sample, Swift's nfe (Anderson m = 5, the memory that matches scipy's M = 5:
both count difference pairs) beside scipy's, and the verdict "never more" per configuration.
An information column (not judged) shows Swift Anderson m = 5 with mixing beta set to scipy's
automatic alpha for that sample (solved by deq-bench, one sample at a time).
Usage: scipy_anderson.py [CELLS_DIR]   (default: Benchmarks/out/cells)
"""

import json
import os
import sys
import time

import numpy as np
import scipy
import scipy.optimize

TOLERANCE = 1e-8
MAX_ITERATIONS = 20000


class Converged(Exception):
    """Raised by the counting wrapper the first time the common stopping rule holds."""


def counted_solve(solver, w, x, /, **kwargs):
    """Solves F(z) = tanh(w z + x) - z = 0 from z0 = 0 with a scipy.optimize.nonlin solver
    `solver` (scipy.optimize.anderson, broyden1, newton_krylov, ...) and keyword arguments
    `kwargs`, under the common stopping rule (checked at every F call by a counting wrapper).
    Returns (nfe, converged, status text, wall seconds of the solve including the wrapper)."""
    state = {"nfe": 0}

    def residual(z):
        fz = np.tanh(w @ z + x)
        r = fz - z
        state["nfe"] += 1
        rn = np.linalg.norm(r)
        fn = np.linalg.norm(fz)
        relative = 0.0 if rn == 0 else (rn / fn if fn > 0 else np.inf)
        if relative <= TOLERANCE:
            raise Converged()
        return r

    z0 = np.zeros_like(x)
    started = time.perf_counter()
    try:
        solver(residual, z0, **kwargs)
        return state["nfe"], False, "stopped by scipy", time.perf_counter() - started
    except Converged:
        return state["nfe"], True, "converged", time.perf_counter() - started
    except scipy.optimize.NoConvergence:
        return state["nfe"], False, "no convergence", time.perf_counter() - started
    except (ValueError, np.linalg.LinAlgError, FloatingPointError) as error:
        return state["nfe"], False, type(error).__name__ + ": " + str(error)[:40], time.perf_counter() - started


def solve_with_scipy(w, x, config):
    """Returns (nfe, converged, status text) for one sample and one scipy configuration."""
    kwargs = dict(M=5, w0=0.01, f_tol=1e-300, maxiter=MAX_ITERATIONS)
    if config == "alpha=1":
        kwargs.update(alpha=1.0, line_search=None)
    nfe, ok, status, _ = counted_solve(scipy.optimize.anderson, w, x, **kwargs)
    return nfe, ok, status


def table(header, rows, left=1):
    widths = [max(len(str(c)) for c in column) for column in zip(header, *rows)]

    def line(cells):
        return "  ".join(str(c).ljust(wd) if i < left else str(c).rjust(wd)
                         for i, (c, wd) in enumerate(zip(cells, widths)))

    return "\n".join([line(header), "  ".join("-" * wd for wd in widths)] + [line(r) for r in rows])


def load_exported_cells(cells_dir, command):
    """The Swift side's records (swift.json) of every exported cell, sorted as the Swift side
    lists them (generic cells first, then by dimension, spectral norm, kind); None after printing
    why when there are none."""
    if not os.path.isdir(cells_dir):
        print(f"{cells_dir}: no such directory; run `deq-bench {command}` first", file=sys.stderr)
        return None
    names = sorted(n for n in os.listdir(cells_dir) if os.path.isfile(os.path.join(cells_dir, n, "swift.json")))
    if not names:
        print(f"{cells_dir}: no exported cells (swift.json); run `deq-bench {command}` first", file=sys.stderr)
        return None
    records = []
    for name in names:
        with open(os.path.join(cells_dir, name, "swift.json")) as handle:
            records.append(json.load(handle))
    records.sort(key=lambda r: (r["injectionScale"] != 1, r["dimension"], r["spectralNorm"], r["symmetric"]))
    return records


def main():
    cells_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join("Benchmarks", "out", "cells")
    records = load_exported_cells(cells_dir, "scipy")
    if records is None:
        return 2

    print("")
    print("2. Head to head with SciPy: evaluations to ||f(z) - z|| / ||f(z)|| <= 1e-8 from z0 = 0")
    print("=" * 88)
    print(f"scipy {scipy.__version__}, numpy {np.__version__}, python {sys.version.split()[0]}; "
          f"scipy iteration cap {MAX_ITERATIONS}")
    print("Swift: Anderson m = 5 (default settings: beta = 1, lambda = 1e-10 relative, cond <= 1e10), "
          "the memory that matches scipy's M = 5 (both count difference pairs).")
    print("scipy 'default': alpha = 0.5/||f(0)|| (automatic), w0 = 0.01, Armijo line search; "
          "'alpha=1': alpha = 1, no line search.")
    print("nfe counts every evaluation of f (scipy: every F call, line-search trials included); "
          "'!' marks a sample that did not converge.")
    print("")

    configs = ["default", "alpha=1"]
    rows = []
    worse = {c: [] for c in configs}
    totals = {"swift": 0, "default": 0, "alpha=1": 0}
    all_converged = {c: True for c in configs}
    swift_all_converged = True
    started = time.time()
    for record in records:
        name = record["name"]
        w = np.load(os.path.join(cells_dir, name, "W.npy"))
        xs = np.load(os.path.join(cells_dir, name, "X.npy"))
        swift = next(s for s in record["solvers"] if s["label"] == "anderson-m5")
        forward = next((s for s in record["solvers"] if s["label"] == "forward"), None)
        matched = next((s for s in record["solvers"] if s["label"] == "anderson-m5-scipy-alpha"), None)
        for i in range(record["batchSize"]):
            swift_nfe = swift["evaluations"][i]
            swift_ok = swift["outcomes"][i] == "converged"
            swift_all_converged &= swift_ok
            row = [name, str(i), str(forward["evaluations"][i]) if forward else "-",
                   f"{swift_nfe}{'' if swift_ok else '!'}"]
            totals["swift"] += swift_nfe
            for config in configs:
                nfe, ok, status = solve_with_scipy(w, xs[i], config)
                totals[config] += nfe
                all_converged[config] &= ok
                row.append(f"{nfe}{'' if ok else '!'}")
                # Swift needs more when it uses more evaluations, or fails where scipy converges.
                if (swift_nfe > nfe and ok) or (not swift_ok and ok):
                    worse[config].append(f"{name}#{i} (Swift {swift_nfe} vs scipy {nfe})")
            ratio_default = row[4].rstrip("!")
            row.append(f"{int(ratio_default) / max(1, swift_nfe):.2f}")
            if matched:
                ok_m = matched["outcomes"][i] == "converged"
                row.append(f"{matched['evaluations'][i]}{'' if ok_m else '!'} (β={matched['mixing'][i]:.3f})")
                totals["matched"] = totals.get("matched", 0) + matched["evaluations"][i]
            else:
                row.append("-")
            row.append("ok" if not any(w_.startswith(f"{name}#{i} ") for c in configs for w_ in worse[c]) else "MORE")
            rows.append(row)
    print(table(["cell", "sample", "Swift forward", "Swift AA m=5", "scipy default", "scipy alpha=1",
                 "default/Swift", "Swift AA m=5 β=α_scipy", "Swift ≤ both"], rows, left=2))
    print("")
    print(f"total nfe over {len(rows)} samples: Swift AA m=5 {totals['swift']}, scipy default {totals['default']}, "
          f"scipy alpha=1 {totals['alpha=1']}   (scipy time {time.time() - started:.1f} s)")
    if "matched" in totals:
        print(f"info: Swift AA m=5 with mixing β = scipy's automatic alpha, total nfe {totals['matched']} "
              f"(the same damping as 'scipy default'; not judged)")
    print(f"converged: Swift AA m=5 {'all' if swift_all_converged else 'NOT all'}, scipy default "
          f"{'all' if all_converged['default'] else 'NOT all'}, scipy alpha=1 {'all' if all_converged['alpha=1'] else 'NOT all'}")
    print("")
    for config in configs:
        if worse[config]:
            print(f"goal 'Swift never more evaluations than scipy {config}': MISS on {len(worse[config])} of {len(rows)} samples: "
                  + ", ".join(worse[config]))
        else:
            print(f"goal 'Swift never more evaluations than scipy {config}': PASS ({len(rows)} samples)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
