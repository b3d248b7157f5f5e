#!/usr/bin/env bash
# The watch on the files rules name is blinded by overflowing its inotify
# queue (fs.inotify.max_queued_events, 16384 by default): a burst of changes
# in any watched directory fills it, and every event after that is lost, a
# write to a protected file included. The attack, made deterministic: vigil is
# stopped (SIGSTOP) while 20000 events are queued by entries made and removed
# next to the protected directory (its parent is watched for that name), then
# a file the rule names is written and a new one made there, then vigil goes
# on. Both must still be alerted (found by change time: args.inotify
# "overflow"), and the overflow itself is a Critical "Sensor fault" alert.
# Two more protected files, changed in the same blind window: one only
# chmod-ed (reported as a chmod, not as written), one removed (an unlink).
# And no false report: a directory on the way to a protected one (a/, above
# a/deep/) swapped in the same window for a symbolic link to a decoy tree with
# a new file at the same relative path: the recheck must not list the decoy
# as the protected directory, nor take a/deep/w (moved away with a/, not in the
# decoy) for removed.
set -euo pipefail
tmp=$(mktemp -d); trap 'kill -CONT "${pid:-0}" 2>/dev/null || true; rm -rf "$tmp"' EXIT
q=$(cat /proc/sys/fs/inotify/max_queued_events 2>/dev/null || echo 16384)
[ "$q" -le 100000 ] || { echo "SKIP: fs.inotify.max_queued_events is $q (too many events to queue here)"; exit 77; }
mkdir -p "$tmp/protected" "$tmp/churn" "$tmp/a/deep"
echo job >"$tmp/protected/x"
echo job >"$tmp/protected/y"
echo job >"$tmp/protected/z"
echo job >"$tmp/a/deep/w"
sleep 0.2  # (older than vigil's first look, beyond its margin for the kernel's coarse clock)
cat >"$tmp/rules.yaml" <<YAML
- rule: protected written
  desc: d
  condition: evt.type in (open, openat, openat2, creat) and evt.is_open_write = true and (fd.name startswith $tmp/protected/ or fd.name startswith $tmp/a/deep/)
  output: protected written (file=%fd.name inotify=%evt.arg.inotify)
  priority: WARNING
YAML
"$VIGIL" run --rules="$tmp/rules.yaml" --alerts=file:"$tmp/alerts" --events=file:"$tmp/events" --spool-dir="$tmp/spool" -- sleep 4 \
  >"$tmp/out" 2>"$tmp/err" &
pid=$!
sleep 1  # (the watches are set up)
kill -STOP "$pid"
python3 - "$tmp" "$q" <<'PY'
import os, sys
d, q = sys.argv[1], int(sys.argv[2])
for i in range(q // 2 + 2000):  # an IN_CREATE and an IN_DELETE each, in the watched parent
    p = f"{d}/churn{i}"
    open(p, "w").close()
    os.unlink(p)
with open(f"{d}/protected/x", "a") as f:  # its IN_MODIFY: lost
    f.write("evil\n")
open(f"{d}/protected/new", "w").write("evil\n")  # its IN_CREATE: lost
os.chmod(f"{d}/protected/y", 0o600)  # its IN_ATTRIB: lost
os.unlink(f"{d}/protected/z")  # its IN_DELETE: lost
os.rename(f"{d}/a", f"{d}/a-real")  # (no rule names a/ itself)
os.makedirs(f"{d}/decoy/deep")
open(f"{d}/decoy/deep/fake", "w").write("not protected\n")
os.symlink(f"{d}/decoy", f"{d}/a")
PY
kill -CONT "$pid"
wait "$pid" || { cat "$tmp/out" "$tmp/err"; echo "FAIL: vigil failed"; exit 1; }
python3 - "$tmp" <<'PY'
import json, os, sys
d = sys.argv[1]
alerts = [json.loads(l) for l in open(f"{d}/alerts")]
faults = [a for a in alerts if a.get("rule") == "Sensor fault" and "overflowed" in a["output"]]
if not faults:
    sys.exit(f"FAIL: no 'Sensor fault' alert for the overflowed queue: {[a['output'][:120] for a in alerts]}")
assert all(a["priority"] == "Critical" for a in faults), faults
written = {a["output_fields"]["fd.name"]: a["output_fields"].get("evt.arg.inotify") for a in alerts if a.get("rule") == "protected written"}
for f in ("x", "new"):
    if written.get(f"{d}/protected/{f}") != "overflow":
        sys.exit(f"FAIL: the change to protected/{f} hidden by the overflow was not alerted: {written}")
sys.path.insert(0, os.environ["SRC_DIR"] + "/tests/shell"); from events_view import events
overflow = [(e["type"], e["file"]["path"]) for e in events(f"{d}/events") if e.get("file") and e["args"].get("inotify") == "overflow"]
for want in (("chmod", f"{d}/protected/y"), ("unlink", f"{d}/protected/z")):
    if want not in overflow:
        sys.exit(f"FAIL: {want} not reported after the overflow: {overflow}")
if ("open", f"{d}/protected/y") in overflow:
    sys.exit(f"FAIL: a chmod-ed file reported as written: {overflow}")
if any("/fake" in p or p.endswith("/deep/w") for _, p in overflow) or f"{d}/a/deep/fake" in written:
    sys.exit(f"FAIL: a decoy reached through a swapped directory reported as the protected one: {overflow}")
if len(overflow) != len(set(overflow)):
    sys.exit(f"FAIL: a change reported twice: {overflow}")
print(faults[0]["output"][:160])
PY
echo ok
