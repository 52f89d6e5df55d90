#!/usr/bin/env bash
# The README's default run: the quickstart experiment into Results/quickstart.
set -euo pipefail
cd "$(dirname "$0")/.."
exec .build/release/deq run quickstart "$@"
