#!/usr/bin/env bash
# Network behaviours: a reverse-shell-like connect blocked before it is made
# (the listener sees nothing), the cloud metadata address (never reached), ptrace.
source "$(dirname "$0")/lib.bash"
port_file="$T/port"
"$PY" - "$port_file" "$T/accepted" <<'PY' &
import socket, sys
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(5); s.settimeout(280)
open(sys.argv[1] + ".tmp", "w").write(str(s.getsockname()[1]))
import os; os.rename(sys.argv[1] + ".tmp", sys.argv[1])
n = 0
try:
    while True:
        c, _ = s.accept(); n += 1; open(sys.argv[2], "w").write(str(n)); c.close()
except OSError:
    pass
PY
listener=$!
trap 'kill $listener 2>/dev/null; rm -rf "$T"' EXIT
for _ in $(seq 100); do [ -e "$port_file" ] && break; sleep 0.1; done
port=$(cat "$port_file")
conn=$(rules_file conn "- rule: Outbound shell connection
  desc: connect to the attacker port (test)
  condition: evt.type = connect and fd.sport = $port
  output: connect (%fd.name)
  priority: CRITICAL
  action: block")
connect='import socket,sys
try:
    socket.create_connection(("127.0.0.1", int(sys.argv[1])), 10); print("connected")
except PermissionError: sys.exit(3)'
vrun prevent --rules="$conn" -- "$PY" -c "$connect" "$port"
[ "$RC" = 3 ] || fail "prevent: connect not denied with EPERM (status $RC)"
sleep 0.5
[ ! -e "$T/accepted" ] || fail "prevent: the listener saw a connection"
expect_alert "Outbound shell connection" denied
vrun detect --rules="$conn" -- "$PY" -c "$connect" "$port"
[ "$RC" = 0 ] || fail "detect: connect failed ($RC)"
for _ in $(seq 50); do [ -e "$T/accepted" ] && break; sleep 0.1; done
[ -e "$T/accepted" ] || fail "detect: the listener saw nothing"
expect_alert "Outbound shell connection" none

# reverse shell: a shell whose stdin/stdout is the connection (default rule, kill)
revshell='import os, socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 10)
os.dup2(s.fileno(), 0); os.dup2(s.fileno(), 1)
os.execv("/bin/sh", ["sh", "-c", "touch " + sys.argv[2]])'
vrun detect -- "$PY" -c "$revshell" "$port" "$T/shell-ran"
[ -e "$T/shell-ran" ] || fail "detect: reverse shell did not run"
expect_alert "Reverse shell" none
rm -f "$T/shell-ran"
vrun prevent -- "$PY" -c "$revshell" "$port" "$T/shell-ran"
[ ! -e "$T/shell-ran" ] || fail "prevent: reverse shell ran"
[ "$RC" = 137 ] || fail "prevent: reverse shell not killed (status $RC)"
expect_alert "Reverse shell" killed

# cloud metadata: only in prevent mode with a blocking rule, so the connect is
# denied before anything is sent; detect mode runs in a fresh network
# namespace without routes (nothing can leave the machine).
meta=$(rules_file meta "- rule: Metadata blocked
  desc: test
  condition: evt.type = connect and fd.sip = 169.254.169.254
  output: metadata (%fd.name)
  priority: CRITICAL
  action: block")
vrun prevent --rules="$meta" -- "$PY" -c 'import socket,sys
try:
    socket.create_connection(("169.254.169.254", 80), 2)
except PermissionError: sys.exit(3)
except OSError: sys.exit(4)' 
[ "$RC" = 3 ] || fail "prevent: metadata connect not denied (status $RC)"
expect_alert "Metadata blocked" denied
if unshare -n true 2>/dev/null && command -v curl >/dev/null; then
  RC=0  # no route in the new namespace: curl fails, the connect is still seen
  rm -f "$T/alerts"
  timeout 60 unshare -n "$VIGIL" run --rules="$DEFAULT_RULES" --alerts="file:$T/alerts" -- \
    curl -s -m 2 http://169.254.169.254/latest/meta-data/ 2>"$T/err" </dev/null || RC=$?
  expect_alert "Cloud metadata contacted by a tool" none
fi

# ptrace attach (the child is already traced by vigil, so the attach fails
# either way; prevent mode must report it denied)
vrun detect -- "$FIXTURES/scenario_ptrace"
expect_alert "Ptrace injection" none
vrun prevent -- "$FIXTURES/scenario_ptrace"
[ "$RC" = 3 ] || fail "prevent: ptrace not denied (status $RC)"
expect_alert "Ptrace injection" denied
echo ok
