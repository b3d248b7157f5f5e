#!/usr/bin/env bash
# The destination vigil judged is the destination the kernel acts on
# (docs/threat-model.md, "Connect and send destinations"), for what
# tests/shell/execnet_connect.sh does not cover: AF_UNIX connect (the socket
# path resolved as the caller, connected through vigil's handle of the socket
# inode) and sendto/sendmsg/sendmmsg with a destination (vigil sends the
# caller's bytes itself to the address it judged). Attacks
# (tests/fixtures/netrace.c): a thread, or another process through a
# MAP_SHARED memfd, rewrites the sun_path / the sockaddr after the call
# started (or dup2()s a UDP socket over the TCP socket sent on, or rewrites
# the name a DNS query asks for); prevent mode must never reach the blocked destination. Then the
# emulated calls must give what the kernel gives (results, errno, byte counts,
# aliases of a blocked socket denied). Runs in a network namespace of its own
# (UDP to port 53 of 127.0.0.2 and .3: DNS queries, events on any version).
if [ "$(id -u)" -ne 0 ] || ! unshare -n true 2>/dev/null; then echo "skip: needs root and unshare -n"; exit 77; fi
if [ -z "${NETRACE_INNER:-}" ]; then exec env NETRACE_INNER=1 unshare -n bash "$0" "$@"; fi
source "$(dirname "$0")/lib.bash"
ip link set lo up
chmod 755 "$tmp"  # (a caller of another uid reaches its sockets)
TRIES=${EXECNET_TRIES:-400}
PORT=53

cat >"$tmp/rules.yaml" <<'YAML'
- rule: Blocked socket
  desc: d
  condition: evt.type = connect and fd.typechar = u and fd.name endswith /blocked.sock
  output: connect to a blocked socket (socket=%fd.name)
  priority: CRITICAL
  action: block
- rule: Blocked datagram socket
  desc: d
  condition: evt.type in (sendto, sendmsg) and fd.typechar = u and fd.name endswith /blocked.dgram
  output: send to a blocked socket (socket=%fd.name)
  priority: CRITICAL
  action: block
- rule: Blocked name
  desc: d
  condition: evt.type in (sendto, sendmsg, sendmmsg) and dns.qname = blocked.com
  output: query for a blocked name (query=%dns.qname)
  priority: CRITICAL
  action: block
- rule: Blocked destination
  desc: d
  condition: evt.type in (sendto, sendmsg, sendmmsg) and fd.sip = 127.0.0.3
  output: send to a blocked address (connection=%fd.name)
  priority: CRITICAL
  action: block
YAML

# race MODE ARG: the fixture under vigil in detect and prevent mode.
race() {
  local raced=0
  for mode in detect prevent; do
    rm -rf "$tmp/d" "$tmp/al.$mode" && mkdir "$tmp/d"
    local arg=$2
    [ "$arg" = DIR ] && arg=$tmp/d
    timeout 300 "$VIGIL" run --trace=info --mode=$mode --rules="$tmp/rules.yaml" --alerts="file:$tmp/al.$mode" -- \
      "$FIXTURES/netrace" "$1" "$arg" "$TRIES" >"$tmp/out" 2>"$tmp/err" || fail "$1 $mode: vigil run failed: $(tail -5 "$tmp/err")"
    echo "$1 $mode: $(cat "$tmp/out")"
    local line
    line=$(grep '^ok=' "$tmp/out") || { fail "$1 $mode: no result"; continue; }
    eval "${line// / ; }"
    [ "$other" = 0 ] || fail "$1 $mode: $other calls failed otherwise"
    [ "$ok" -gt 0 ] || fail "$1 $mode: nothing reached the allowed destination"
    if [ $mode = prevent ]; then
      [ "$blocked" = 0 ] || fail "$1 prevent: the blocked destination was reached $blocked times"
      # The race ran: some switches came before vigil's read (denied), or it won in detect mode.
      [ "$denied" -gt 0 ] || [ "$raced" -gt 0 ] || fail "$1 prevent: nothing was denied (the race did not run)"
    else
      [ "$denied" = 0 ] || fail "$1 detect: $denied calls denied"
      raced=$blocked
      # AF_UNIX connects let through are checked after the kernel connected
      # them (sensor/connect_check.hpp): every connection that reached
      # blocked.sock is alerted, those where vigil read allowed.sock through
      # the corrected event ("Connect target differs from the one read").
      case $1 in unix-*)
        if grep -q "AF_UNIX connects are not checked after the fact" "$tmp/err"; then
          echo "$1 detect: alerts not counted: $(grep -o "AF_UNIX connects are not checked after the fact.*" "$tmp/err" | head -1)"
        else
        python3 - "$tmp/al.$mode" "$blocked" <<'PY' || fail "$1 detect: connections to blocked.sock not all alerted"
import json, sys
alerts = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
def count(rule): return sum(a["output_fields"].get("vigil.count", 1) for a in alerts if a["rule"] == rule)
blocked, differs = count("Blocked socket"), count("Connect target differs from the one read")
print(f"detect: {sys.argv[2]} connections reached blocked.sock: {blocked} 'Blocked socket' alerts, {differs} after the fact")
assert blocked == int(sys.argv[2]), "alerts and connections differ"
for a in alerts:
    if a["rule"] == "Connect target differs from the one read":
        assert a["output_fields"]["fd.name"].endswith("/blocked.sock"), a
        assert a["output_fields"]["vigil.judged_addr"].endswith("/allowed.sock"), a
PY
        fi
      esac
    fi
  done
}
race unix-thread DIR
race unix-memfd DIR
race udp-thread $PORT
race udp-msg $PORT
race udp-memfd $PORT
race udp-dup2 $PORT
race udp-content $PORT

# expect FILE NAME VALUE
expect() { grep -qx "$2=$3" "$1" || fail "$2: want $3, got $(grep "^$2=" "$1" || echo nothing)"; }
for mode in detect prevent; do
  rm -rf "$tmp/d" && mkdir "$tmp/d"
  "$VIGIL" run --mode=$mode --rules="$tmp/rules.yaml" --alerts="file:$tmp/al.u.$mode" -- "$FIXTURES/netrace" unix-func "$tmp/d" >"$tmp/u.$mode" 2>"$tmp/err" ||
    fail "unix-func $mode: $(tail -5 "$tmp/err")"
  rm -rf "$tmp/d" && mkdir "$tmp/d"
  "$VIGIL" run --mode=$mode --rules="$tmp/rules.yaml" -- "$FIXTURES/netrace" udp-func $PORT >"$tmp/s.$mode" 2>"$tmp/err" ||
    fail "udp-func $mode: $(tail -5 "$tmp/err")"
done
# Natively (no vigil) for the reference results.
blockedkeys='blocked|symlink|proc_cwd|dgram_blocked|sendto_blocked|plain_blocked|sendmsg_blocked|sendmmsg_blocked|reached_blocked|fastopen_blocked'
rm -rf "$tmp/d" && mkdir "$tmp/d"
"$FIXTURES/netrace" unix-func "$tmp/d" >"$tmp/u.native"
"$FIXTURES/netrace" udp-func $PORT >"$tmp/s.native"
for f in u s; do
  # Detect mode (nothing emulated) and native runs agree.
  diff "$tmp/$f.native" "$tmp/$f.detect" || fail "detect mode differs from a native run"
  # Prevent mode: the same but for the calls a rule blocks.
  grep -vE "^($blockedkeys)=" \
    "$tmp/$f.native" >"$tmp/$f.want"
  grep -vE "^($blockedkeys)=" \
    "$tmp/$f.prevent" >"$tmp/$f.got"
  diff "$tmp/$f.want" "$tmp/$f.got" || fail "prevent mode: an emulated call differs from the native one"
done
# Detect mode: the aliases of blocked.sock (a symlink, /proc/self/cwd/...)
# are resolved as the caller's and alerted as blocked.sock (the hard link is
# not: sockets are not known by identity, docs/threat-model.md).
python3 - "$tmp/al.u.detect" "$tmp/d" <<'PY' || fail "unix-func detect: the aliases of blocked.sock are not alerted as it"
import json, sys
alerts = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{") and '"Blocked socket"' in l]
names = sorted(a["output_fields"]["fd.name"] for a in alerts for _ in range(a["output_fields"].get("vigil.count", 1)))
print("unix-func detect: 'Blocked socket' alerts for", names)
assert names == [sys.argv[2] + "/blocked.sock"] * 3, names
PY
cat "$tmp/u.prevent" "$tmp/s.prevent"
for k in blocked symlink proc_cwd dgram_blocked; do expect "$tmp/u.prevent" $k EPERM; done
for k in sendto_blocked plain_blocked sendmsg_blocked sendmmsg_blocked fastopen_blocked; do expect "$tmp/s.prevent" $k EPERM; done
expect "$tmp/s.prevent" reached_blocked 0
expect "$tmp/u.native" blocked 0
expect "$tmp/u.native" other_uid_private EACCES
expect "$tmp/u.native" peer_uid 65534
expect "$tmp/u.native" scm_rights works
finish
