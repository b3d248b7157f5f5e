#!/usr/bin/env bash
# An exec whose verdict cannot act (detect mode; prevent mode with no rule
# that can block an exec) is answered before it is judged (docs/design.md
# section 1, "exec"): its event still carries what vigil read while the
# caller waited (argv in full, ids, cwd, parent, session), in order (the
# child's fork, then its exec, then its exit) and its alert fires as before.
# Where the verdict can act (a block rule on the exec) it still decides first.
# The caller's ids come from the read that learnt the new process (a pidfd's
# PIDFD_GET_INFO plus capget on 6.13+, /proc/PID/status before:
# VIGIL_TEST_NO_PIDFD_INFO=1 forces the latter): checked in both ways against
# what the shell had, with capabilities reduced so that a wrong mask shows.
set -euo pipefail
: "${VIGIL:?}"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
mkdir "$tmp/wd"
cat > "$tmp/alert.yaml" <<'YAML'
- rule: echo started
  desc: d
  condition: evt.type = execve and proc.name = echo
  output: echo started (command=%proc.cmdline uid=%user.uid cwd=%proc.cwd caps=%thread.cap_effective)
  priority: WARNING
YAML
sed 's/priority: WARNING/priority: WARNING\n  action: block/' "$tmp/alert.yaml" > "$tmp/block.yaml"
long=$(printf 'x%.0s' $(seq 3000))  # (records carry the first 4 KiB of argv)
app="cd '$tmp/wd'; for i in 1 2 3; do /bin/echo arg\$i $long > /dev/null; done; echo \$\$ > '$tmp/sh.pid'; grep -E '^(Uid|Gid|CapEff):' /proc/\$\$/status > '$tmp/sh.ids'"
# Without CAP_NET_RAW and CAP_SYS_ADMIN where setpriv can drop them (root).
drop=()
if [ "$(id -u)" = 0 ] && setpriv --bounding-set=-net_raw,-sys_admin true 2>/dev/null; then
  drop=(setpriv --bounding-set=-net_raw,-sys_admin)
fi
for run in detect prevent detect_procfs; do
  mode=${run%_procfs}
  env $([ "$run" = detect_procfs ] && echo VIGIL_TEST_NO_PIDFD_INFO=1) \
    "$VIGIL" run --mode=$mode --rules="$tmp/alert.yaml" --events="$tmp/ev.$run" --alerts="file:$tmp/al.$run" -- \
    "${drop[@]}" sh -c "$app" || fail "$run: the run failed"
  python3 - "$tmp/ev.$run" "$tmp/al.$run" "$tmp/wd" "$(cat "$tmp/sh.pid")" "$long" "$tmp/sh.ids" <<'PY' || fail "$run: events"
import json, os, sys
sys.path.insert(0, os.environ["SRC_DIR"] + "/tests/shell"); from events_view import events
ev = events(sys.argv[1]); wd, shpid, long = sys.argv[3], int(sys.argv[4]), sys.argv[5]
ids = {l.split(":")[0]: l.split(":")[1].split() for l in open(sys.argv[6])}
uid, euid, gid, egid = int(ids["Uid"][0]), int(ids["Uid"][1]), int(ids["Gid"][0]), int(ids["Gid"][1])
capeff = int(ids["CapEff"][0], 16)
execs = [e for e in ev if e["type"] == "exec" and e["process"]["exe"] == os.path.realpath("/bin/echo")]
assert [e["process"]["args"] for e in execs] == [["/bin/echo", "arg%d" % i, long] for i in (1, 2, 3)], [e["process"]["args"][:2] for e in execs]
for e in execs:
    p, pid = e["process"], e["process"]["pid"]
    assert p["cwd"] == wd and p["ppid"] == shpid and e.get("action", "none") == "none", (p["cwd"], p["ppid"], e.get("action"))
    assert p["user"] == {"uid": uid, "euid": euid, "gid": gid, "egid": egid}, (p["user"], ids)
    seqs = [(x["type"], x["seq"]) for x in ev if x["type"] in ("fork", "exit") and
            (x.get("child_pid") == pid if x["type"] == "fork" else x["process"]["pid"] == pid)]
    assert [t for t, _ in seqs] == ["fork", "exit"] and seqs[0][1] < e["seq"] < seqs[1][1], (seqs, e["seq"])
al = [json.loads(l) for l in open(sys.argv[2])]
assert [a["output_fields"]["proc.cmdline"].split()[1] for a in al if a["rule"] == "echo started"] == ["arg1", "arg2", "arg3"], [a["rule"] for a in al]
assert all(a["output_fields"]["vigil.action"] == "none" for a in al), al
for a in al:  # the mask as names (rules/fields.cpp cap_text): one per bit, CAP_SYS_ADMIN is bit 21
    caps = (a["output_fields"]["thread.cap_effective"] or "").split()
    assert len(caps) == bin(capeff).count("1") and ("CAP_SYS_ADMIN" in caps) == bool(capeff >> 21 & 1), (caps, hex(capeff))
PY
done
# A block rule on the exec: judged before the answer, the exec fails (EPERM).
rc=0
"$VIGIL" run --mode=prevent --rules="$tmp/block.yaml" --alerts="file:$tmp/al.block" -- sh -c "$app" 2> "$tmp/err" || rc=$?
grep -q 'Operation not permitted' "$tmp/err" || fail "block: echo not denied (rc $rc): $(cat "$tmp/err")"
[ "$(grep -c '"denied"' "$tmp/al.block")" = 3 ] || fail "block: alerts $(cat "$tmp/al.block")"
echo ok
