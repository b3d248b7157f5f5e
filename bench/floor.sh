#!/usr/bin/env bash
# The floor of a workload in both columns: natively, under the cheapest
# possible notification supervisor of the same trapped calls
# (bench/micro/notify_floor.c: the path read, CONTINUE) with and without
# SYNC_WAKE_UP, and under vigil with and without it; interleaved rounds,
# median of the paired ratios (docs/bench.md, "Floor of a trapped syscall").
#   bash bench/floor.sh [create_files|launch_programs|startup] [ROUNDS] [N]
# startup: launch_programs N of `/bin/true` alone, under the floor (vigil's
# own filter, `vigil syscalls --bpf`, loaded from a file as vigil loads its
# prebuilt one) and under `vigil run --`: the median paired difference in ms
# per start. (bench/run.sh --floor gives the same floor for every workload.)
set -euo pipefail
cd "$(dirname "$0")/.."
B=${BUILD_DIR:-build}
workload=${1:-create_files} rounds=${2:-5}
case $workload in
  create_files) n=${3:-20000}; dir=/dev/shm; [ -w "$dir" ] || dir=$PWD; args=("$n" "$dir"); calls=files ;;
  launch_programs) n=${3:-2000}; args=("$n"); calls=exec ;;
  startup) n=${3:-100}; args=("$n"); calls=exec ;;
  *) echo "bench/floor.sh: unknown workload '$workload' (create_files, launch_programs or startup)" >&2; exit 2 ;;
esac
if [ "$workload" = startup ]; then
  cmake --build "$B" --target bench_launch_programs bench_notify_floor vigil >/dev/null
  # The floor's filter: vigil's own (no libseccomp compile at each start, as vigil loads a prebuilt program).
  bpf=$(mktemp); trap 'rm -f "$bpf"' EXIT
  "$B/vigil" syscalls --bpf="$bpf" >/dev/null
  ms() {  # ms PREFIX...: milliseconds per start of /bin/true
    local p=("$@")
    [ ${#p[@]} -gt 0 ] && p[0]=$(command -v "${p[0]}")  # posix_spawn needs a path
    "$B/bench/launch_programs" "$n" "${p[@]}" /bin/true | python3 -c 'import json,sys; r=json.load(sys.stdin); print(1000*r["seconds"]/r["ops"])'
  }
  declare -A d
  for _ in $(seq "$rounds"); do
    t=$(ms)
    for col in floor floor_nosync vigil vigil_nosync; do
      # (the variables exported in a subshell: an `env` in front would add an exec per start)
      case $col in
        floor*) m=$(export NOTIFY_FLOOR_BPF="$bpf"; [[ $col == *_nosync ]] && export VIGIL_NO_SYNC_WAKE_UP=1; ms "$B/bench/notify_floor") ;;
        vigil*) m=$([[ $col == *_nosync ]] && export VIGIL_NO_SYNC_WAKE_UP=1; ms "$B/vigil" run --) ;;
      esac
      d[$col]+=" $(python3 -c "print($m - $t)")"
    done
  done
  echo "startup: launch_programs $n, $rounds rounds, native $(printf %.2f "$t") ms per start (last round), $(nproc) CPUs, kernel $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg)"
  for c in floor floor_nosync vigil vigil_nosync; do
    python3 - "$c" ${d[$c]} <<'PY'
import statistics, sys
v = sorted(float(x) for x in sys.argv[2:])
print(f"{sys.argv[1]:>14}: +{statistics.median(v):.2f} ms per start (min {v[0]:+.2f}, max {v[-1]:+.2f})")
PY
  done
  exit 0
fi
cmake --build "$B" --target "bench_$workload" bench_notify_floor vigil >/dev/null
run() {  # run PREFIX...: the seconds the workload reports
  "$@" "$B/bench/$workload" "${args[@]}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["seconds"])'
}
declare -A r
cols=(floor floor_nosync vigil vigil_nosync)
for _ in $(seq "$rounds"); do
  t=$(run env)
  r[floor]+=" $(python3 -c "print($t/$(run env NOTIFY_FLOOR_CALLS=$calls "$B/bench/notify_floor"))")"
  r[floor_nosync]+=" $(python3 -c "print($t/$(run env NOTIFY_FLOOR_CALLS=$calls VIGIL_NO_SYNC_WAKE_UP=1 "$B/bench/notify_floor"))")"
  r[vigil]+=" $(python3 -c "print($t/$(run "$B/vigil" run --))")"
  r[vigil_nosync]+=" $(python3 -c "print($t/$(run env VIGIL_NO_SYNC_WAKE_UP=1 "$B/vigil" run --))")"
done
echo "$workload ${args[*]}, $rounds rounds, $(nproc) CPUs, kernel $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg)"
for c in "${cols[@]}"; do
  python3 - "$c" ${r[$c]} <<'PY'
import statistics, sys
v = sorted(float(x) for x in sys.argv[2:])
print(f"{sys.argv[1]:>14}: {statistics.median(v):.2f}x (min {v[0]:.2f}, max {v[-1]:.2f})")
PY
done
