#!/usr/bin/env bash
# Times `vigil hunt` over a generated event file and prints events/s and peak
# RSS (docs/bench.md "Hunt"). Not run by CI.
#   bench/hunt/run.sh [SIZE=100M] [VIGIL=build/vigil] [DIR=/tmp/vigil-hunt-bench]
# SIZE as gen.py --bytes (1G for the issue's bench). The file is generated
# once per size and reused. Three runs: plain file, gzip'd file (if
# GZIP=1), with 1000 decoy indicators plus the planted hash, IP and domain.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
size=${1:-100M}
vigil=${VIGIL:-$here/../../build/vigil}
dir=${DIR:-/tmp/vigil-hunt-bench}
mkdir -p "$dir"
events="$dir/events-$size.jsonl"
if [ ! -s "$events" ]; then
  echo "generating $events ..." >&2
  python3 "$here/gen.py" --bytes "$size" --sensors 4 --out "$events" --iocs "$dir/iocs.txt" --decoys 1000
fi
[ -s "$dir/iocs.txt" ] || python3 "$here/gen.py" --events 1 --out /dev/null --iocs "$dir/iocs.txt" --decoys 1000
lines=$(wc -l <"$events")
bytes=$(stat -c %s "$events")
run() {  # LABEL FILE
  cat "$2" >/dev/null  # warm the page cache: measure hunt, not the disk
  local t0 t1 rss
  t0=$(date +%s.%N)
  /usr/bin/time -f %M -o "$dir/rss" "$vigil" hunt --ioc "$dir/iocs.txt" --json "$2" >"$dir/out.json" 2>"$dir/err" || true
  t1=$(date +%s.%N)
  rss=$(cat "$dir/rss")
  python3 - "$1" "$lines" "$bytes" "$t0" "$t1" "$rss" "$(wc -l <"$dir/out.json")" <<'PY'
import sys
label, lines, size, t0, t1, rss, matches = sys.argv[1:]
secs = float(t1) - float(t0)
print(f"{label:10} {int(lines):>10} events {int(size)/2**20:8.0f} MiB {secs:7.2f} s "
      f"{int(lines)/secs/1e6:6.2f} M events/s {int(size)/2**20/secs:7.0f} MiB/s  peak RSS {int(rss)/1024:6.1f} MiB  {matches} matches")
PY
  tail -1 "$dir/err" >&2
}
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg)"
run plain "$events"
if [ "${GZIP:-0}" = 1 ]; then
  [ -s "$events.gz" ] || gzip -1 -k "$events"
  bytes=$(stat -c %s "$events.gz")
  run gzip "$events.gz"
fi
