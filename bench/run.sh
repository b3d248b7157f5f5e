#!/usr/bin/env bash
# vigil bench: every workload natively, under `vigil run --` and (full run) under
# strace, interleaved, with paired ratios. See docs/bench.md.
#   bash bench/run.sh [--quick] [--only NAME[,NAME]] [--vigil PATH] [--vigil-opts OPTS]
#                     [--compare 'PREFIX'|none] [--reps N] [--results DIR]
# Builds only the bench workloads (in $BUILD_DIR, default ./build, which must be
# configured: bash scripts/build.sh); uses the vigil binary given or build/vigil.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="${BUILD_DIR:-$here/../build}"
if [ ! -f "$build/CMakeCache.txt" ]; then
  echo "bench: no configured build in $build (run: bash scripts/build.sh, or set BUILD_DIR)" >&2
  exit 2
fi
cmake --build "$build" --target bench >/dev/null
exec python3 "$here/bench.py" --bench-bin "$build/bench" --vigil "$build/vigil" "$@"
