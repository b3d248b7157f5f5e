#!/usr/bin/env bash
# Network events (issue 3): bind/listen/connect/accept/accept4 with resolved
# addresses, raw and packet sockets flagged, a socket dup'ed onto stdin, and
# no event for non-DNS sendto/sendmsg or for connected sends.
set -euo pipefail
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
timeout 120 "$VIGIL" run --events="$tmp/ev" -- "$FIXTURES/probes_net" > "$tmp/out"
port=$(sed -n 's/^port=//p' "$tmp/out")
python3 - "$tmp/ev" "$port" <<'PY'
import json, sys
import os as _os; sys.path.insert(0, _os.environ["SRC_DIR"] + "/tests/shell"); from events_view import events, view
ev = events(sys.argv[1])
port = int(sys.argv[2])
net = [e for e in ev if e["class_uid"] == 4001]
assert all(e["class_name"] == "network" for e in net)
def of(t): return [e for e in net if e["type"] == t]
b = of("bind")[0]["network"]
assert b["local"]["addr"] == "127.0.0.1" and b["type"] == 1 and b["domain"] == 2, b
l = of("listen")[0]["network"]
assert l["local"] == {"family": 2, "addr": "127.0.0.1", "port": port}, l
c = of("connect")
assert len(c) == 2 and all(x["network"]["remote"] == {"family": 2, "addr": "127.0.0.1", "port": port} for x in c), c
a4, a = of("accept4"), of("accept")
assert len(a4) == 1 and len(a) == 1, (a4, a)
for x in a4 + a:
    n = x["network"]
    assert x["res"] == n["fd"] and n["remote"]["addr"] == "127.0.0.1" and n["remote"]["port"] > 0, x
    assert n["local"]["port"] == port, x
assert not of("sendto") and not of("sendmsg") and not [e for e in ev if e["class_uid"] == 4003], "non-DNS sends are not events"
raw = of("socket")
assert {(s["network"]["domain"], s["network"]["type"]) for s in raw} == {(2, 3), (17, 3)}, raw   # AF_INET raw, AF_PACKET
assert all(s["args"]["raw"] == "true" for s in raw)
import os
dup2 = "dup3" if os.uname().machine == "aarch64" else "dup2"  # aarch64 has no dup2: libc's dup2 is dup3
d2 = [e for e in ev if e["type"] == dup2][0]
assert d2["args"]["oldfd_kind"] == "socket" and d2["network"]["fd"] == 0, d2
assert d2["network"]["remote"]["port"] == port, d2
assert [e for e in ev if e["type"] == "dup3"][0]["args"]["newfd"] == "0"
PY
echo ok
