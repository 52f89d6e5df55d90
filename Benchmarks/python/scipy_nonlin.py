#!/usr/bin/env python3
"""Head to head: Swift Broyden and Newton-Krylov against scipy.optimize.broyden1 and
scipy.optimize.newton_krylov on the cells `deq-bench scipy-nonlin` exports.

For every cell directory <cells>/<name>/ (W.npy, X.npy, swift.json) and every sample i, solve
z = f(z) with f(z) = tanh(W z + x_i) from z0 = 0 as a root of F(z) = f(z) - z with

  broyden1 default   scipy defaults: alpha=None (0.5 max(||z0||, 1)/||F(z0)|| = 0.5/||f(0)||),
                     reduction_method='restart', max_rank=infinity, line_search='armijo';
  broyden1 alpha=1   alpha=1.0, line_search=None (otherwise defaults): initial inverse Jacobian
                     -I, full steps, the same method as Swift's Broyden (H = -I + U V^T, good
                     Broyden update, full steps); Swift restarts from -I after L = 20 pairs,
                     scipy keeps every pair (max_rank infinite);
  NK lgmres          newton_krylov defaults: method='lgmres', inner_maxiter=20, outer_k=10,
                     rdiff = sqrt(eps) (h = rdiff max(1, |z|) / (max(1, |F|) |v|)), Armijo line
                     search, forcing eta_0 = 1e-3, then 0.9 (|F_k|/|F_k-1|)^2 with safeguards;
  NK gmres           the same with method='gmres'.

The stopping rule, counting wrapper and iteration cap are those of scipy_anderson.py (imported):
||f(z) - z|| / ||f(z)|| <= 1e-8, checked at every F call, scipy's own tolerances never stopping it
first. scipy counts every F call: for newton_krylov its Jacobian-vector products are forward
differences (F(z + h v) - F(z)) / h, each one F call, so the like-for-like Swift figure is
Newton-Krylov with finite-difference J.v (every probe counted in nfe); Swift with analytic J.v is
shown beside it as nfe + jvp. (A probe point that happens to meet the stopping rule also ends
scipy's solve, a small advantage for scipy.)

Wall time: one-sample solves on both sides (scipy solves one sample at a time), medians over N
rounds per sample. With --interleave DEQ_BENCH (what scripts/bench.sh does) every round of a cell
first runs `DEQ_BENCH time-nonlin CELL` (Swift's one-sample solves of that cell, after a warm-up,
release build) and then scipy's runs of the same cell, so both are timed in the same stretch of
machine load; without it, Swift's times are those deq-bench recorded in swift.json at export
(another moment of the load). The batched Swift solve is shown for information. Scipy's times
include Python's per-iteration overhead and the wrapper's two norms per call (Swift computes the
same norms inside its solve); both use OpenBLAS on the same 2 cores.
Usage: scipy_nonlin.py [CELLS_DIR] [--repeats N] [--interleave DEQ_BENCH]
       (default: Benchmarks/out/nonlin-cells, N = 3)
"""

import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np
import scipy
import scipy.optimize

from scipy_anderson import MAX_ITERATIONS, counted_solve, load_exported_cells, table

CONFIGS = {
    "broyden1 default": (scipy.optimize.broyden1, dict()),
    "broyden1 alpha=1": (scipy.optimize.broyden1, dict(alpha=1.0, line_search=None)),
    "NK lgmres": (scipy.optimize.newton_krylov, dict(method="lgmres")),
    "NK gmres": (scipy.optimize.newton_krylov, dict(method="gmres")),
}
# Which Swift solver (label in swift.json) each scipy configuration is judged against.
JUDGED = {
    "broyden1 default": "broyden",
    "broyden1 alpha=1": "broyden",
    "NK lgmres": "newton-krylov-fd",
    "NK gmres": "newton-krylov-fd",
}


def main():
    arguments = sys.argv[1:]
    repeats = 3
    if "--repeats" in arguments:
        at = arguments.index("--repeats")
        try:
            repeats = int(arguments[at + 1])
            assert repeats >= 1
        except (IndexError, ValueError, AssertionError):
            print("--repeats expects a positive integer", file=sys.stderr)
            return 2
        del arguments[at:at + 2]
    swift_binary = None
    if "--interleave" in arguments:
        at = arguments.index("--interleave")
        if at + 1 >= len(arguments) or not os.access(arguments[at + 1], os.X_OK):
            print("--interleave expects the deq-bench executable", file=sys.stderr)
            return 2
        swift_binary = arguments[at + 1]
        del arguments[at:at + 2]
    cells_dir = arguments[0] if arguments else os.path.join("Benchmarks", "out", "nonlin-cells")
    records = load_exported_cells(cells_dir, "scipy-nonlin")
    if records is None:
        return 2

    print("")
    print("4. Broyden and Newton-Krylov against SciPy: evaluations to ||f(z) - z|| / ||f(z)|| <= 1e-8 from z0 = 0")
    print("=" * 100)
    print(f"scipy {scipy.__version__}, numpy {np.__version__}, python {sys.version.split()[0]}; "
          f"scipy iteration cap {MAX_ITERATIONS}; wall times = medians of {repeats} round(s) per sample; "
          + ("Swift timed in alternating rounds with scipy, cell by cell (deq-bench time-nonlin)" if swift_binary
             else "Swift's from swift.json (recorded at export, not interleaved with scipy's)"))
    print("Swift: Broyden L = 20 (restart, no line search); Newton-Krylov GMRES(40), 2 restarts, Eisenstat-Walker,")
    print("line search, with fd J.v (every probe in nfe: the like-for-like figure) and analytic J.v (nfe+jvp, info).")
    print("scipy counts every F call (line-search trials and newton_krylov's finite-difference probes included).")
    print("'!' marks a sample that did not converge. Judged: Swift Broyden vs both broyden1 columns, Swift NK fd vs")
    print("both newton_krylov columns: never more evaluations (and converged wherever scipy converged).")
    print("")

    rows = []
    worse = {c: [] for c in CONFIGS}
    totals = {c: 0 for c in CONFIGS}
    swift_totals = {"broyden": 0, "newton-krylov-fd": 0, "newton-krylov-analytic": 0}
    times = []  # per cell: swift one-sample sums, swift batched, scipy sums
    slower = {c: [] for c in CONFIGS}
    started = time.time()
    for record in records:
        name = record["name"]
        w = np.load(os.path.join(cells_dir, name, "W.npy"))
        xs = np.load(os.path.join(cells_dir, name, "X.npy"))
        swift = {s["label"]: s for s in record["solvers"]}
        batch_size = record["batchSize"]
        # Timing rounds: [config][sample] -> seconds per round; Swift's from time-nonlin when interleaved.
        scipy_runs = {c: [[] for _ in range(batch_size)] for c in CONFIGS}
        swift_runs = {label: [[] for _ in range(batch_size)] for label in swift_totals}
        results = [{} for _ in range(batch_size)]
        for _ in range(repeats):
            if swift_binary:
                output = subprocess.run([swift_binary, "time-nonlin", os.path.join(cells_dir, name)],
                                        check=True, capture_output=True, text=True).stdout
                for label, seconds in json.loads(output).items():
                    for i, value in enumerate(seconds):
                        swift_runs[label][i].append(value)
            for i in range(batch_size):
                for config, (method, extra) in CONFIGS.items():
                    kwargs = dict(f_tol=1e-300, maxiter=MAX_ITERATIONS)
                    kwargs.update(extra)
                    nfe, ok, status, seconds = counted_solve(method, w, xs[i], **kwargs)
                    results[i][config] = (nfe, ok)
                    scipy_runs[config][i].append(seconds)
        scipy_seconds = {c: sum(statistics.median(runs) for runs in scipy_runs[c]) for c in CONFIGS}
        for i in range(batch_size):
            def swift_text(label, products=False):
                s = swift[label]
                ok = s["outcomes"][i] == "converged"
                value = f"{s['evaluations'][i]}+{s['jacobianVectorProducts'][i]}" if products else str(s["evaluations"][i])
                return value + ("" if ok else "!")
            for label in swift_totals:
                swift_totals[label] += swift[label]["evaluations"][i] + swift[label]["jacobianVectorProducts"][i]
            row = [name, str(i), swift_text("broyden")]
            for config in CONFIGS:
                nfe, ok = results[i][config]
                totals[config] += nfe
                s = swift[JUDGED[config]]
                swift_nfe, swift_ok = s["evaluations"][i], s["outcomes"][i] == "converged"
                if (swift_nfe > nfe and ok) or (not swift_ok and ok):
                    worse[config].append(f"{name}#{i} (Swift {swift_nfe} vs scipy {nfe})")
            row += [f"{results[i][c][0]}{'' if results[i][c][1] else '!'}" for c in ("broyden1 default", "broyden1 alpha=1")]
            row += [swift_text("newton-krylov-fd"), swift_text("newton-krylov-analytic", products=True)]
            row += [f"{results[i][c][0]}{'' if results[i][c][1] else '!'}" for c in ("NK lgmres", "NK gmres")]
            row.append("ok" if not any(x.startswith(f"{name}#{i} ") for c in CONFIGS for x in worse[c]) else "MORE")
            rows.append(row)
        if swift_binary:
            one = {label: sum(statistics.median(runs) for runs in swift_runs[label]) for label in swift_totals}
        else:
            one = {label: sum(s["sampleSeconds"]) for label, s in swift.items()}
        batch = {label: s["batchSeconds"] for label, s in swift.items()}
        times.append((name, one, batch, scipy_seconds))
        for config in CONFIGS:
            if one[JUDGED[config]] >= scipy_seconds[config]:
                slower[config].append(f"{name} (Swift {one[JUDGED[config]] * 1e3:.1f} ms vs scipy {scipy_seconds[config] * 1e3:.1f} ms)")

    print(table(["cell", "sample", "Swift Broyden", "broyden1 default", "broyden1 alpha=1", "Swift NK fd",
                 "Swift NK analytic", "NK lgmres", "NK gmres", "Swift ≤ all"], rows, left=2))
    print("")
    print(f"total nfe over {len(rows)} samples: Swift Broyden {swift_totals['broyden']}, "
          + ", ".join(f"{c} {totals[c]}" for c in ("broyden1 default", "broyden1 alpha=1")) + "; "
          f"Swift NK fd {swift_totals['newton-krylov-fd']}, Swift NK analytic (nfe+jvp) "
          f"{swift_totals['newton-krylov-analytic']}, " + ", ".join(f"{c} {totals[c]}" for c in ("NK lgmres", "NK gmres")))
    print("")

    print("Wall time per cell, ms: the sum over the samples of the median one-sample solve time ("
          + ("Swift and scipy timed in alternating rounds;" if swift_binary else "Swift's from swift.json, not interleaved;"))
    print("scipy's include Python's overhead); 'batched' = one Swift solve of all samples, from swift.json (info).")
    print("")
    time_rows = []
    for name, one, batch, sp in times:
        time_rows.append([name,
                          f"{one['broyden'] * 1e3:.2f}", f"{batch['broyden'] * 1e3:.2f}",
                          f"{sp['broyden1 default'] * 1e3:.1f}", f"{sp['broyden1 alpha=1'] * 1e3:.1f}",
                          f"{min(sp['broyden1 default'], sp['broyden1 alpha=1']) / one['broyden']:.1f}x",
                          f"{one['newton-krylov-fd'] * 1e3:.2f}", f"{one['newton-krylov-analytic'] * 1e3:.2f}",
                          f"{batch['newton-krylov-fd'] * 1e3:.2f}",
                          f"{sp['NK lgmres'] * 1e3:.1f}", f"{sp['NK gmres'] * 1e3:.1f}",
                          f"{min(sp['NK lgmres'], sp['NK gmres']) / one['newton-krylov-fd']:.1f}x"])
    print(table(["cell", "Swift Broyden", "batched", "broyden1 default", "broyden1 alpha=1", "scipy/Swift",
                 "Swift NK fd", "Swift NK analytic", "NK fd batched", "NK lgmres", "NK gmres", "scipy/Swift"],
                time_rows, left=1))
    print("(scipy/Swift: the faster scipy configuration over Swift's one-sample time; NK judged with fd J.v)")
    print(f"(scipy time {time.time() - started:.1f} s in all)")
    print("")
    for config in CONFIGS:
        swift_name = "Broyden" if JUDGED[config] == "broyden" else "NK fd"
        if worse[config]:
            print(f"goal 'Swift {swift_name} never more evaluations than scipy {config}': MISS on {len(worse[config])} "
                  f"of {len(rows)} samples: " + ", ".join(worse[config]))
        else:
            print(f"goal 'Swift {swift_name} never more evaluations than scipy {config}': PASS ({len(rows)} samples)")
    for config in CONFIGS:
        swift_name = "Broyden" if JUDGED[config] == "broyden" else "NK fd"
        if slower[config]:
            print(f"goal 'Swift {swift_name} lower wall time than scipy {config}' (one-sample solves): MISS on "
                  f"{len(slower[config])} of {len(times)} cells: " + ", ".join(slower[config]))
        else:
            print(f"goal 'Swift {swift_name} lower wall time than scipy {config}' (one-sample solves): PASS ({len(times)} cells)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
