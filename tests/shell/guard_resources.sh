#!/usr/bin/env bash
# vigil's own resource failures fail closed with an alert (docs/threat-model.md):
# with a file limit the app's processes exhaust (one pidfd each), an exec target
# vigil cannot open is a Critical "Sensor fault" alert; prevent mode denies the
# call, detect mode lets it go on, seen. (The app cannot lower vigil's limit:
# prlimit on vigil is denied, tests/shell/guard_sensor.sh; here it is set
# before vigil starts, as a stand-in for an app with very many processes.)
set -euo pipefail
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
command -v prlimit >/dev/null || { echo "SKIP: no prlimit"; exit 77; }
for mode in detect prevent; do
  prlimit --nofile=40:40 "$VIGIL" run --mode=$mode --rules=/dev/null --alerts=file:$tmp/alerts.$mode -- \
    sh -c 'for i in $(seq 60); do sleep 2 & done; wait' 2>"$tmp/err" || { cat "$tmp/err"; echo "FAIL ($mode): vigil failed"; exit 1; }
  want=$([ $mode = prevent ] && echo "the call is denied" || echo "the call goes on unchecked")
  python3 - "$tmp/alerts.$mode" "$want" <<'PY' || { cat "$tmp/err"; echo "FAIL ($mode): no Sensor fault alert"; exit 1; }
import json, sys
al = [json.loads(l) for l in open(sys.argv[1])]
assert any(a["rule"] == "Sensor fault" and a["priority"] == "Critical" and sys.argv[2] in a["output"]
           and "Too many open files" in a["output"] for a in al), al[:3]
PY
  python3 "$SRC_DIR/tests/sinks/falcosidekick_check.py" "$tmp/alerts.$mode" >/dev/null \
    || { python3 "$SRC_DIR/tests/sinks/falcosidekick_check.py" "$tmp/alerts.$mode" | head; echo "FAIL ($mode): alerts falcosidekick would refuse"; exit 1; }
done
echo ok
