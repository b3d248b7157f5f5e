#!/usr/bin/env bash
# README command (1): install dependencies, build, run vigil on a small shell workload.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh --build-only
bash scripts/build.sh
echo "--- vigil run --events=stderr -- sh -c '...' ---" >&2
./build/vigil run --events=stderr -- sh -c 'echo hello from the app; ls / | wc -l; (sleep 0.1 &); exit 3' || echo "app exit status: $?" >&2
