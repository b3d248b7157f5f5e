#!/usr/bin/env bash
# DNS events (issue 3): queries and answers from glibc getaddrinfo() and from
# busybox nslookup against a tiny resolver on 127.0.0.1:53 (UDP, and TCP
# with "options use-vc"), and later
# connects annotated with the name. Needs root (port 53; mount and network
# namespaces of its own, /etc/resolv.conf pointing at the resolver).
set -euo pipefail
if [ "$(id -u)" -ne 0 ] || ! unshare -mn true 2>/dev/null; then echo "skip: needs root and unshare -mn"; exit 77; fi
if [ -z "${PROBES_DNS_INNER:-}" ]; then
  # Own mount namespace (resolv.conf) and network namespace (nothing leaves it).
  exec env PROBES_DNS_INNER=1 unshare -mn --propagation private bash "$0" "$@"
fi
bb=$(command -v busybox)
"$bb" ip link set lo up
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
echo "nameserver 127.0.0.1" > "$tmp/resolv.conf"
printf 'hosts: files dns\n' > "$tmp/nsswitch.conf"
mount --bind "$tmp/resolv.conf" /etc/resolv.conf || { echo "skip: cannot bind-mount in this namespace"; exit 77; }
mount --bind "$tmp/nsswitch.conf" /etc/nsswitch.conf
coproc R { exec python3 "$SRC_DIR/tests/shell/probes_resolver.py" probe.test=127.0.0.7 evil.test=10.66.0.1; }
read -r -t 60 line <&"${R[0]}"
[ "$line" = ready ]
timeout 120 "$VIGIL" run --events="$tmp/ev" -- sh -c \
  "$FIXTURES/probes_dns probe.test evil.test nothere.test; $bb nslookup evil.test 127.0.0.1" > "$tmp/out" 2>&1 || true
grep -q "probe.test 127.0.0.7" "$tmp/out" || { cat "$tmp/out"; exit 1; }
# The same from a thread that vigil has not attached yet.
timeout 120 "$VIGIL" run --events="$tmp/ev-thread" -- "$FIXTURES/probes_dns" --thread evil.test > "$tmp/out-thread" 2>&1
grep -q "evil.test 10.66.0.1" "$tmp/out-thread" || { cat "$tmp/out-thread"; exit 1; }
# DNS over TCP: glibc with "options use-vc" (writev of length + query, reads).
printf 'nameserver 127.0.0.1\noptions use-vc\n' > "$tmp/resolv.conf"
timeout 120 "$VIGIL" run --events="$tmp/ev-tcp" -- "$FIXTURES/probes_dns" evil.test > "$tmp/out-tcp" 2>&1
grep -q "evil.test 10.66.0.1" "$tmp/out-tcp" || { cat "$tmp/out-tcp"; exit 1; }
python3 - "$tmp/ev" "$tmp/ev-tcp" "$tmp/ev-thread" <<'PY'
import json, sys
import os as _os; sys.path.insert(0, _os.environ["SRC_DIR"] + "/tests/shell"); from events_view import events, view
ev = events(sys.argv[1])
tcp = events(sys.argv[2])
th = events(sys.argv[3])
# from a thread: one query event (not two: the call is restarted under ptrace), its answer, the named connect
tdns = [e for e in th if e["class_uid"] == 4003]
assert len([e for e in tdns if e["type"] == "sendmmsg"]) == 1, tdns
assert any(e["dns"]["answers"] == ["10.66.0.1"] for e in tdns), tdns
tc = [e for e in th if e["type"] == "connect" and e["network"]["remote"].get("addr") == "10.66.0.1"]
assert len(tc) == 1 and tc[0]["network"]["remote_name"] == "evil.test", tc
assert all(e["process"]["pid"] != e["process"].get("tid", e["process"]["pid"]) for e in tdns), "events carry the thread id"
dns = [e for e in ev if e["class_uid"] == 4003]
assert all(e["class_name"] == "dns" for e in dns)
def q(name, exe):
    return [e for e in dns if e["dns"]["qname"] == name and e["process"]["exe"].endswith(exe)]
# glibc: A and AAAA in one sendmmsg, answers by recvfrom
g = q("probe.test", "probes_dns")
sent = [e for e in g if e["type"] == "sendmmsg"]
assert len(sent) == 1 and sent[0]["dns"]["qtype"] == 1 and sent[0]["args"]["qtypes"] == "A,AAAA", g
assert sent[0]["network"]["remote"] == {"family": 2, "addr": "127.0.0.1", "port": 53}, sent
ans = [e for e in g if e["dns"]["answers"]]
assert len(ans) == 1 and ans[0]["dns"]["answers"] == ["127.0.0.7"] and ans[0]["dns"]["qtype"] == 1, g
nx = [e for e in q("nothere.test", "probes_dns") if e["args"].get("rcode") == "3"]
assert nx and not nx[0]["dns"]["answers"], nx
# the connect after resolution carries the name
c = [e for e in ev if e["type"] == "connect" and e["network"]["remote"].get("addr") == "10.66.0.1"]
assert len(c) == 1 and c[0]["network"]["remote_name"] == "evil.test", c
# busybox nslookup: connected UDP socket, write/read
b = q("evil.test", "busybox")
assert any(e["type"] in ("write", "sendto", "send") and e["dns"]["qtype"] == 1 for e in b), b
assert any(e["dns"]["answers"] == ["10.66.0.1"] for e in b), b
# over TCP
tq = [e for e in tcp if e["class_uid"] == 4003 and e["network"]["type"] == 1]
assert any(e["type"] == "writev" and e["dns"]["qname"] == "evil.test" for e in tq), tq
assert any(e["dns"]["answers"] == ["10.66.0.1"] for e in tq), tq
c = [e for e in tcp if e["type"] == "connect" and e["network"]["remote"].get("addr") == "10.66.0.1"]
assert c and c[0]["network"]["remote_name"] == "evil.test", c
PY
echo ok
