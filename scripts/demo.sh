#!/usr/bin/env bash
# README command (1): install dependencies, build, run vigil on a small shell workload.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh --build-only
bash scripts/build.sh
# The workload forks, writes a file, reads /etc/shadow (the default rules raise
# an alert) and exits 3: events and alerts are JSON lines on stderr, the app's
# own output is untouched on stdout, and vigil exits with the app's status.
echo "--- vigil run --events=stderr -- sh -c '...' ---" >&2
./build/vigil run --events=stderr -- sh -c 'echo hello from the app; ls / | wc -l; echo data > /tmp/vigil-demo.txt; cat /etc/shadow > /dev/null; exit 3' ||
  echo "app exit status: $?" >&2
