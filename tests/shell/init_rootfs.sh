#!/usr/bin/env bash
# build/rootfs: layout, manifest, DT_NEEDED closure, size budget, and that it
# needs nothing from the host: vigil init runs through the bundled loader in a
# chroot that holds nothing but a copy of the rootfs.
. "$(dirname "$0")/init_lib.bash"
BUDGET_MB=${VIGIL_ROOTFS_BUDGET_MB:-20}

echo "--- layout and manifest"
for f in lib64/$LOADER_NAME bin/vigil bin/vigil-launch etc/vigil/README etc/vigil/ca-certificates.crt MANIFEST; do
  [ -f "$ROOTFS/$f" ] || die "$ROOTFS/$f missing"
done
head -2 "$ROOTFS/MANIFEST" | tr '\n' ' ' | grep -Eq '^# vigil-rootfs-manifest 1 # version [0-9]' ||
  die "MANIFEST header: $(head -2 "$ROOTFS/MANIFEST")"
grep -qx "# version $("$VIGIL" --version | cut -d' ' -f2)" "$ROOTFS/MANIFEST" || die "MANIFEST version != vigil --version"
(cd "$ROOTFS" && grep -v '^#' MANIFEST | sha256sum -c --quiet) || die "MANIFEST hashes do not match the files"
listed=$( (grep -v '^#' "$ROOTFS/MANIFEST" | awk '{print $2}'; echo MANIFEST) | sort)
actual=$(cd "$ROOTFS" && find . ! -type d -printf '%P\n' | sort)
[ "$listed" = "$actual" ] || die "MANIFEST does not list exactly the files: $(diff <(echo "$listed") <(echo "$actual") | tr '\n' ' ')"
cmp -s /etc/ssl/certs/ca-certificates.crt "$ROOTFS/etc/vigil/ca-certificates.crt" || die "CA bundle differs from the host's"
for r in "$SRC_DIR"/rules/default/*.yaml; do
  [ -e "$r" ] || continue
  cmp -s "$r" "$ROOTFS/etc/vigil/rules/$(basename "$r")" || die "rule file $(basename "$r") not in etc/vigil/rules"
done
readelf -S "$ROOTFS/bin/vigil" | grep -q '\.symtab' && die "bin/vigil is not stripped"
readelf -S "$VIGIL" | grep -q '\.symtab' || die "build/vigil should keep its symbols"

echo "--- every DT_NEEDED of every ELF file is in lib64 (and nothing unneeded is)"
needed=$(for f in "$ROOTFS"/bin/vigil "$ROOTFS"/lib64/*; do
  readelf -d "$f" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'; done | sort -u)
for n in $needed; do [ -f "$ROOTFS/lib64/$n" ] || die "$n is needed but not in lib64"; done
for l in "$ROOTFS"/lib64/*; do
  echo "$needed" | grep -qx "$(basename "$l")" || die "$(basename "$l") is in lib64 but nothing needs it"
done
readelf -l "$ROOTFS/bin/vigil" | grep -q "interpreter: /lib[0-9]*/$LOADER_NAME" || die "unexpected ELF interpreter"
# The launcher is static: no interpreter, no library (wrapper/launch.c).
readelf -l "$ROOTFS/bin/vigil-launch" | grep -q "interpreter" && die "bin/vigil-launch has an ELF interpreter (not static)"
readelf -d "$ROOTFS/bin/vigil-launch" | grep -q "(NEEDED)" && die "bin/vigil-launch needs shared libraries"
readelf -S "$ROOTFS/bin/vigil-launch" | grep -q '\.symtab' && die "bin/vigil-launch is not stripped"

echo "--- size budget: $BUDGET_MB MB"
(cd "$ROOTFS" && find . -type f -printf '%s\t%P\n' | sort -rn | awk -F'\t' '{printf "  %8d KB  %s\n", $1/1024, $2}')
total=$(find "$ROOTFS" -type f -printf '%s\n' | awk '{s+=$1} END {print s}')
echo "  total: $((total / 1024)) KB"
[ "$total" -le $((BUDGET_MB * 1024 * 1024)) ] ||
  die "rootfs is $((total / 1024)) KB, over its $BUDGET_MB MB budget: slim the largest libraries above (docs/rootfs.md)"

echo "--- nothing from the host: init through the bundled loader in an empty chroot"
need_root
C=$T/chroot; mkdir -p "$C/proc" "$C/vol"
cp -a "$ROOTFS" "$C/rootfs"
LOADER=(/rootfs/lib64/$LOADER_NAME --library-path /rootfs/lib64 /rootfs/bin/vigil)
out=$(chroot "$C" "${LOADER[@]}" --version) || die "vigil --version in the empty chroot failed"
[ "$out" = "$("$VIGIL" --version)" ] || die "chroot --version said '$out'"
# The source is found from /proc/self/exe (the loader), so /proc is mounted;
# through bin/vigil-launch, as the sensor image's ENTRYPOINT starts it.
unshare -m -p -f --mount-proc="$C/proc" chroot "$C" /rootfs/bin/vigil-launch init --volume /vol --trace=info 2>"$T/log" ||
  die "init in the empty chroot failed: $(cat "$T/log")"
grep -q "source /rootfs " "$T/log" || die "init did not find its rootfs via /proc/self/exe: $(cat "$T/log")"
check_installed "$C/vol"
# ... and the installed copy works the same way from the volume.
rm -rf "$C/vol2"; mkdir "$C/vol2"
chroot "$C" /vol/rootfs/lib64/$LOADER_NAME --library-path /vol/rootfs/lib64 /vol/rootfs/bin/vigil \
  init --source /vol/rootfs --volume /vol2 || die "init from the installed copy failed"
check_installed "$C/vol2"
echo PASS
