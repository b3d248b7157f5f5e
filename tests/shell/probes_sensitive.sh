#!/usr/bin/env bash
# Sensitive-file reads (issue 3, docs/design-probes.md): a read-only open of a
# watched credential file is reported (inotify), attributed to the process
# that holds it; unrelated read-opens are not trapped and not reported.
set -euo pipefail
if [ "$(id -u)" -ne 0 ] || ! unshare -m true 2>/dev/null; then echo "skip: needs root and unshare -m"; exit 77; fi
if [ -z "${PROBES_SENS_INNER:-}" ]; then
  exec env PROBES_SENS_INNER=1 unshare -m --propagation private bash "$0" "$@"
fi
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
# A private /root (tmpfs in this mount namespace): real credentials are neither
# needed nor touched.
mount -t tmpfs vigil-test /root || { echo "skip: cannot mount in this namespace"; exit 77; }
mkdir -p /root/.aws
echo "aws_secret_access_key=test" > /root/.aws/credentials
timeout 120 "$VIGIL" run --events="$tmp/ev" -- sh -c \
  'exec 3</root/.aws/credentials; sleep 2; cat /etc/hostname >/dev/null; exec 3<&-; cat /root/.aws/credentials >/dev/null' 
# Own patterns replace the built-in list; "none" turns the watch off. (No
# rules: the default ones watch /root/.aws for their own read rule, whatever
# --sensitive-files says: tests/shell/opens_home.sh.)
echo k > "$tmp/app.key"
timeout 120 "$VIGIL" run --rules=/dev/null --events="$tmp/ev-own" --sensitive-files="$tmp/*.key" -- sh -c \
  "exec 3<$tmp/app.key; sleep 2; cat /root/.aws/credentials >/dev/null"
timeout 120 "$VIGIL" run --rules=/dev/null --events="$tmp/ev-none" --sensitive-files=none -- sh -c \
  "exec 3<$tmp/app.key; sleep 1; cat /root/.aws/credentials >/dev/null"
python3 - "$tmp/ev-own" "$tmp/ev-none" "$tmp/app.key" <<'PY'
import json, sys
import os as _os; sys.path.insert(0, _os.environ["SRC_DIR"] + "/tests/shell"); from events_view import events, view
own = events(sys.argv[1])
none = events(sys.argv[2])
hits = [e["file"]["path"] for e in own if e.get("args", {}).get("source") == "inotify"]
assert hits and set(hits) == {sys.argv[3]}, hits
assert not [e for e in none if e.get("args", {}).get("source") == "inotify"], none
PY
python3 - "$tmp/ev" <<'PY'
import json, sys
import os as _os; sys.path.insert(0, _os.environ["SRC_DIR"] + "/tests/shell"); from events_view import events, view
ev = events(sys.argv[1])
hits = [e for e in ev if e["type"] == "open" and e.get("args", {}).get("source") == "inotify"]
assert all(e["file"]["path"] == "/root/.aws/credentials" for e in hits), hits
assert len(hits) >= 2, hits   # the shell's open and cat's (inotify may merge back-to-back ones)
assert all(e["class_uid"] == 1001 for e in hits)
# the shell holds it for 2 s: attributed to it by its open fd
assert any(e.get("process", {}).get("exe", "").endswith("sh") for e in hits), hits
# cat opens, reads, closes and exits before any fd scan: named by its argv
cat = [e for e in hits if e.get("process", {}).get("name") == "cat"]
assert cat and cat[0]["args"].get("attributed_by") in ("argv", "open_fd"), hits
assert not [e for e in hits if e["args"].get("attributed") == "false"], hits
assert not [e for e in ev if e.get("file", {}).get("path") == "/etc/hostname"], "read-opens are not events"
PY
echo ok
