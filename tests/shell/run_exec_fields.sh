#!/usr/bin/env bash
# An exec reads the caller's session and tty (/proc/PID/stat) and its
# capabilities (capget, 6.13+) only when a loaded rule reads proc.tty,
# proc.sid or thread.cap_effective, or an event sink takes events (issue 14:
# read what is needed; sensor/tracer.cpp). A rule that reads them gets the
# values of the new program's caller: here `setsid` makes the caller a
# session leader just before its exec, so proc.sid must be its own pid (the
# inherited session would be the shell's). Without such a rule and sink the
# reads are skipped (--trace=debug says so) and alerts still fire.
# The same for the cwd (proc.cwd, or an event sink) and whether fd 0/1 are
# network sockets (proc.is_stdio_net): the caller changes directory and gets
# a TCP socket as stdin just before its exec, and the rule sees both.
set -euo pipefail
: "${VIGIL:?}"
command -v setsid >/dev/null || { echo "SKIP: setsid (util-linux) not installed"; exit 77; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
cat > "$tmp/sid.yaml" <<'YAML'
- rule: true started
  desc: d
  condition: evt.type = execve and proc.name = true
  output: true started (pid=%proc.pid sid=%proc.sid tty=%proc.tty caps=%thread.cap_effective)
  priority: WARNING
YAML
cat > "$tmp/plain.yaml" <<'YAML'
- rule: true started
  desc: d
  condition: evt.type = execve and proc.name = true
  output: true started (pid=%proc.pid command=%proc.cmdline)
  priority: WARNING
YAML
app="setsid /bin/true"
for mode in detect prevent; do
  for t in sid plain; do
    "$VIGIL" run --mode=$mode --trace=debug --rules="$tmp/$t.yaml" --alerts="file:$tmp/al.$mode.$t" -- sh -c "$app" \
      2> "$tmp/log.$mode.$t" || fail "$mode $t: the run failed: $(tail -3 "$tmp/log.$mode.$t")"
  done
  grep -q 'exec: session and tty read, capabilities read' "$tmp/log.$mode.sid" || fail "$mode: a rule reads proc.sid: not read"
  grep -q 'exec: session and tty not read, capabilities not read' "$tmp/log.$mode.plain" ||
    fail "$mode: no rule reads them and no event sink: read anyway ($(grep 'exec: session' "$tmp/log.$mode.plain"))"
  python3 - "$tmp/al.$mode.sid" "$tmp/al.$mode.plain" <<'PY' || fail "$mode: alerts"
import json, sys
sid = [json.loads(l)["output_fields"] for l in open(sys.argv[1])]
sid = [f for f in sid if f.get("proc.name") == "true" or "proc.sid" in f]
assert len(sid) == 1, sid
f = sid[0]
assert f["proc.sid"] == f["proc.pid"], f  # setsid ran in the caller: it leads its own session
assert f["proc.tty"] == 0, f              # a new session has no controlling tty
assert f["thread.cap_effective"] is not None, f
plain = [json.loads(l)["output_fields"] for l in open(sys.argv[2])]
assert [p["proc.cmdline"] for p in plain if "proc.cmdline" in p] == ["true"], plain
PY
done

# cwd and stdio: read for a rule that reads them (or an event sink), not otherwise.
mkdir "$tmp/d"
cat > "$tmp/cwd.yaml" <<'YAML'
- rule: true started
  desc: d
  condition: evt.type = execve and proc.name = true
  output: true started (cwd=%proc.cwd)
  priority: WARNING
YAML
cat > "$tmp/stdio.yaml" <<'YAML'
- rule: true started on a socket
  desc: d
  condition: evt.type = execve and proc.name = true and proc.is_stdio_net = true
  output: true started on a socket (pid=%proc.pid)
  priority: WARNING
YAML
# /bin/true twice: with a connected TCP socket as stdin (loopback), then without.
cat > "$tmp/sock.py" <<'PY'
import socket, subprocess
srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen(1)
cli = socket.create_connection(srv.getsockname()); conn, _ = srv.accept()
subprocess.run(["/bin/true"], stdin=conn, check=True)
subprocess.run(["/bin/true"], stdin=subprocess.DEVNULL, check=True)
PY
for mode in detect prevent; do
  "$VIGIL" run --mode=$mode --trace=debug --rules="$tmp/cwd.yaml" --alerts="file:$tmp/cwd.$mode" -- \
    sh -c "cd '$tmp/d' && exec /bin/true" 2> "$tmp/log.cwd.$mode" || fail "$mode cwd: the run failed"
  grep -q 'cwd read, stdio sockets not read' "$tmp/log.cwd.$mode" || fail "$mode: a rule reads proc.cwd: not read"
  "$VIGIL" run --mode=$mode --rules="$tmp/plain.yaml" --alerts="file:$tmp/ev.al.$mode" --events="file:$tmp/ev.$mode" -- \
    sh -c "cd '$tmp/d' && exec /bin/true" 2> "$tmp/log.ev.$mode" || fail "$mode events: the run failed"
  "$VIGIL" run --mode=$mode --trace=debug --rules="$tmp/stdio.yaml" --alerts="file:$tmp/stdio.$mode" -- \
    python3 "$tmp/sock.py" 2> "$tmp/log.stdio.$mode" || fail "$mode stdio: the run failed: $(tail -3 "$tmp/log.stdio.$mode")"
  grep -q 'cwd not read, stdio sockets read' "$tmp/log.stdio.$mode" || fail "$mode: a rule reads proc.is_stdio_net: not read"
  grep -q 'cwd not read, stdio sockets not read' "$tmp/log.$mode.plain" || fail "$mode: no rule reads cwd or stdio: read anyway"
  python3 - "$tmp/cwd.$mode" "$tmp/ev.$mode" "$tmp/stdio.$mode" "$tmp/d" <<'PY' || fail "$mode: cwd/stdio alerts"
import json, os, sys
al = [json.loads(l)["output_fields"] for l in open(sys.argv[1])]
assert [f["proc.cwd"] for f in al if "proc.cwd" in f] == [sys.argv[4]], al  # the caller's cwd at its exec
sys.path.insert(0, os.environ["SRC_DIR"] + "/tests/shell"); from events_view import events
ex = [e for e in events(sys.argv[2]) if e["type"] in ("execve", "exec") and (e.get("process") or {}).get("name") == "true"]
assert ex and all(e["process"]["cwd"] == sys.argv[4] for e in ex), ex  # an event sink: read
st = [json.loads(l) for l in open(sys.argv[3])]
st = [a for a in st if a.get("rule") == "true started on a socket"]
assert len(st) == 1, st  # the socket stdin, not /dev/null
PY
done
echo ok
