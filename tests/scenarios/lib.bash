# Helpers for tests/scenarios/*.sh (run by tests/shell/scenarios.sh with
# VIGIL, FIXTURES, SRC_DIR set). Each scenario runs a behaviour under
# `vigil run` and checks the alerts (Falco JSON lines, --alerts=file:$T/alerts).
set -u
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
DEFAULT_RULES="$SRC_DIR/rules/default"
PY=/usr/bin/python3  # not a PATH shim (pyenv): the app under test is python itself

fail() { echo "FAIL: $*" >&2; exit 1; }

# private_network: in the script's own network namespace, loopback up and
# REMOTE, a non-loopback address on it (vigil peeks at the first message of
# TCP connections to non-loopback addresses only), exported.
private_network() {
  { ip link set lo up 2>/dev/null || busybox ip link set lo up; } || fail "cannot bring loopback up"
  export REMOTE=10.77.0.1
  { ip addr add $REMOTE/32 dev lo 2>/dev/null || busybox ip addr add $REMOTE/32 dev lo; } || fail "cannot add $REMOTE"
}

# vrun MODE [VIGIL OPTIONS...] -- CMD...: alerts go to $T/alerts, stderr of
# vigil and the app to $T/err; the app's status is in $RC.
vrun() {
  local mode=$1; shift
  local opts=()
  while [ "$1" != "--" ]; do opts+=("$1"); shift; done
  shift
  RC=0
  rm -f "$T/alerts"
  # (A spool of its own: a vigil another test SIGKILLed with the default one,
  # $TMPDIR/vigil-spool, leaves its journal there, and the next run there
  # reports that death as an alert.)
  timeout 120 "$VIGIL" run --mode="$mode" --rules="$DEFAULT_RULES" --alerts="file:$T/alerts" --spool-dir="$T/spool" "${opts[@]}" -- "$@" \
    2>"$T/err" </dev/null || RC=$?
  # Every alert must pass falcosidekick's checks and be in Falco's shape.
  if [ -e "$T/alerts" ] && ! "$PY" "$SRC_DIR/tests/sinks/falcosidekick_check.py" "$T/alerts" >"$T/fsk" 2>&1; then
    cat "$T/fsk" >&2
    fail "alerts falcosidekick would refuse or that differ from Falco's shape"
  fi
}

# Prints "rule|action|priority" for every alert in $T/alerts.
alerts() {
  [ -e "$T/alerts" ] || return 0
  "$PY" - "$T/alerts" <<'PY'
import json, sys
for line in open(sys.argv[1], errors="replace"):
    line = line.strip()
    if not line.startswith("{"):
        continue
    try:
        a = json.loads(line)
    except ValueError:
        continue
    if "rule" in a:
        print(f'{a["rule"]}|{a.get("output_fields", {}).get("vigil.action", "")}|{a.get("priority", "")}')
PY
}

# expect_alert RULE [ACTION]: an alert of RULE (with that action) was raised.
expect_alert() {
  local got
  got=$(alerts)
  if ! grep -qF "$1|${2:-}" <<<"$got"; then
    echo "--- vigil stderr:" >&2; cat "$T/err" >&2
    echo "--- alerts:" >&2; cat "$T/alerts" >&2 2>/dev/null
    fail "expected alert '$1' ${2:+action $2}; got: ${got:-none}"
  fi
}

# alert_fields RULE KEY...: one line for each of RULE's alerts in $T/alerts,
# its KEYs ("output", or output fields: fd.name proc.name) space-separated.
# (Read it whole: a `| grep -q` stops reading early, which fails under pipefail.)
alert_fields() {
  [ -e "$T/alerts" ] || return 0
  "$PY" - "$T/alerts" "$@" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    if line.startswith("{"):
        a = json.loads(line)
        if a.get("rule") == sys.argv[2]:
            print(" ".join(str(a["output"] if k == "output" else a["output_fields"].get(k)) for k in sys.argv[3:]))
PY
}

# inotify_events FILE: the inotify reports in an events file, "TYPE PATH CHANGE ATTRIBUTED_BY PROCESS" per line.
inotify_events() {
  "$PY" - "$1" <<'PY'
import os, sys
sys.path.insert(0, os.environ["SRC_DIR"] + "/tests/shell"); from events_view import events
for e in events(sys.argv[1]):
    a = e.get("args", {})
    if a.get("source") == "inotify":
        print(e["type"], e["file"]["path"], a.get("inotify", "-"), a.get("attributed_by", "-"), e["process"]["name"] if e.get("process") else "-")
PY
}

# rules_file NAME YAML: writes a custom rules file, prints its path.
rules_file() { printf '%s\n' "$2" >"$T/$1.yaml"; echo "$T/$1.yaml"; }
