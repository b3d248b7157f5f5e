#!/usr/bin/env bash
# vigil init: fresh install, idempotent rerun, version change, repair of a
# damaged install, corrupt source, missing/odd volumes, VIGIL_VOLUME.
. "$(dirname "$0")/init_lib.bash"
V=$T/vol; mkdir "$V"

echo "--- fresh install (with --trace=info logging)"
"$VIGIL" init --volume "$V" --source "$ROOTFS" --trace=info 2>"$T/log" || die "fresh install failed: $(cat "$T/log")"
check_installed "$V"
grep -q "installed vigil .* into $V/rootfs" "$T/log" || die "--trace=info did not log the install: $(cat "$T/log")"

echo "--- idempotent rerun: exit 0, nothing changes"
before=$(snapshot "$V")
VIGIL_OPTS=--trace=info "$VIGIL" init --volume "$V" --source "$ROOTFS" 2>"$T/log" || die "rerun failed: $(cat "$T/log")"
[ "$before" = "$(snapshot "$V")" ] || die "rerun changed the volume"
grep -q "already installed .* intact" "$T/log" || die "VIGIL_OPTS=--trace=info: no 'intact' log: $(cat "$T/log")"

echo "--- VIGIL_VOLUME selects the volume; default is quiet on success"
V2=$T/vol2; mkdir "$V2"
VIGIL_VOLUME=$V2 "$VIGIL" init --source "$ROOTFS" 2>"$T/log" || die "VIGIL_VOLUME install failed: $(cat "$T/log")"
check_installed "$V2"
[ ! -s "$T/log" ] || die "default trace level should print nothing on success: $(cat "$T/log")"
VIGIL_VOLUME=$T/nonexistent "$VIGIL" init --volume "$V2" --source "$ROOTFS" || die "--volume must win over VIGIL_VOLUME"

echo "--- another version replaces the installed one"
S2=$T/src-v2; cp -a "$ROOTFS" "$S2"; chmod -R u+w "$S2"
echo "changed for the version test" >>"$S2/etc/vigil/README"
sum=$(sha256sum "$S2/etc/vigil/README" | cut -d' ' -f1)
sed -i -e 's/^# version .*/# version 9.9.9-test/' -e "s|^[0-9a-f]*  etc/vigil/README\$|$sum  etc/vigil/README|" "$S2/MANIFEST"
ino_before=$(stat -c %i "$V/rootfs")
"$VIGIL" init --volume "$V" --source "$S2" || die "version change failed"
grep -qx '# version 9.9.9-test' "$V/rootfs/MANIFEST" || die "version 9.9.9-test not installed"
grep -q "changed for the version test" "$V/rootfs/etc/vigil/README" || die "new README not installed"
[ "$(stat -c %i "$V/rootfs")" != "$ino_before" ] || die "rootfs dir was not replaced"
"$VIGIL" init --volume "$V" --source "$ROOTFS" || die "switching back failed"
check_installed "$V"

echo "--- damaged installs are repaired"
damage() {  # damage DESCRIPTION COMMAND...
  echo "    $1"
  "${@:2}"
  "$VIGIL" init --volume "$V" --source "$ROOTFS" --trace=warn 2>"$T/log" || die "repair ($1) failed: $(cat "$T/log")"
  grep -q "damaged" "$T/log" || die "repair ($1) was not reported: $(cat "$T/log")"
  check_installed "$V"
}
damage "flipped byte in libc" flip_byte "$V/rootfs/lib64/libc.so.6" 4096
damage "missing file" rm -f "$V/rootfs/etc/vigil/ca-certificates.crt"
damage "extra file" sh -c "chmod u+w '$V/rootfs/bin' && echo x >'$V/rootfs/bin/intruder'"
damage "writable file" chmod 0644 "$V/rootfs/etc/vigil/README"
damage "loader not executable" chmod 0444 "$V/rootfs/lib64/$LOADER_NAME"
damage "truncated loader" truncate -s 1000 "$V/rootfs/lib64/$LOADER_NAME"

echo "--- stale staging dirs of killed runs are removed"
mkdir -p "$V/.rootfs.staging.99999/lib64" "$V/.rootfs.old.4242"; chmod 0555 "$V/.rootfs.staging.99999"
"$VIGIL" init --volume "$V" --source "$ROOTFS" || die "init with stale staging dirs failed"
check_installed "$V"

echo "--- concurrent inits on one volume are serialised (flock): all succeed"
V3=$T/vol3; mkdir "$V3"; pids=()
for i in 1 2 3; do "$VIGIL" init --volume "$V3" --source "$ROOTFS" & pids+=($!); done
for p in "${pids[@]}"; do wait "$p" || die "a concurrent init failed"; done
check_installed "$V3"

echo "--- corrupt source: error line, non-zero, volume untouched"
S3=$T/src-bad; cp -a "$ROOTFS" "$S3"; chmod -R u+w "$S3"
flip_byte "$S3/lib64/libm.so.6" 5000
# Replacing v2 -> corrupt source: the copy must fail and leave v2 in place.
"$VIGIL" init --volume "$V" --source "$S2"
before=$(snapshot "$V")
if "$VIGIL" init --volume "$V" --source "$S3" 2>"$T/err"; then die "corrupt source was accepted"; fi
one_line_error "$T/err" "source file $S3/lib64/libm.so.6 does not match its SHA-256"
[ "$before" = "$(snapshot "$V")" ] || die "a failed init changed the volume"
E=$T/vol-empty; mkdir "$E"
if "$VIGIL" init --volume "$E" --source "$S3" 2>"$T/err"; then die "corrupt source was accepted (empty volume)"; fi
[ -z "$(ls -A "$E")" ] || die "a failed init left files in an empty volume: $(ls -A "$E")"
cp "$ROOTFS/MANIFEST" "$T/m"; sed -i 's/^# vigil-rootfs-manifest 1/garbage/' "$S3/MANIFEST"
if "$VIGIL" init --volume "$E" --source "$S3" 2>"$T/err"; then die "garbage manifest was accepted"; fi
one_line_error "$T/err" "corrupt source manifest $S3/MANIFEST: line 1"
rm "$S3/bin/vigil"; cp "$T/m" "$S3/MANIFEST"
if "$VIGIL" init --volume "$E" --source "$S3" 2>"$T/err"; then die "missing source file was accepted"; fi
one_line_error "$T/err" "source file $S3/bin/vigil is missing"

echo "--- bad volumes and arguments"
if "$VIGIL" init --volume "$T/nope" --source "$ROOTFS" 2>"$T/err"; then die "missing volume accepted"; fi
one_line_error "$T/err" "volume $T/nope does not exist.*--volume DIR"
touch "$T/file"
if "$VIGIL" init --volume "$T/file" --source "$ROOTFS" 2>"$T/err"; then die "file as volume accepted"; fi
one_line_error "$T/err" "is not a directory"
if "$VIGIL" init --volume "$V" --source "$T/vol-empty" 2>"$T/err"; then die "source without MANIFEST accepted"; fi
one_line_error "$T/err" "cannot read the source manifest $T/vol-empty/MANIFEST"
# build/vigil is not inside a rootfs: without --source it must say so.
if "$VIGIL" init --volume "$V" 2>"$T/err"; then die "init outside a rootfs accepted"; fi
one_line_error "$T/err" "pass --source ROOTFS"
set +e
"$VIGIL" init --volume 2>"$T/err"; rc=$?
[ $rc -eq 2 ] && grep -q "needs a directory" "$T/err" || die "--volume without value: rc=$rc $(cat "$T/err")"
"$VIGIL" init --bogus=1 2>"$T/err"; rc=$?
[ $rc -eq 2 ] && grep -q "unknown option '--bogus'" "$T/err" || die "unknown option: rc=$rc $(cat "$T/err")"
"$VIGIL" init stray 2>"$T/err"; rc=$?
[ $rc -eq 2 ] && grep -q "unexpected argument 'stray'" "$T/err" || die "stray argument: rc=$rc $(cat "$T/err")"
"$VIGIL" init --help | grep -q -- "--volume DIR" || die "--help does not describe --volume"
echo PASS
