#!/usr/bin/env python3
"""Before/after tables of the issue-13 benchmarks from interleaved runs.

    python3 Benchmarks/python/summarize_runs.py --before B1.txt B2.txt --after A1.txt A2.txt

Each file is the output of the issue-13 steps of `deq-bench` (overhead, kinsol, roofline,
convolution, threads; scripts/bench.sh prints them in one file). A second overhead table in a
file is read as the one-BLAS-thread run (`Benchmarks/interleaved_runs.sh` prints it second). For every table row present in
all files, every numeric column is the median over the runs of one side; the tables print the
judged figures of both sides next to each other, with the load averages each run printed.
Evaluation counts must agree between all runs (they are deterministic); a difference is printed.
"""
import argparse
import re
import statistics
import sys


def sections(text):
    """Splits a bench output into its fixed-width tables: {title: [(cells...), ...]}."""
    tables = {}
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if i + 1 < len(lines) and re.fullmatch(r"-+(  -+)+", lines[i + 1].strip()):
            # header line followed by a dashed rule: column starts from the rule
            rule = lines[i + 1]
            starts = [m.start() for m in re.finditer(r"-+", rule)]
            ends = [m.end() for m in re.finditer(r"-+", rule)]
            header = tuple(line[s:e + 2].strip() if k + 1 == len(starts) else line[s:starts[k + 1]].strip()
                           for k, (s, e) in enumerate(zip(starts, ends)))
            if header[-1] == "faster":  # a column newer runs add; keyed without it
                header = header[:-1]
                starts = starts[:-1]
            rows = []
            j = i + 2
            while j < len(lines) and lines[j].strip():
                row = lines[j]
                cells = tuple(row[s:(starts[k + 1] if k + 1 < len(starts) else len(row))].strip()
                              for k, s in enumerate(starts))
                rows.append(cells)
                j += 1
            key = header
            while key in tables:
                key = key + ("again",)
            tables[key] = rows
    # markdown tables (the convolution benchmark's): a "| … |" header followed by "|---|…"
    for i, line in enumerate(lines):
        if line.startswith("| ") and i + 1 < len(lines) and lines[i + 1].startswith("|---"):
            header = tuple(c.strip() for c in line.strip().strip("|").split("|"))
            rows = []
            j = i + 2
            while j < len(lines) and lines[j].startswith("| "):
                cells = tuple(c.strip() for c in lines[j].strip().strip("|").split("|"))
                rows.append((cells[0], "") + cells[1:])
                j += 1
            key = (header[0], "") + header[1:]
            while key in tables:
                key = key + ("again",)
            tables[key] = rows
    return tables


def number(cell):
    m = re.fullmatch(r"(-?[0-9.]+(?:e[-+]?[0-9]+)?) ?(×|%|ms|s|µs)?", cell)
    return float(m.group(1)) if m else None


def loads(text):
    return re.findall(r"load average at (?:start|end)[^:]*: ([0-9. ]+)", text)


def merge(files):
    """Per table and row label: the median of each numeric column over the files."""
    parsed = [sections(open(f).read()) for f in files]
    merged = {}
    for header, rows in parsed[0].items():
        if not all(header in p for p in parsed):
            continue
        labels = lambda rs: {tuple(r[:2]): r for r in rs}
        per_file = [labels(p[header]) for p in parsed]
        out = {}
        for label in per_file[0]:
            if not all(label in pf for pf in per_file):
                continue
            columns = []
            for k, cell in enumerate(per_file[0][label]):
                values = [number(pf[label][k]) if k < len(pf[label]) else None for pf in per_file]
                if all(v is not None for v in values):
                    columns.append(statistics.median(values))
                else:
                    columns.append(cell)
            out[label] = columns
        merged[header] = out
    return merged


def column(header, name):
    for k, h in enumerate(header):
        if h == name:
            return k
    return None


def fmt(v, digits=2):
    return f"{v:.{digits}f}" if isinstance(v, float) else str(v)


def table(title, columns, rows, before, line):
    """Prints a markdown table: one line(label, after_row, before_row) per row both sides have."""
    print(title + "\n")
    print("| " + " | ".join(columns) + " |")
    print("|" + "|".join("---" if k < 2 else "---:" for k in range(len(columns))) + "|")
    for label, r in rows.items():
        if label in before:
            print("| " + " | ".join(line(label, r, before[label])) + " |")
    print()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--before", nargs="+", required=True)
    parser.add_argument("--after", nargs="+", required=True)
    a = parser.parse_args()
    before, after = merge(a.before), merge(a.after)
    for side, files in (("before", a.before), ("after", a.after)):
        for f in files:
            print(f"- {side} `{f}`: load averages " + "; ".join(loads(open(f).read())))
    print()
    for header, rows in after.items():
        if header not in before:
            continue
        title = " | ".join(header[:2])
        if "deq µs/eval" in header:
            picks = ["deq nfe", "KINSOL nfe", "deq µs/eval", "KINSOL µs/eval", "ratio", "deq total ms", "KINSOL total ms"]
            print("KINSOL head to head (one sample, one BLAS thread; medians over runs of per-run medians)\n")
            print("| cell | method | nfe deq / KINSOL | µs/eval before | after | KINSOL | per-eval ratio before → after | total ms after (deq / KINSOL) | total ratio after |")
            print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
            i_nfe, i_knfe = column(header, "deq nfe"), column(header, "KINSOL nfe")
            i_us, i_kus = column(header, "deq µs/eval"), column(header, "KINSOL µs/eval")
            i_tot, i_ktot = column(header, "deq total ms"), column(header, "KINSOL total ms")
            for label, r in rows.items():
                if label not in before[header]:
                    continue
                b = before[header][label]
                print(f"| {label[0]} | {label[1]} | {fmt(r[i_nfe], 0)} / {fmt(r[i_knfe], 0)} | {fmt(b[i_us], 1)} | {fmt(r[i_us], 1)} | "
                      f"{fmt(r[i_kus], 1)} | {b[i_us] / b[i_kus]:.2f} → {r[i_us] / r[i_kus]:.2f} | "
                      f"{fmt(r[i_tot], 2)} / {fmt(r[i_ktot], 2)} | {r[i_tot] / r[i_ktot]:.2f} |")
                if b[i_nfe] != r[i_nfe]:
                    print(f"  (nfe differ: before {b[i_nfe]}, after {r[i_nfe]})")
            print()
        elif "J·v µs" in header:
            ratios = [k for k, h in enumerate(header) if h == "ratio"]
            table("Roofline (cell / bare BLAS + elementwise, one BLAS thread; median over runs of the per-run median ratio)",
                  ["cell", "B", "f before → after", "J·v before → after", "vᵀJ before → after"], rows, before[header],
                  lambda label, r, b: [label[0], label[1]] + [f"{b[k]:.2f} → {r[k]:.2f}" for k in ratios])
        elif "own %" in header and "solver" in header:
            i_ratio, i_own, i_nfe = column(header, "ratio"), column(header, "own %"), column(header, "nfe max")
            threads = "one BLAS thread (OPENBLAS_NUM_THREADS=1)" if "again" in header else "default BLAS threads"
            table(f"Solver overhead (solve / (nfe × one evaluation), {threads}; median over runs)",
                  ["cell", "solver", "nfe", "ratio before → after", "own % before → after"], rows, before[header],
                  lambda label, r, b: [label[0], label[1], fmt(r[i_nfe], 0), f"{b[i_ratio]:.3f} → {r[i_ratio]:.3f}",
                                       f"{b[i_own]:.1f} → {r[i_own]:.1f}"])
        elif "plain GEMM" in header:
            i_ratio = header.index("ratio")
            table("Convolutional cells: f(z) throughput against plain GEMM of the same shapes (default BLAS threads; goal ≥ 60 %)",
                  ["cell", "f / GEMM throughput before → after"], rows, before[header],
                  lambda label, r, b: [label[0], f"{b[i_ratio]:.0f} % → {r[i_ratio]:.0f} %"])
        elif "1 thread s" in header:
            i1 = column(header, "1 thread s")
            speedups = [k for k, h in enumerate(header) if h == "speed-up"]
            table("Both cores (median over runs)",
                  ["case", "nfe", "1 thread s before / after", "BLAS×2 speed-up before → after", "samples×2 speed-up before → after"],
                  rows, before[header],
                  lambda label, r, b: [label[0], label[1], f"{b[i1]:.3f} / {r[i1]:.3f}"] + [f"{b[k]:.2f}× → {r[k]:.2f}×" for k in speedups])


if __name__ == "__main__":
    sys.exit(main())
