#!/usr/bin/env bash
# ctest vm.kernel61: vigil's shell tests on Debian 12's own Linux 6.1 (the
# kernel line AWS Fargate runs: no SYNC_WAKE_UP, no PIDFD_GET_INFO), booted
# under qemu-system-x86_64 with TCG (no KVM needed). See docs/kernels.md.
#   VIGIL=... BUILD_DIR=... SRC_DIR=... bash tests/vm/kernel61.sh [TEST...]
# VIGIL_VM_ARCH=arm64: the same on Debian 12's arm64 kernel under
# qemu-system-aarch64 (-M virt -cpu max), with an arm64 root and an arm64
# (cross-)build of vigil in BUILD_DIR (ctest vm.arm64: tests/vm/arm64.sh, docs/arm64.md).
# The VM's root is an initramfs: a debootstrapped bookworm (scripts/mkbase.sh,
# cached) plus, per run, the built vigil, the fixtures and the test scripts.
# Cached in $VIGIL_CACHE (default /var/cache/vigil)/vm: the kernel (fetched
# with `apt-get download linux-image-cloud-amd64`'s kernel package) and the
# packed root. Exits 77 with a one-line reason when qemu or the kernel is absent.
# Env: VIGIL_VM_KERNEL=FILE (a bzImage instead of Debian's), VIGIL_VM_TESTS
# (space-separated test names), VIGIL_VM_TIMEOUT (seconds for the whole VM run),
# VIGIL_VM_ROOTFS=DIR (the deployed rootfs the foreign_* tests run, instead of
# BUILD_DIR/rootfs: tests/vm/arm64.sh takes it from the arm64 image).
set -euo pipefail
: "${VIGIL:?}" "${BUILD_DIR:?}" "${SRC_DIR:?}"
skip() { echo "skip: $*"; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }

# The tests of what touches the kernel (the sensor, the rules and sinks under
# `vigil run`, the deployed rootfs in a foreign root); ~5 min under TCG on an
# idle 2-CPU host, up to 4x that on a loaded one. Left
# out: podman e2e, patcher, init (no kernel interface), bench, foreign_debian
# (overlayfs is a module) and foreign_musl (musl-gcc); scenarios and scenarios_benign (their
# corpora need curl, wget, node, npm, sqlite3, ssh-keygen, ... that the minimal VM root lacks). See docs/kernels.md.
default_tests="run_arch run_events run_exit run_forks run_lifecycle run_nnp run_orphans run_ownfilter run_pty
  run_rules run_sensor_kill run_signals run_signal_storm run_sync_wake_up run_threads probes_dns probes_exec probes_file probes_net
  probes_priv probes_sensitive rules_cli sinks_run sinks_check foreign_busybox
  foreign_scratch"
tests=${*:-${VIGIL_VM_TESTS:-$default_tests}}
total_timeout=${VIGIL_VM_TIMEOUT:-1200}
arch=${VIGIL_VM_ARCH:-amd64}
case $arch in
  amd64) qemu=qemu-system-x86_64 qemu_pkg=qemu-system-x86 machine=() tty=ttyS0 kflavour=cloud-amd64
         triplet=x86_64-linux-gnu elf="3e 00" ;;
  arm64) qemu=qemu-system-aarch64 qemu_pkg=qemu-system-arm machine=(-M virt) tty=ttyAMA0 kflavour=arm64
         triplet=aarch64-linux-gnu elf="b7 00" ;;
  *) fail "VIGIL_VM_ARCH=$arch: amd64 or arm64" ;;
esac
name_tag=vm.kernel61
[ "$arch" = amd64 ] || name_tag=vm.$arch

command -v $qemu >/dev/null || skip "$qemu not installed (scripts/deps.sh installs $qemu_pkg)"
for tool in cpio zstd; do
  command -v $tool >/dev/null || skip "$tool not installed (scripts/deps.sh installs it)"
done
[ "$(uname -m)" = x86_64 ] || skip "the VM is started from an x86_64 host; host is $(uname -m)"
[ "$(od -An -tx1 -j18 -N2 "$VIGIL" 2>/dev/null | xargs)" = "$elf" ] ||  # ELF e_machine
  skip "$VIGIL is not an $arch build$([ "$arch" = arm64 ] && echo ' (scripts/cross-arm64.sh build)')"
strip=strip
if [ "$arch" = arm64 ]; then
  strip=aarch64-linux-gnu-strip
  command -v $strip >/dev/null || skip "$strip not installed (scripts/cross-arm64.sh)"
  dpkg --print-foreign-architectures | grep -qx arm64 ||
    skip "apt has no arm64 index for the kernel and the root (scripts/cross-arm64.sh adds the architecture)"
  [ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] || compgen -G "${VIGIL_CACHE:-/var/cache/vigil}/bookworm-vm-arm64-*/.complete" >/dev/null ||
    skip "no qemu-user-static binfmt entry for debootstrap's arm64 second stage (scripts/cross-arm64.sh)"
fi
cache=${VIGIL_CACHE:-/var/cache/vigil}/vm
mkdir -p "$cache"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# --- the kernel: Debian 12's linux-image-6.1.0-N-cloud-amd64 or -arm64 (no modules needed: initramfs root, serial console)
kernel=${VIGIL_VM_KERNEL:-}
if [ -z "$kernel" ]; then
  exec 8>"$cache/.kernel.lock"
  flock 8
  pkg=$(apt-cache depends "linux-image-$kflavour:$arch" 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {sub(/:.*/, "", $2); print $2; exit}')
  if [ -z "$pkg" ]; then  # no apt index for it: use what is cached
    kernel=$(ls -1 "$cache"/linux-image-6.1.*-$kflavour.vmlinuz 2>/dev/null | sort -V | tail -n1)
    [ -n "$kernel" ] || skip "kernel image absent: apt knows no linux-image-$kflavour (apt-get update) and none is cached in $cache"
  else
    kernel=$cache/$pkg.vmlinuz
    if [ ! -f "$kernel" ]; then
      (cd "$tmp" && apt-get download "$pkg:$arch" >download.log 2>&1) ||
        skip "kernel image absent: apt-get download $pkg:$arch failed: $(tail -n1 "$tmp/download.log")"
      dpkg-deb -x "$tmp"/"$pkg"_*_$arch.deb "$tmp/kpkg"
      cp "$tmp"/kpkg/boot/vmlinuz-* "$kernel.tmp" && mv "$kernel.tmp" "$kernel"
      rm -rf "$tmp/kpkg" "$tmp"/*.deb
    fi
  fi
  exec 8>&-
fi
[ -r "$kernel" ] || skip "kernel image absent: $kernel"

# --- the root: bookworm minbase + what the tests run, packed once (zstd cpio)
# (the cache name carries a hash of the package list: changing the list makes a new root)
pkgs=python3,python3-venv,busybox-static,procps,make,gcc,libc6-dev,git,openssl
name=bookworm-vm-$(echo "$pkgs" | md5sum | cut -c1-8)
[ "$arch" = amd64 ] || name=bookworm-vm-$arch-$(echo "$pkgs" | md5sum | cut -c1-8)
[ -f "${VIGIL_CACHE:-/var/cache/vigil}/$name/.complete" ] || [ "$(id -u)" = 0 ] ||
  skip "the VM root is not cached and debootstrap needs root (run once as root)"
base=$(bash "$SRC_DIR/scripts/mkbase.sh" "$name" "$pkgs" "$arch") || fail "cannot build the VM root"
base_cpio=$cache/$name.cpio.zst
if [ ! -f "$base_cpio" ] || [ "$base/.complete" -nt "$base_cpio" ]; then
  (cd "$base" && find . -xdev \( -path ./usr/share/doc -o -path ./usr/share/man -o -path ./usr/share/locale \
      -o -path ./usr/share/info -o -path ./var/cache/apt -o -path ./var/lib/apt/lists -o -path ./proc -o -path ./sys \
      -o -path ./dev \) -prune -o -print | LC_ALL=C sort |
    cpio -o -H newc --quiet | zstd -q -T0 -3 -o "$base_cpio.tmp") || fail "cannot pack $base"
  mv -f "$base_cpio.tmp" "$base_cpio"
fi

# --- this run: vigil (stripped), the libraries it needs that the root lacks, fixtures, scripts
stage=$tmp/stage
mkdir -p "$stage/vigil/build/fixtures" "$stage/vigil/src/tests"
install -m 0755 "$SRC_DIR/tests/vm/guest-init.sh" "$stage/init"
$strip -o "$stage/vigil/build/vigil" "$VIGIL"
cp -a "$BUILD_DIR"/fixtures/. "$stage/vigil/build/fixtures/"
# the deployed form (vigil init's source; the foreign_* tests run vigil from it)
rootfs=${VIGIL_VM_ROOTFS:-$BUILD_DIR/rootfs}
if [ -n "${VIGIL_VM_ROOTFS:-}" ]; then
  [ -x "$rootfs/bin/vigil-launch" ] || fail "VIGIL_VM_ROOTFS=$rootfs has no bin/vigil-launch"
fi
if [ -d "$rootfs" ]; then mkdir "$stage/vigil/build/rootfs" && cp -a "$rootfs/." "$stage/vigil/build/rootfs/"; fi
# vigil run from a build tree takes its default rules from the source tree named here
echo "CMAKE_HOME_DIRECTORY:INTERNAL=/vigil/src" >"$stage/vigil/build/CMakeCache.txt"
cp -a "$SRC_DIR/rules" "$SRC_DIR/scripts" "$stage/vigil/src/"
cp -a "$SRC_DIR"/tests/{shell,scenarios,fixtures,reference,ocsf,sinks} "$stage/vigil/src/tests/"
# (into /usr/lib/<triplet>: the root is merged-/usr, and a /lib directory in
# this archive would replace the root's /lib symlink when the kernel unpacks it)
libdir=$stage/usr/lib/$triplet
mkdir -p "$libdir"
if [ "$arch" = amd64 ]; then
  ldd "$VIGIL" | awk '/=> \// {print $3}' | while read -r lib; do
    [ -e "$base$lib" ] || cp -L "$lib" "$libdir/"
  done
else  # a cross build links only glibc shared (VIGIL_STATIC_DEPS): the root's
  for lib in $(aarch64-linux-gnu-readelf -d "$VIGIL" | sed -nE 's/.*\(NEEDED\).*\[(.*)\]/\1/p'); do
    [ -e "$base/usr/lib/$triplet/$lib" ] || fail "$VIGIL needs $lib, which the VM root lacks (configure with VIGIL_STATIC_DEPS=ON)"
  done
fi
for t in $tests; do
  [ -f "$SRC_DIR/tests/shell/$t.sh" ] || fail "no test tests/shell/$t.sh"
  echo "$t"
done >"$stage/vigil/tests.list"
echo 300 >"$stage/vigil/timeout"
(cd "$stage" && find . | LC_ALL=C sort | cpio -o -H newc --quiet | zstd -q -1 -o "$tmp/run.cpio.zst")
cat "$base_cpio" "$tmp/run.cpio.zst" >"$tmp/initrd"

# --- boot; the serial console is the report
console=$tmp/console.log
echo "$name_tag: booting $(basename "$kernel") under $qemu (TCG), tests: $(echo $tests)"
start=$(date +%s)
set +e
timeout -k 10 "$total_timeout" $qemu "${machine[@]}" -accel tcg,thread=multi -cpu max -smp 2 -m 2048 \
  -kernel "$kernel" -initrd "$tmp/initrd" -append "console=$tty rdinit=/init panic=-1 quiet loglevel=3" \
  -display none -monitor none -serial "file:$console" -no-reboot -nodefaults </dev/null
qrc=$?
set -e
elapsed=$(( $(date +%s) - start ))
[ -n "${VIGIL_VM_CONSOLE:-}" ] && cp "$console" "$VIGIL_VM_CONSOLE"

grep -a '^VIGIL-VM-KERNEL' "$console" || { cat "$console"; fail "the VM did not start its init (qemu exit $qrc)"; }
failed=0
printf '%-20s %-5s %5s  %s\n' test result secs "last line"
for t in $tests; do
  line=$(grep -a "^VIGIL-VM-RESULT $t " "$console" | tail -n1 | tr -d '\r' || true)
  if [ -z "$line" ]; then
    printf '%-20s %-5s %5s  %s\n' "$t" none - "did not run (VM stopped after $elapsed s, qemu exit $qrc)"
    failed=1; continue
  fi
  read -r _ _ verdict secs last <<<"$line"
  printf '%-20s %-5s %5s  %s\n' "$t" "$verdict" "$secs" "$last"
  [ "$verdict" != fail ] || failed=1
done
if [ $failed = 1 ]; then
  echo "--- VM console (failed and skipped tests' output):"
  grep -a -v '^VIGIL-VM-RESULT' "$console" | grep -a '^| ' || true
  grep -aq '^VIGIL-VM-DONE' "$console" || { echo "--- console tail:"; tail -n 40 "$console"; }
  fail "vigil tests failed on $(grep -a '^VIGIL-VM-KERNEL' "$console" | cut -d' ' -f2) (VM run $elapsed s)"
fi
echo "$name_tag: ok ($elapsed s)"
