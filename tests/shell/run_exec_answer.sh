#!/usr/bin/env bash
# An exec whose verdict cannot act (detect mode; prevent mode with no rule
# that can block an exec) is answered before it is judged (docs/design.md
# section 1, "exec"): its event still carries what vigil read while the
# caller waited (argv in full, ids, cwd, parent, session), in order (the
# child's fork, then its exec, then its exit) and its alert fires as before.
# Where the verdict can act (a block rule on the exec) it still decides first.
set -euo pipefail
: "${VIGIL:?}"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
mkdir "$tmp/wd"
cat > "$tmp/alert.yaml" <<'YAML'
- rule: echo started
  desc: d
  condition: evt.type = execve and proc.name = echo
  output: echo started (command=%proc.cmdline uid=%user.uid cwd=%proc.cwd)
  priority: WARNING
YAML
sed 's/priority: WARNING/priority: WARNING\n  action: block/' "$tmp/alert.yaml" > "$tmp/block.yaml"
long=$(printf 'x%.0s' $(seq 3000))  # (records carry the first 4 KiB of argv)
app="cd '$tmp/wd'; for i in 1 2 3; do /bin/echo arg\$i $long > /dev/null; done; echo \$\$ > '$tmp/sh.pid'"
for run in detect prevent; do
  "$VIGIL" run --mode=$run --rules="$tmp/alert.yaml" --events="$tmp/ev.$run" --alerts="file:$tmp/al.$run" -- \
    sh -c "$app" || fail "$run: the run failed"
  python3 - "$tmp/ev.$run" "$tmp/al.$run" "$tmp/wd" "$(cat "$tmp/sh.pid")" "$long" "$(id -u)" <<'PY' || fail "$run: events"
import json, os, sys
sys.path.insert(0, os.environ["SRC_DIR"] + "/tests/shell"); from events_view import events
ev = events(sys.argv[1]); wd, shpid, long, uid = sys.argv[3], int(sys.argv[4]), sys.argv[5], int(sys.argv[6])
execs = [e for e in ev if e["type"] == "exec" and e["process"]["exe"] == os.path.realpath("/bin/echo")]
assert [e["process"]["args"] for e in execs] == [["/bin/echo", "arg%d" % i, long] for i in (1, 2, 3)], [e["process"]["args"][:2] for e in execs]
for e in execs:
    p, pid = e["process"], e["process"]["pid"]
    assert p["cwd"] == wd and p["ppid"] == shpid and p["user"]["uid"] == uid and e.get("action", "none") == "none", (p["cwd"], p["ppid"], p["user"], e.get("action"))
    seqs = [(x["type"], x["seq"]) for x in ev if x["type"] in ("fork", "exit") and
            (x.get("child_pid") == pid if x["type"] == "fork" else x["process"]["pid"] == pid)]
    assert [t for t, _ in seqs] == ["fork", "exit"] and seqs[0][1] < e["seq"] < seqs[1][1], (seqs, e["seq"])
al = [json.loads(l) for l in open(sys.argv[2])]
assert [a["output_fields"]["proc.cmdline"].split()[1] for a in al if a["rule"] == "echo started"] == ["arg1", "arg2", "arg3"], [a["rule"] for a in al]
assert all(a["output_fields"]["vigil.action"] == "none" for a in al), al
PY
done
# A block rule on the exec: judged before the answer, the exec fails (EPERM).
rc=0
"$VIGIL" run --mode=prevent --rules="$tmp/block.yaml" --alerts="file:$tmp/al.block" -- sh -c "$app" 2> "$tmp/err" || rc=$?
grep -q 'Operation not permitted' "$tmp/err" || fail "block: echo not denied (rc $rc): $(cat "$tmp/err")"
[ "$(grep -c '"denied"' "$tmp/al.block")" = 3 ] || fail "block: alerts $(cat "$tmp/al.block")"
echo ok
