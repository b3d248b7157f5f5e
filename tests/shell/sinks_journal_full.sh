#!/usr/bin/env bash
# The journal on a disk the app fills: by default it is on the app's own
# filesystem (/tmp/vigil-spool/journal), a sparse file of --journal-size
# whose pages got their blocks at their first write. An app that filled that
# disk made such a write fail: a SIGBUS, which vigil survives (the page
# becomes vigil's memory, sinks/journal.cpp), but which it reported as a
# Critical "Sensor tamper attempt", "truncated by another writer": false,
# nobody had truncated it. Now the journal's blocks are reserved at the
# start (fallocate); a disk already too full for it then leaves the journal in
# vigil's memory, said at the start, and no alert is false.
# - after: the disk is filled after vigil started, then 3000 alerts.
# - before: the disk is full before vigil starts.
set -euo pipefail
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
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
import os, sys
fs, tmp, fill = sys.argv[1], sys.argv[2], sys.argv[3] == "fill"
if fill:
    fd = os.open(os.path.join(fs, "filler"), os.O_WRONLY | os.O_CREAT)  # the disk the journal is on, full
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError:
        pass
for i in range(3000):  # ~1.2 MB of alerts through the 4 MiB ring: most of its pages written
    open(f"{tmp}/marker-{i}", "w").close()
PY
fails=0
for when in after before; do
  rm -f "$tmp"/marker-*
  pre=""; [ "$when" = before ] && pre="head -c 16m /dev/zero > '$tmp/fs/filler' 2>/dev/null || true;"
  arg=fill; [ "$when" = before ] && arg=nofill
  unshare -m sh -c "mount -t tmpfs -o size=6m tmpfs '$tmp/fs' && mkdir '$tmp/fs/spool' && $pre \
    '$VIGIL' run --rules='$tmp/rules.yaml' --alert-window=0 --spool-dir='$tmp/fs/spool' \
      --alerts='file:$tmp/$when.alerts' -- python3 '$tmp/app.py' '$tmp/fs' '$tmp' $arg" 2>"$tmp/$when.err" \
    || { cat "$tmp/$when.err"; echo "FAIL: $when: vigil or the app failed"; exit 1; }
  n=$(grep -c '"rule":"marker opened"' "$tmp/$when.alerts" || true)
  echo "$when: $n of 3000 alerts delivered"
  [ "$n" -eq 3000 ] || { echo "FAIL: $when: alerts lost"; fails=1; }
  if grep -E '"rule":"Sensor (tamper attempt|fault)"' "$tmp/$when.alerts" | grep -q journal; then
    grep -E 'journal' "$tmp/$when.alerts" | head -2
    echo "FAIL: $when: a full disk reported as the journal's truncation (or a fault)"; fails=1
  fi
done
# Full before the start: said, with what to do.
grep -q "journal.*No space left on device" "$tmp/before.err" ||
  { cat "$tmp/before.err"; echo "FAIL: before: the journal left in memory was not said"; fails=1; }
[ $fails -eq 0 ] && echo ok
exit $fails
