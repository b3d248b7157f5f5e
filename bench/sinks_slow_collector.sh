#!/usr/bin/env bash
# Does a slow collector slow the traced app? Runs the same workload natively,
# under vigil with a file sink, and under vigil with an HTTP sink whose
# collector (tests/sinks/collector.py on 127.0.0.1) takes DELAY seconds per
# request, interleaved, REPS times each; prints the median time the app itself
# measured (its own start to end: vigil's exit flush is not the app's time)
# and the ratio to native.
#   bench/sinks_slow_collector.sh [--reps N] [--iterations N] [--delay S] [--vigil PATH]
set -euo pipefail
cd "$(dirname "$0")/.."
reps=5 iterations=300 delay=2 vigil=build/vigil
while [ $# -gt 0 ]; do
  case "$1" in
    --reps) reps=$2; shift 2 ;;
    --iterations) iterations=$2; shift 2 ;;
    --delay) delay=$2; shift 2 ;;
    --vigil) vigil=$2; shift 2 ;;
    *) echo "usage: $0 [--reps N] [--iterations N] [--delay S] [--vigil PATH]" >&2; exit 2 ;;
  esac
done
[ -x "$vigil" ] || { echo "sinks bench: $vigil not built (scripts/build.sh)" >&2; exit 1; }
t=$(mktemp -d)
cpid=
cleanup() { [ -n "$cpid" ] && { kill -9 "$cpid"; wait "$cpid"; } 2>/dev/null; rm -rf "$t"; }
trap cleanup EXIT
python3 tests/sinks/collector.py --port-file "$t/port" --delay "$delay" --lifetime 3600 >/dev/null 2>&1 &
cpid=$!
for _ in $(seq 200); do [ -f "$t/port" ] && break; sleep 0.05; done
port=$(cat "$t/port")
# The app: fork+exec /bin/true N times, prints its own elapsed nanoseconds.
app=(sh -c 's=$(date +%s%N); i=0; while [ $i -lt '"$iterations"' ]; do /bin/true; i=$((i+1)); done; echo $(( $(date +%s%N) - s ))')
declare -A runs=([native]="" [file]="" [slow_http]="")
for r in $(seq "$reps"); do
  runs[native]+=" $("${app[@]}")"
  runs[file]+=" $("$vigil" run --events="$t/ev.json" -- "${app[@]}")"
  runs[slow_http]+=" $("$vigil" run --events="http://127.0.0.1:$port/" --flush-timeout=1s --spool-dir="$t/spool" -- "${app[@]}" 2>/dev/null)"
  rm -f "$t/ev.json"
done
python3 - "$reps" "$iterations" "$delay" "${runs[native]}" "${runs[file]}" "${runs[slow_http]}" <<'PY'
import statistics, sys, os, platform
reps, iters, delay = sys.argv[1:4]
native, file_, slow = ([int(x) / 1e6 for x in a.split()] for a in sys.argv[4:7])
n = statistics.median(native)
print(f"sinks bench: {iters} fork+exec of /bin/true per run, {reps} runs each, collector delay {delay} s/request")
print(f"machine: {os.cpu_count()} CPUs, kernel {platform.release()}")
print("| configuration | median app time (ms) | ratio to native |")
print("|---|---|---|")
for name, v in (("native", native), ("vigil, file sink", file_), ("vigil, slow HTTP collector", slow)):
    m = statistics.median(v)
    print(f"| {name} | {m:.1f} | {n / m:.2f}x |")
print(f"slow collector vs file sink: {statistics.median(file_) / statistics.median(slow):.2f}x (1.00x = no slowdown)")
PY
