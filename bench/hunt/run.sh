#!/usr/bin/env bash
# Times `vigil hunt` over a generated event file and prints events/s and peak
# RSS (docs/bench.md "Hunt"). Not run by CI.
#   bench/hunt/run.sh [SIZE=100M] [VIGIL=build/vigil] [DIR=/tmp/vigil-hunt-bench]
# SIZE as gen.py --bytes (1G for the issue's bench). The file is generated
# once per size and reused. Three runs: plain file, gzip'd file (if
# HUNT_GZIP=1), with 1000 decoy indicators plus the planted hash, IP and domain.
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
run() {  # LABEL FILE
  cat "$2" >/dev/null  # warm the page cache: measure hunt, not the disk
  python3 - "$1" "$2" "$lines" "$(stat -c %s "$2")" "$vigil" "$dir" <<'PY'
import os, subprocess, sys, time
label, path, lines, size, vigil, d = sys.argv[1:]
t0 = time.monotonic()
with open(f"{d}/out.json", "w") as out, open(f"{d}/err", "w") as err:
    proc = subprocess.Popen([vigil, "hunt", "--ioc", f"{d}/iocs.txt", "--json", path], stdout=out, stderr=err)
    _, status, ru = os.wait4(proc.pid, 0)  # this child's own usage
rc = os.waitstatus_to_exitcode(status)
secs = time.monotonic() - t0
rss, cpu = ru.ru_maxrss / 1024, ru.ru_utime + ru.ru_stime
matches = sum(1 for _ in open(f"{d}/out.json"))
print(f"{label:6} {int(lines):>10} events {int(size)/2**20:7.0f} MiB  wall {secs:6.2f} s "
      f"({int(lines)/secs/1e6:5.2f} M events/s)  cpu {cpu:6.2f} s ({int(lines)/cpu/1e6:5.2f} M events/s/core, "
      f"{int(size)/2**20/cpu:5.0f} MiB/s)  peak RSS {rss:5.1f} MiB  {matches} matches (exit {rc})")
PY
  tail -1 "$dir/err" >&2
}
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg)"
run plain "$events"
if [ "${HUNT_GZIP:-0}" = 1 ]; then
  [ -s "$events.gz" ] || gzip -1 -k "$events"
  run gzip "$events.gz"
fi
