#!/usr/bin/env bash
# The app floods the watch of files rules name with reports vigil's tracer has
# not taken yet: read-opens are not trapped, so a loop reading two files a rule
# names (alternately: inotify merges identical events in a row) makes one
# report each while the tracer sleeps (it looks at the watch's reports when it
# wakes, at least every second). Then another process reads the file a
# Critical rule names. Before 2026-12-07 the watch thread kept 10000 reports
# and dropped the others without a word: that read was never reported, no
# alert and no event, and nothing said reports were lost. Now the watch thread
# stops reading inotify while the tracer is behind (the kernel's queue holds
# the rest): the read is reported, or, should the kernel's queue overflow
# meanwhile, a Critical "Sensor fault" says events were lost.
set -euo pipefail
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
echo a > "$tmp/a"; echo b > "$tmp/b"; echo s > "$tmp/secret"
cat > "$tmp/rules.yaml" <<YAML
- rule: decoy read
  desc: d
  condition: evt.type in (open, openat, openat2) and fd.name in ($tmp/a, $tmp/b)
  output: decoy read (file=%fd.name)
  priority: NOTICE
- rule: secret read
  desc: d
  condition: evt.type in (open, openat, openat2) and fd.name = $tmp/secret
  output: secret read (file=%fd.name proc=%proc.name)
  priority: CRITICAL
YAML
# Paced so that the kernel's queue (fs.inotify.max_queued_events) does not
# overflow: an overflow is alerted already; what is tested is the silent loss.
cat > "$tmp/app.py" <<'PY'
import os, sys, time
d = sys.argv[1]
a, b, s = os.path.join(d, "a"), os.path.join(d, "b"), os.path.join(d, "secret")
time.sleep(0.5)  # the watches are set up
t0 = time.monotonic()
for burst in range(int(sys.argv[2])):
    for i in range(1000):
        os.close(os.open(a, os.O_RDONLY)); os.close(os.open(b, os.O_RDONLY))
    time.sleep(0.005)
os.close(os.open(s, os.O_RDONLY))  # what the flood is for
print(f"app: flood of {2000 * int(sys.argv[2])} reads in {time.monotonic() - t0:.2f} s, then the secret read", flush=True)
time.sleep(2.5)  # the tracer takes the watch's reports (at least every second)
PY
fail=0
for bursts in 8 15; do
  "$VIGIL" run --rules="$tmp/rules.yaml" --sensitive-files=none --alerts=file:$tmp/alerts.$bursts \
    --events=file:$tmp/events.$bursts -- python3 "$tmp/app.py" "$tmp" $bursts >"$tmp/out" 2>"$tmp/err" \
    || { cat "$tmp/out" "$tmp/err"; echo "FAIL: vigil or the app failed"; exit 1; }
  cat "$tmp/out"
  python3 - "$tmp/alerts.$bursts" "$tmp/events.$bursts" "$tmp/secret" <<'PY' || fail=1
import json, sys
alerts = [json.loads(l) for l in open(sys.argv[1])]
secret = [a for a in alerts if a["rule"] == "secret read"]
lost = [a for a in alerts if a["rule"] == "Sensor fault" and "lost" in a["output"]]
decoys = sum(1 for l in open(sys.argv[2]) if '/a"' in l or '/b"' in l)
print(f"  {decoys} decoy read events, secret read alerted: {bool(secret)}, 'events were lost' faults: {len(lost)}")
if not secret and not lost:
    sys.exit("FAIL: the secret read was neither alerted nor said lost")
if lost and lost[0]["priority"] != "Critical":
    sys.exit("FAIL: the loss is not a Critical alert")
PY
done
[ $fail = 0 ] || exit 1
echo ok
