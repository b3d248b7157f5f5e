#!/usr/bin/env bash
# The default alert sink is stderr, shared with the app. An app that left a
# partial line there (a progress bar, or on purpose) must not swallow an
# alert: each alert line starts with a newline (docs/sinks.md, "stderr is the app's too"),
# so a line-based collector (Fluent Bit, CloudWatch) still reads it as JSON.
# Before: "app-log: starting {...alert...}" on one line, which no collector parses.
# Then the same through the stderr sink's spool (a pipe nobody reads, --queue=1):
# the alerts spooled still start a line of their own.
source "$SRC_DIR/tests/sinks/lib.sh"
# (a private file: another test's read of /etc/shadow on this host would be seen too)
echo secret >"$t/secret"
cat >"$t/secret.yaml" <<YAML
- rule: Password database read
  desc: the default rule, on a private file
  condition: evt.type in (open, openat) and evt.is_open_read = true and fd.name = $t/secret
  output: Shadow file read (file=%fd.name process=%proc.name)
  priority: WARNING
YAML
rc=0
timeout 60 "$VIGIL" run --rules="$t/secret.yaml" --spool-dir="$t/spool" -- \
  sh -c 'printf "app-log: starting " >&2; cat "$0" >/dev/null; sleep 1; printf "done\n" >&2' "$t/secret" 2>"$out" || rc=$?
[ "$rc" = 0 ] || fail "exit status $rc"
python3 - "$out" <<'PY' || fail "the alert does not start a line of its own"
import json, sys
lines = open(sys.argv[1], "rb").read().split(b"\n")
ours = [l for l in lines if b"Password database read" in l]
assert len(ours) == 1, f"{len(ours)} lines name the alert"
a = json.loads(ours[0])  # the whole line is the alert
assert a["rule"] == "Password database read", a["rule"]
assert b"app-log: starting " in lines and b"done" in lines, lines  # the app's own text, unchanged
print("ok: the alert is a line of its own after the app's partial line")
PY

# Through the spool: the app fills the pipe (O_NONBLOCK on its stderr, no
# newline), then raises 5 alerts while nobody reads; with --queue=1 the sink
# spools them. Once read, each is a line of its own.
cat >"$t/rules.yaml" <<'YAML'
- rule: marker opened
  desc: d
  condition: evt.type in (open, openat) and fd.name endswith /marker
  output: marker opened (file=%fd.name)
  priority: WARNING
YAML
cat >"$t/app.py" <<'PY'
import fcntl, os, sys, time
fcntl.fcntl(2, fcntl.F_SETFL, fcntl.fcntl(2, fcntl.F_GETFL) | os.O_NONBLOCK)
try:
    while True:
        os.write(2, b"x" * 4096)
except BlockingIOError:
    pass
for i in range(5):
    open(sys.argv[1], "w").close()
time.sleep(1.5)
PY
python3 - "$VIGIL" "$t" <<'PY' || fail "spooled alerts on stderr"
import json, subprocess, sys, time
vigil, t = sys.argv[1], sys.argv[2]
p = subprocess.Popen([vigil, "run", f"--rules={t}/rules.yaml", f"--spool-dir={t}/spool2", "--queue=1", "--alert-window=0", "--trace=info",
                      "--", "python3", f"{t}/app.py", f"{t}/marker"], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL)
time.sleep(2.5)  # the reader away: the pipe is full, the alerts wait in the spool
err = p.stderr.read()
assert p.wait() == 0, f"exit status {p.returncode}"
lines = err.split(b"\n")
ours = [l for l in lines if b"marker opened" in l]
assert len(ours) == 5, f"{len(ours)} of 5 alert lines: {[l[:80] for l in ours]}"
assert all(json.loads(l)["rule"] == "marker opened" for l in ours)
summary = [l for l in lines if b"delivery summary" in l]
assert summary and b" 0 spooled" not in summary[0], f"nothing was spooled: {summary}"
print(f"ok: 5 alerts through the spool, each a line of its own ({summary[0].decode().split(': ', 1)[1]})")
PY
echo ok
