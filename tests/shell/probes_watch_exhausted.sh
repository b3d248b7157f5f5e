#!/usr/bin/env bash
# The app uses up the user's inotify watches (they are counted per user, and
# the app runs as vigil's user): the watches vigil then needs for the files
# and directories rules name are refused (ENOSPC). That is a Critical
# "Sensor fault" alert (what is left unwatched), not just a log line, and the
# app runs on. The limit is lowered in a user namespace of the test's own
# (/proc/sys/user/max_inotify_watches is per namespace), so that nothing else
# on the machine runs short.
set -euo pipefail
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
unshare -U -r true 2>/dev/null || { echo "SKIP: needs user namespaces (unshare -U -r)"; exit 77; }
unshare -U -r sh -c 'test -w /proc/sys/user/max_inotify_watches' 2>/dev/null \
  || { echo "SKIP: no per-namespace inotify limit (/proc/sys/user/max_inotify_watches)"; exit 77; }
cat > "$tmp/app.py" <<'PY'
import ctypes, errno, os
libc = ctypes.CDLL(None, use_errno=True)
fd = libc.inotify_init1(os.O_CLOEXEC)
taken = 0
for root, dirs, files in os.walk("/usr/share"):
    for f in files:
        if libc.inotify_add_watch(fd, os.path.join(root, f).encode(), 0x2) < 0:  # IN_MODIFY
            if ctypes.get_errno() == errno.ENOSPC:
                print(f"app: {taken} watches taken, then ENOSPC", flush=True)
                import time; time.sleep(1.5)  # vigil's watch thread walks meanwhile
                raise SystemExit(0)
        else:
            taken += 1
print("app: never ran out of watches", flush=True)
PY
unshare -U -r sh -c "echo 1000 > /proc/sys/user/max_inotify_watches && \
  '$VIGIL' run --rules='$SRC_DIR/rules/default' --alerts=file:$tmp/alerts -- python3 '$tmp/app.py'" \
  >"$tmp/out" 2>"$tmp/err" || { cat "$tmp/out" "$tmp/err"; echo "FAIL: vigil or the app failed"; exit 1; }
grep -q 'then ENOSPC' "$tmp/out" || { cat "$tmp/out"; echo "FAIL: the app did not use the watches up"; exit 1; }
python3 - "$tmp/alerts" <<'PY'
import json, sys
faults = [a for a in map(json.loads, open(sys.argv[1])) if a.get("rule") == "Sensor fault"]
hit = [a for a in faults if a["output_fields"].get("vigil.errno") == 28 and "inotify" in a["output"]]
if not hit:
    sys.exit(f"FAIL: no Critical 'Sensor fault' alert for the refused inotify watches ({len(faults)} faults)")
assert all(a["priority"] == "Critical" for a in hit), hit
print(hit[0]["output"][:160])
PY
echo ok
