#!/usr/bin/env bash
# The spool outlives a disk the app filled for a moment: by default it is on
# the app's own filesystem (/tmp/vigil-spool), so the app can fill that disk
# while a sink is behind (a collector down), make one spool write fail
# (ENOSPC), and free the disk again. Before 2026-12-07 that one failure turned
# the spool off for the rest of the run: every record past the memory queue
# was dropped from then on (alerts too), though the disk had room again. Now a
# failed spool is tried again a second later.
set -euo pipefail
tmp=$(mktemp -d); trap 'umount "$tmp/fs" 2>/dev/null || true; rm -rf "$tmp"' EXIT
unshare -m true 2>/dev/null || { echo "SKIP: needs a mount namespace (unshare -m)"; exit 77; }
mkdir -p "$tmp/fs"
cat > "$tmp/rules.yaml" <<YAML
- rule: marker opened
  desc: d
  condition: evt.type in (open, openat) and evt.is_open_write = true and fd.name startswith $tmp/marker
  output: marker opened (file=%fd.name)
  priority: WARNING
YAML
cat > "$tmp/app.py" <<'PY'
import os, sys, time
fs, tmp = sys.argv[1], sys.argv[2]
def alerts(n, tag):
    for i in range(n):
        open(f"{tmp}/marker-{tag}-{i}", "w").close()
filler = os.path.join(fs, "filler")
with open(filler, "wb") as f:  # the disk the spool is on, full
    try:
        while True:
            f.write(b"\0" * 65536); f.flush()
    except OSError:
        pass
alerts(10, "full")  # past the memory queue: a spool write fails (ENOSPC)
time.sleep(0.3)
os.unlink(filler)  # room again
time.sleep(1.5)
alerts(20, "later")
time.sleep(0.3)
PY
# A collector that is down (a closed loopback port): every alert waits in the sink.
unshare -m sh -c "mount -t tmpfs -o size=2m tmpfs '$tmp/fs' && \
  '$VIGIL' run --rules='$tmp/rules.yaml' --alert-window=0 --queue=2 --journal-size=0 --flush-timeout=1s \
    --spool-dir='$tmp/fs/spool' --alerts=http://127.0.0.1:9/ -- python3 '$tmp/app.py' '$tmp/fs' '$tmp'; \
  cat '$tmp'/fs/spool/*/*.ndjson > '$tmp/kept' 2>/dev/null || true" 2>"$tmp/err" \
  || { cat "$tmp/err"; echo "FAIL: vigil or the app failed"; exit 1; }
later=$(grep -c 'marker-later' "$tmp/kept" || true)
grep -E 'spool|dropped' "$tmp/err" | head -5
echo "alerts raised after the disk had room again, kept in the spool: $later of 20"
[ "$later" -ge 18 ] || { echo "FAIL: the spool stayed off after one failed write: later alerts dropped"; exit 1; }
echo ok
