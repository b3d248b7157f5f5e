#!/usr/bin/env bash
# The floor of create_files in both columns: the workload natively, under the
# cheapest possible notification supervisor (bench/micro/notify_floor.c: the
# same trapped calls, the path read, CONTINUE) with and without SYNC_WAKE_UP,
# and under vigil with and without it; interleaved rounds, median of the
# paired ratios (docs/bench.md, "Floor of a trapped syscall").
#   bash bench/floor.sh [ROUNDS] [FILES]
set -euo pipefail
cd "$(dirname "$0")/.."
B=${BUILD_DIR:-build}
rounds=${1:-5} files=${2:-20000}
dir=/dev/shm; [ -w "$dir" ] || dir=$PWD
cmake --build "$B" --target bench_create_files bench_notify_floor vigil >/dev/null
run() {  # run LABEL CMD...: seconds reported by the workload
  "$@" "$B/bench/create_files" "$files" "$dir" | python3 -c 'import json,sys; print(json.load(sys.stdin)["seconds"])'
}
declare -A r
cols=(floor floor_nosync vigil vigil_nosync)
for i in $(seq "$rounds"); do
  n=$(run env)
  r[floor]+=" $(python3 -c "print($n/$(run "$B/bench/notify_floor"))")"
  r[floor_nosync]+=" $(python3 -c "print($n/$(run env VIGIL_NO_SYNC_WAKE_UP=1 "$B/bench/notify_floor"))")"
  r[vigil]+=" $(python3 -c "print($n/$(run "$B/vigil" run --))")"
  r[vigil_nosync]+=" $(python3 -c "print($n/$(run env VIGIL_NO_SYNC_WAKE_UP=1 "$B/vigil" run --))")"
done
echo "create_files $files files in $dir, $rounds rounds, $(nproc) CPUs, kernel $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg)"
for c in "${cols[@]}"; do
  python3 - "$c" ${r[$c]} <<'PY'
import statistics, sys
v = sorted(float(x) for x in sys.argv[2:])
print(f"{sys.argv[1]:>14}: {statistics.median(v):.2f}x (min {v[0]:.2f}, max {v[-1]:.2f})")
PY
done
