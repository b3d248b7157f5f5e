#!/usr/bin/env bash
# The keeper's death is an alert and the sensor stays fail-closed, in detect
# and in prevent mode. The app cannot kill the keeper or vigil (denied:
# tests/shell/guard_sensor.sh); when the keeper dies anyway (killed from
# outside the container, OOM), vigil alerts and starts a new one; killing
# vigil next still kills every app process (the attack in sequence).
set -euo pipefail
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
keeper_of() { ps -o pid=,comm= --ppid "$1" 2>/dev/null | awk '$2 == "vigil-keeper" {print $1}'; }
alive() { [ -e /proc/$1 ] && ! grep -q '^State:.*Z' /proc/$1/status 2>/dev/null; }
for mode in detect prevent; do
  rm -f "$tmp"/{child,main,alerts}
  "$VIGIL" run --mode=$mode --rules=/dev/null --alerts=file:$tmp/alerts --spool-dir="$tmp/spool" -- \
    sh -c 'sleep 300 & echo $! > '"$tmp"'/child; echo $$ > '"$tmp"'/main; wait' 2>"$tmp/err" &
  vp=$!
  for _ in $(seq 300); do [ -s "$tmp/child" ] && [ -s "$tmp/main" ] && break; sleep 0.1; done
  main=$(cat "$tmp/main"); child=$(cat "$tmp/child")
  k1=$(keeper_of "$vp")
  [ -n "$k1" ] || { echo "FAIL ($mode): no keeper"; exit 1; }
  kill -KILL "$k1"
  k2=
  for _ in $(seq 100); do k2=$(keeper_of "$vp"); [ -n "$k2" ] && [ "$k2" != "$k1" ] && break; sleep 0.1; done
  [ -n "$k2" ] && [ "$k2" != "$k1" ] || { cat "$tmp/err"; echo "FAIL ($mode): no new keeper after the first died"; exit 1; }
  alive "$main" && alive "$child" || { echo "FAIL ($mode): the app died with the keeper"; exit 1; }
  grep 'Sensor keeper died' "$tmp/alerts" | grep '"priority":"Critical"' | grep -q '"rule":"Sensor tamper attempt"' \
    || { cat "$tmp/alerts" "$tmp/err"; echo "FAIL ($mode): no alert for the keeper's death"; exit 1; }
  python3 "$SRC_DIR/tests/sinks/falcosidekick_check.py" "$tmp/alerts" >/dev/null \
    || { python3 "$SRC_DIR/tests/sinks/falcosidekick_check.py" "$tmp/alerts"; echo "FAIL ($mode): alerts falcosidekick would refuse"; exit 1; }
  kill -KILL "$vp"
  set +e; wait "$vp"; set -e
  for _ in $(seq 100); do { alive "$main" || alive "$child"; } || break; sleep 0.1; done
  if alive "$main" || alive "$child"; then echo "FAIL ($mode): app processes outlived the sensor after a keeper's death"; exit 1; fi
  grep -q "the sensor died: killing the app" "$tmp/err" || { cat "$tmp/err"; echo "FAIL ($mode): the new keeper did not act"; exit 1; }
  echo "$mode: ok"
done
echo ok
