#!/usr/bin/env bash
# An app that installs its own seccomp filter behaves exactly as natively:
# its ERRNO rule holds, its RET_TRACE rule gives ENOSYS (no tracer of its own),
# and vigil still sees what it execs.
set -euo pipefail
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
"$FIXTURES/run_ownfilter" > "$tmp/native"
timeout 60 "$VIGIL" run --events="$tmp/ev" -- "$FIXTURES/run_ownfilter" > "$tmp/vigil"
diff "$tmp/native" "$tmp/vigil" || { echo "FAIL: output differs under vigil"; exit 1; }
python3 - "$tmp/ev" <<'PY' || { echo "FAIL: exec after the app's filter not seen"; exit 1; }
import sys
import os as _os; sys.path.insert(0, _os.environ["SRC_DIR"] + "/tests/shell"); from events_view import events
sys.exit(0 if any(e["type"] == "exec" and e["process"]["args"] == ["echo", "child-after-filter"] for e in events(sys.argv[1])) else 1)
PY
echo ok
