#!/usr/bin/env python3
"""Compares two results folders of `deq run` (e.g. merged shards against one run), times and
machine fields aside; exits 1 with the first differences when they differ.

    python3 scripts/compare-results.py MERGED SINGLE

Compared: the set of files (pictures aside); every points/*.json and manifest.json as JSON,
with the keys that hold times or describe the machine and the process removed (any key ending
in seconds, started, ended, machine, blasThreads, gitRevision, provenance, earlierRuns, sources:
the revision, command and shards of the writing process); summary.tsv without its wall-time column; every other text file
(curves/*.dat and *.gp, path-independence/, gradients/, jacobian/ tables) line by line with
the columns named in a `# columns:` line as *seconds* or *time* removed. Numbers must be
equal exactly: shards run the same deterministic computations as one run.
"""
import json
import os
import sys

IGNORED_KEYS = {"wallSeconds", "seconds", "started", "ended", "machine", "blasThreads", "gitRevision",
                "provenance", "earlierRuns", "sources"}
PICTURES = (".png", ".svg", ".pdf")


def files(root):
    out = set()
    for folder, _, names in os.walk(root):
        for name in names:
            if not name.endswith(PICTURES):
                out.add(os.path.relpath(os.path.join(folder, name), root))
    return out


def strip(value):
    if isinstance(value, dict):
        return {k: strip(v) for k, v in value.items() if k not in IGNORED_KEYS and not k.lower().endswith("seconds")}
    if isinstance(value, list):
        return [strip(v) for v in value]
    return value


def table(path):
    """Rows of a tab- or space-separated text file without its time columns."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    drop = set()
    rows = []
    for line in lines:
        if line.startswith("# columns:"):
            names = line[len("# columns:"):].split()
            drop = {i for i, n in enumerate(names) if "second" in n or "time" in n}
            rows.append(line)
            continue
        if "\t" in line and not drop and any(("wall" in c or "second" in c or "time" in c) for c in line.split("\t")):
            drop = {i for i, c in enumerate(line.split("\t")) if "wall" in c or "second" in c or "time" in c}
        separator = "\t" if "\t" in line else None
        columns = line.split(separator) if not line.startswith("#") else [line]
        rows.append([c for i, c in enumerate(columns) if i not in drop] if len(columns) > 1 else columns)
    return rows


def main(a, b):
    problems = []
    fa, fb = files(a), files(b)
    if fa != fb:
        problems.append(f"different files: only in {a}: {sorted(fa - fb)}; only in {b}: {sorted(fb - fa)}")
    for rel in sorted(fa & fb):
        pa, pb = os.path.join(a, rel), os.path.join(b, rel)
        if rel.endswith(".json"):
            with open(pa) as x, open(pb) as y:
                ja, jb = strip(json.load(x)), strip(json.load(y))
            if rel == "manifest.json":
                for m in (ja, jb):
                    m.get("spec", {}).pop("baseDirectory", None)
            if ja != jb:
                problems.append(f"{rel}: JSON differs (times aside)")
        elif rel.endswith(".gp") or rel.endswith(".md"):
            with open(pa, encoding="utf-8") as x, open(pb, encoding="utf-8") as y:
                la, lb = x.read().splitlines(), y.read().splitlines()
            if rel.endswith(".md"):  # the summary's wall-time column and the results path
                keep = lambda l: not l.startswith("|") and "results in" not in l and not l.startswith("Provenance:")
                la, lb = [l for l in la if keep(l)], [l for l in lb if keep(l)]
            if la != lb:
                problems.append(f"{rel}: text differs")
        else:
            if table(pa) != table(pb):
                problems.append(f"{rel}: table differs (time columns aside)")
    if problems:
        print(f"{a} and {b} differ:", *problems[:20], sep="\n  ", file=sys.stderr)
        return 1
    print(f"{a} equals {b}: {len(fa)} files, times and machine fields aside")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1], sys.argv[2]))
