#!/usr/bin/env bash
# The keeper is forked before the rules load and gets the filter's listener
# only at the spawn (sensor/keeper.hpp, docs/design.md "Fault policy"). If
# vigil is SIGKILLed in between (here: while it loads a large rules file),
# the keeper says so, recovers the journal (an alert sink: the "Sensor died"
# alert), and exits without a listener; the app was never released, it dies
# with vigil and runs nothing.
set -euo pipefail
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
python3 - "$tmp/rules.yaml" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    for i in range(100000):  # a few seconds to load
        f.write(f"- rule: r{i}\n  desc: d\n  condition: evt.type = openat and fd.name = /tmp/nope{i}\n"
                f"  output: o %fd.name\n  priority: WARNING\n")
PY
"$VIGIL" run --rules="$tmp/rules.yaml" --alerts="file:$tmp/alerts" --spool-dir="$tmp/spool" \
  -- sh -c "touch '$tmp/ran'" 2>"$tmp/err" &
vp=$!
keeper=
for _ in $(seq 500); do
  # (ps fails while vigil has no child yet: under pipefail and set -e that ended the test, rc 1, no message)
  keeper=$(ps -o pid=,comm= --ppid "$vp" 2>/dev/null | awk '$2 == "vigil-keeper" {print $1}' || true)
  [ -n "$keeper" ] && break
  sleep 0.01
done
[ -n "$keeper" ] || { echo "FAIL: no keeper while the rules load: $(cat "$tmp/err")"; kill -KILL $vp; exit 1; }
grep -q "sensor .* tracing" "$tmp/err" && { echo "SKIP: the rules loaded before the kill (a fast machine)"; kill $vp; exit 77; }
kill -KILL "$vp"
set +e; wait "$vp"; rc=$?; set -e
[ "$rc" = 137 ] || { echo "FAIL: vigil status $rc, want 137"; exit 1; }
for _ in $(seq 100); do [ -e /proc/$keeper ] && ! grep -q '^State:.*Z' /proc/$keeper/status 2>/dev/null || break; sleep 0.1; done
if [ -e /proc/$keeper ] && ! grep -q '^State:.*Z' /proc/$keeper/status 2>/dev/null; then
  echo "FAIL: the keeper (pid $keeper) did not exit without a listener"; exit 1
fi
grep -q "the sensor died: killing the app" "$tmp/err" || { echo "FAIL: no keeper message: $(cat "$tmp/err")"; exit 1; }
for _ in $(seq 50); do grep -q '"Sensor died"' "$tmp/alerts" 2>/dev/null && break; sleep 0.1; done
grep -q '"rule":"Sensor died"' "$tmp/alerts" || { echo "FAIL: no 'Sensor died' alert recovered: $(cat "$tmp/alerts" 2>/dev/null)"; exit 1; }
sleep 0.3
[ ! -e "$tmp/ran" ] || { echo "FAIL: the app ran although vigil died before releasing it"; exit 1; }
echo ok
