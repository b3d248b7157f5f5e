#!/usr/bin/env bash
# Foreign rootfs (d): a Debian bookworm minbase (debootstrap, cached by
# scripts/mkbase.sh), overlay-mounted so the cache is never modified.
. "$(dirname "$0")/foreign_lib.bash"
BASE=$(bash "$SRC_DIR/scripts/mkbase.sh") || die "scripts/mkbase.sh could not provide a minbase"
R=$T/root; mkdir -p "$R" "$T/upper" "$T/work"
export BASE T
# The overlay (and the mount points in it) exist only inside vigil_run's namespace.
PRE_MOUNT='mount -t overlay overlay -o lowerdir="$BASE",upperdir="$T/upper",workdir="$T/work" "$ROOT"
           mkdir -p "$ROOT/vigil"'

echo "--- dash script running dynamically linked Debian tools, exit 0"
want=$(printf 'hello from debian\n%s\nvigil\nvigil-launch\nno vigil in the app' "$(cat "$BASE/etc/debian_version")")
expect_run "$R" 0 "$want" /bin/sh -c 'echo hello from debian; cat /etc/debian_version; ls /vigil/rootfs/bin
  if grep -q /vigil/ /proc/self/maps || env | grep -q -e LD_LIBRARY_PATH -e VIGIL_; then echo vigil leaked; else echo no vigil in the app; fi'
expect_events "$T/upper/tmp/ev.json" "exec=/usr/bin/dash" "exec=/usr/bin/cat:cat /etc/debian_version" \
  "exec=/usr/bin/ls:ls /vigil/rootfs/bin" exit=0

echo "--- exit 7"
expect_run "$R" 7 "" /bin/sh -c 'exit 7'
expect_events "$T/upper/tmp/ev.json" "exec=/usr/bin/dash" exit=7
[ ! -e "$BASE/tmp/ev.json" ] || die "the cached minbase was modified"
echo PASS
