#!/usr/bin/env bash
# Rate limiting must not hide what a process did: one alert per (rule,
# process) per window, and the repeats are reported when the window closes,
# naming what they were about. The app writes a harmless file a rule names,
# then the one it cares about, in the same window (--alert-window=1s), then
# runs on: while it still runs (not only at exit), an alert must name the
# second file (vigil.repeats, and the output). A bad --alert-window value is
# an error that says how to fix it.
set -euo pipefail
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/cron"
cat >"$tmp/rules.yaml" <<YAML
- rule: cron written
  desc: d
  condition: evt.type in (open, openat, openat2, creat) and evt.is_open_write = true and fd.name startswith $tmp/cron/
  output: cron written (file=%fd.name)
  priority: WARNING
YAML
"$VIGIL" run --rules="$tmp/rules.yaml" --alerts=file:"$tmp/alerts" --spool-dir="$tmp/spool" --alert-window=1s -- \
  /bin/sh -c 'echo a >"$0/harmless"; echo b >"$0/evil"; sleep 4' "$tmp/cron" >"$tmp/out" 2>"$tmp/err" &
pid=$!
sleep 3  # the window (1 s) closed, the app still runs
python3 - "$tmp" <<'PY' || { kill "$pid" 2>/dev/null; exit 1; }
import json, sys
d = sys.argv[1]
alerts = [json.loads(l) for l in open(f"{d}/alerts")] if __import__("os").path.exists(f"{d}/alerts") else []
ours = [a for a in alerts if a.get("rule") == "cron written"]
first = [a for a in ours if a["output_fields"].get("fd.name") == f"{d}/cron/harmless"]
if not first:
    sys.exit(f"FAIL: no alert for the first file: {[a['output'] for a in alerts]}")
rep = [a for a in ours if a["output_fields"].get("vigil.repeats") == f"{d}/cron/evil"]
if not rep:
    sys.exit(f"FAIL: the second file's write, a repeat in the window, was not reported when it closed: {[a['output'] for a in ours]}")
assert f"{d}/cron/evil" in rep[0]["output"] and rep[0]["output_fields"]["vigil.count"] == 1, rep[0]
print(rep[0]["output"][:200])
PY
wait "$pid" || { cat "$tmp/err"; echo "FAIL: vigil failed"; exit 1; }
# Reported once: not again at exit.
n=$(grep -c '"vigil.repeats"' "$tmp/alerts")
[ "$n" = 1 ] || { echo "FAIL: the repeats were reported $n times"; exit 1; }
if "$VIGIL" run --alert-window=soon -- /bin/true 2>"$tmp/bad"; then echo "FAIL: --alert-window=soon accepted"; exit 1; fi
grep -q -- "--alert-window.*e.g." "$tmp/bad" || { cat "$tmp/bad"; echo "FAIL: no fix in the error"; exit 1; }
echo ok
