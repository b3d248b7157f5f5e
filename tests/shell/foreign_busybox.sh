#!/usr/bin/env bash
# Foreign rootfs (a): busybox-static and its applet symlinks, nothing else.
. "$(dirname "$0")/foreign_lib.bash"
BB=/bin/busybox
[ -x "$BB" ] || die "$BB missing: install busybox-static (scripts/deps.sh)"
readelf -l "$BB" | grep -q 'INTERP' && die "$BB is not static: install busybox-static, not busybox"
R=$T/root; new_root "$R"; mkdir -p "$R/bin" "$R/etc"
cp "$BB" "$R/bin/busybox"
for a in sh echo ls cat true false; do ln -s busybox "$R/bin/$a"; done
echo "busybox motd" >"$R/etc/motd"

echo "--- sh -c with a child process, exit 3"
expect_run "$R" 3 "$(printf 'hello from busybox\nbusybox motd\nvigil\nvigil-launch')" \
  /bin/sh -c 'echo hello from busybox; /bin/cat /etc/motd; ls /vigil/rootfs/bin; exit 3'
expect_events "$R/tmp/ev.json" "exec=/bin/busybox" "exec=/bin/busybox:/bin/cat /etc/motd" exit=3

echo "--- entrypoint found through PATH, exit 0"
expect_run "$R" 0 "ok" sh -c 'echo ok'
expect_events "$R/tmp/ev.json" "exec=/bin/busybox" exit=0

echo "--- missing entrypoint: 127 and one clear line"
rc=0; vigil_run "$R" /bin/nonexistent || rc=$?
[ $rc -eq 127 ] || die "missing entrypoint: exit $rc, expected 127: $(cat "$T/err")"
grep -q "nonexistent" "$T/err" || die "missing entrypoint: unclear error: $(cat "$T/err")"
echo PASS
