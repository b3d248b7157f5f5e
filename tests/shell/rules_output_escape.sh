#!/usr/bin/env bash
# An alert's output is text with the app's strings pasted in; printed (jq -r
# .output, Slack through falcosidekick, vigil's own log lines) a raw newline in
# a value forged a second alert line and ESC sequences hid text. Values are
# escaped in the output (docs/rules.md "Alerts"), output_fields keep them true.
# 1. A file named with a newline, a fake alert and ESC sequences is written
#    under a rule's directory: the alert's output has no raw newline or ESC, and
#    no line of it printed starts with the fake alert.
# 2. A process whose argv holds the same kills vigil: the guard's alert, which
#    vigil also logs on stderr, starts no forged line there either.
set -euo pipefail
: "${VIGIL:?}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
fake='15:56:53.938250257: Critical Sensor died (vigil was killed)'
mkdir "$tmp/data"
cat >"$tmp/rules.yaml" <<YAML
- rule: data written
  desc: d
  condition: evt.type in (open, openat, openat2, creat) and evt.is_open_write = true and fd.name startswith $tmp/data/
  output: data written (file=%fd.name command=%proc.cmdline)
  priority: WARNING
YAML
rc=0
FAKE=$fake timeout 60 "$VIGIL" run --rules="$tmp/rules.yaml" --alerts="file:$tmp/alerts.json" --spool-dir="$tmp/spool" -- \
  python3 -c 'import os, sys
open(sys.argv[1] + "/log\n" + os.environ["FAKE"] + "\x1b[8mhidden\x1b[0m", "w").close()' "$tmp/data" \
  >"$tmp/out" 2>"$tmp/err" || rc=$?
[ "$rc" = 0 ] || fail "exit status $rc: $(cat "$tmp/err")"
FAKE=$fake python3 - "$tmp/alerts.json" "$tmp/data" <<'PY' || fail "file name in the output"
import json, os, sys
fake, data = os.environ["FAKE"], sys.argv[2]
alerts = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
ours = [a for a in alerts if a["rule"] == "data written"]
assert len(ours) == 1, f"{len(ours)} alerts"
a = ours[0]
out = a["output"]
assert "\n" not in out and "\x1b" not in out, f"raw newline or ESC in the output: {out!r}"
assert not any(l.startswith(fake) for l in out.split("\n")), "a forged line"  # as jq -r .output prints it
assert f"file={data}/log\\x0a{fake}\\x1b[8mhidden\\x1b[0m " in out, f"the name is not shown escaped: {out!r}"
name = f"{data}/log\n{fake}\x1b[8mhidden\x1b[0m"
assert a["output_fields"]["fd.name"] == name, a["output_fields"]["fd.name"]  # the true value
print("ok: the file name is one escaped line in the output, true in output_fields")
PY

# 2. The guard's alert on vigil's own stderr log (a warning line) and in the alert.
rc=0
timeout 60 "$VIGIL" run --alerts="file:$tmp/guard.json" --spool-dir="$tmp/spool2" -- \
  python3 -c 'import os, signal
try:
    os.kill(os.getppid(), signal.SIGKILL)  # vigil, the parent of the entrypoint
except PermissionError:
    print("denied")' $'\n'"$fake"$'\x1b[8m' >"$tmp/out" 2>"$tmp/err" || rc=$?
[ "$rc" = 0 ] || fail "guard run: exit status $rc: $(cat "$tmp/err")"
grep -q denied "$tmp/out" || fail "the kill of vigil was not denied"
grep -q "Sensor tamper attempt denied" "$tmp/err" || fail "no tamper warning logged: $(cat "$tmp/err")"
! grep -q "^$fake" "$tmp/err" || fail "vigil's log has a forged line: $(cat "$tmp/err")"
! grep -q $'\x1b' "$tmp/err" || fail "vigil's log holds an ESC: $(cat -v "$tmp/err")"
FAKE=$fake python3 - "$tmp/guard.json" <<'PY' || fail "argv in the guard's output"
import json, os, sys
fake = os.environ["FAKE"]
a = [json.loads(l) for l in open(sys.argv[1]) if l.strip() and json.loads(l)["rule"] == "Sensor tamper attempt"]
assert a, "no tamper alert"
out = a[0]["output"]
assert "\n" not in out and "\x1b" not in out and "\\x0a" + fake + "\\x1b[8m" in out, out
assert a[0]["output_fields"]["proc.cmdline"].endswith("\n" + fake + "\x1b[8m")  # the true value
PY
echo ok
