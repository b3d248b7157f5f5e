#!/usr/bin/env bash
# The app uses up the user's inotify watches (they are counted per user, and
# the app runs as vigil's user): the watches vigil then needs for the files
# and directories rules name (here: a file made in a directory a rule names)
# are refused (ENOSPC). That is a Critical
# "Sensor fault" alert (what is left unwatched), not just a log line, and the
# app runs on. The limit is lowered in a user namespace of the test's own
# (/proc/sys/user/max_inotify_watches is per namespace), so that nothing else
# on the machine runs short.
set -euo pipefail
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
unshare -U -r true 2>/dev/null || { echo "SKIP: needs user namespaces (unshare -U -r)"; exit 77; }
unshare -U -r sh -c 'test -w /proc/sys/user/max_inotify_watches' 2>/dev/null \
  || { echo "SKIP: no per-namespace inotify limit (/proc/sys/user/max_inotify_watches)"; exit 77; }
mkdir -p "$tmp/protected"
cat > "$tmp/rules.yaml" <<YAML
- rule: protected written
  desc: d
  condition: evt.type in (open, openat, openat2, creat) and evt.is_open_write = true and fd.name pmatch ($tmp/protected)
  output: protected written (file=%fd.name)
  priority: WARNING
YAML
# The app takes every watch left, then makes a file in the directory the rule
# names: vigil's watch of that new file (for later writes through an alias)
# is refused.
cat > "$tmp/app.py" <<'PY'
import ctypes, errno, os, sys, time
libc = ctypes.CDLL(None, use_errno=True)
fd = libc.inotify_init1(os.O_CLOEXEC)
time.sleep(0.3)  # vigil's watch thread has set its watches up
taken = 0
for root, dirs, files in os.walk("/usr/share"):
    for f in files:
        if libc.inotify_add_watch(fd, os.path.join(root, f).encode(), 0x2) >= 0:  # IN_MODIFY
            taken += 1
        elif ctypes.get_errno() == errno.ENOSPC:
            print(f"app: {taken} watches taken, then ENOSPC", flush=True)
            open(os.path.join(sys.argv[1], "new"), "w").close()
            time.sleep(0.5)
            raise SystemExit(0)
print("app: never ran out of watches", flush=True)
PY
unshare -U -r sh -c "echo 1000 > /proc/sys/user/max_inotify_watches && \
  '$VIGIL' run --rules='$tmp/rules.yaml' --alerts=file:$tmp/alerts -- python3 '$tmp/app.py' '$tmp/protected'" \
  >"$tmp/out" 2>"$tmp/err" || { cat "$tmp/out" "$tmp/err"; echo "FAIL: vigil or the app failed"; exit 1; }
grep -q 'then ENOSPC' "$tmp/out" || { cat "$tmp/out"; echo "FAIL: the app did not use the watches up"; exit 1; }
python3 - "$tmp/alerts" <<'PY'
import json, sys
alerts = [json.loads(l) for l in open(sys.argv[1])]
faults = [a for a in alerts if a.get("rule") == "Sensor fault"]
hit = [a for a in faults if a["output_fields"].get("vigil.errno") == 28 and "inotify" in a["output"]]
if not hit:
    sys.exit(f"FAIL: no Critical 'Sensor fault' alert for the refused inotify watches ({len(faults)} faults)")
assert all(a["priority"] == "Critical" for a in hit), hit
if not any(a.get("rule") == "protected written" for a in alerts):
    sys.exit("FAIL: the write itself was not alerted")
print(hit[0]["output"][:160])
PY
echo ok
