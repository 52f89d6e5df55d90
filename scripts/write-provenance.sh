#!/bin/sh
# Writes DIR/provenance.json (the schema of Provenance in Sources/EquilibriumExperiments/Run/MachineDescription.swift)
# for a results folder made by a script rather than by deq: the commit, whether tracked files outside
# Results/ differ from it, the build configuration and the exact command.
# Usage: scripts/write-provenance.sh DIR COMMAND...   (from the repository root)
set -eu
dir=$1; shift
commit=$(git rev-parse HEAD 2>/dev/null || echo "")
changes=$(git status --porcelain --untracked-files=no -- . ':(exclude)Results' 2>/dev/null | sed 's/^...//')
if [ -n "$changes" ]; then dirty=true; else dirty=false; fi
python3 - "$dir" "$commit" "$dirty" "$changes" "$*" <<'PY'
import json, os, sys, datetime
d, commit, dirty, changes, command = sys.argv[1:6]
p = {"gitCommit": commit or None, "sourceCheckout": os.getcwd(), "dirty": dirty == "true",
     "buildConfiguration": "release", "command": command, "workingDirectory": os.getcwd(),
     "toolkitVersion": "0.1.0", "recorded": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}
if dirty == "true": p["dirtyFiles"] = [c for c in changes.split("\n") if c][:200]
json.dump(p, open(os.path.join(d, "provenance.json"), "w"), indent=2, sort_keys=True)
PY
