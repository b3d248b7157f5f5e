#!/usr/bin/env bash
# vigil init on volumes it cannot fill: read-only mount, too small, out of
# inodes mid-copy. Each: one error line, non-zero exit, volume left as it was.
. "$(dirname "$0")/init_lib.bash"
need_root
command -v unshare >/dev/null || { echo "SKIP: unshare (util-linux) missing"; exit 77; }
export VIGIL ROOTFS T
size_kb=$(du -sk --apparent-size "$ROOTFS" | cut -f1)

# in_ns SCRIPT: run SCRIPT in bash in a private mount namespace.
in_ns() { unshare -m --propagation private bash -euc "$1"; }

echo "--- read-only volume (readOnly: true bind mount)"
mkdir "$T/ro"
in_ns 'mount --bind "$T/ro" "$T/ro"; mount -o remount,bind,ro "$T/ro"
       if "$VIGIL" init --volume "$T/ro" --source "$ROOTFS" 2>"$T/err"; then exit 9; fi' ||
  die "init on a read-only volume did not fail (rc=$?)"
one_line_error "$T/err" "volume $T/ro is not writable (Read-only file system): mount the volume $T/ro read-write"
[ -z "$(ls -A "$T/ro")" ] || die "read-only test left files"

echo "--- read-only volume that already holds this version: still an error (init must be able to repair)"
mkdir "$T/ro2"; "$VIGIL" init --volume "$T/ro2" --source "$ROOTFS"
in_ns 'mount --bind "$T/ro2" "$T/ro2"; mount -o remount,bind,ro "$T/ro2"
       if "$VIGIL" init --volume "$T/ro2" --source "$ROOTFS" 2>"$T/err"; then exit 9; fi' ||
  die "init on a read-only volume did not fail (rc=$?)"
one_line_error "$T/err" "is not writable"

echo "--- volume too small (tmpfs of $((size_kb / 2)) KB for a $size_kb KB rootfs)"
mkdir "$T/small"
in_ns 'mount -t tmpfs -o size='$((size_kb / 2))'k tmpfs "$T/small"
       if "$VIGIL" init --volume "$T/small" --source "$ROOTFS" 2>"$T/err"; then exit 9; fi
       [ -z "$(ls -A "$T/small")" ] || { echo "left: $(ls -A "$T/small")" >&2; exit 8; }' ||
  die "init on a too small volume: rc=$?"
one_line_error "$T/err" "no space on volume $T/small: need [0-9]* KB, [0-9]* KB free: free space on the volume"

echo "--- volume full mid-copy (tmpfs out of inodes): staging removed"
in_ns 'mount -t tmpfs -o size=200m,nr_inodes=6 tmpfs "$T/small"
       if "$VIGIL" init --volume "$T/small" --source "$ROOTFS" 2>"$T/err"; then exit 9; fi
       [ -z "$(ls -A "$T/small")" ] || { echo "left: $(ls -A "$T/small")" >&2; exit 8; }' ||
  die "init on an inode-starved volume: rc=$?"
one_line_error "$T/err" "cannot create $T/small/.rootfs.staging.[0-9]*/.*No space left on device: free space on the volume"

echo "--- replacing a version without room for both: old version stays intact"
export S2=$T/src-v2; cp -a "$ROOTFS" "$S2"; chmod -R u+w "$S2"; sed -i 's/^# version .*/# version 9.9.9-test/' "$S2/MANIFEST"
in_ns 'mount -t tmpfs -o size='$((size_kb * 3 / 2))'k tmpfs "$T/small"
       "$VIGIL" init --volume "$T/small" --source "$ROOTFS"
       if "$VIGIL" init --volume "$T/small" --source "$S2" 2>"$T/err"; then exit 9; fi
       mkdir "$T/kept"; cp -a "$T/small/rootfs" "$T/kept/"' ||
  die "replacement without room: rc=$?"
one_line_error "$T/err" "no space on volume"
check_installed "$T/kept"
echo "--- non-root init container: volume it may not write; then one it may (install, replace)"
# Copies, so user nobody can reach them wherever the build tree lives.
chmod 0755 "$T"; cp "$VIGIL" "$T/vigil"; cp -a "$ROOTFS" "$T/src"; chmod -R a+rX "$T/src"
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$T/vigil" init --source "$T/src" "$@"; }
mkdir "$T/rootonly"
if as_nobody --volume "$T/rootonly" 2>"$T/err"; then die "nobody wrote to a root-owned 0755 volume"; fi
one_line_error "$T/err" "volume $T/rootonly is not writable (Permission denied): let the init container's user write"
mkdir -m 0777 "$T/shared"
as_nobody --volume "$T/shared" || die "non-root install failed"
[ "$(stat -c %U "$T/shared/rootfs/bin/vigil")" = nobody ] || die "non-root install: wrong owner"
sed -i 's/^# version .*/# version 9.9.9-test/' "$T/src/MANIFEST"
as_nobody --volume "$T/shared" || die "non-root replacement of a read-only tree failed"
grep -qx '# version 9.9.9-test' "$T/shared/rootfs/MANIFEST" || die "non-root replacement did not install"
[ -z "$(ls -A "$T/shared" | grep -v '^rootfs$')" ] || die "non-root replacement left: $(ls -A "$T/shared")"
echo PASS
