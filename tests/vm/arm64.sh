#!/usr/bin/env bash
# ctest vm.arm64: vigil's shell tests on arm64 (AWS Graviton's architecture):
# an arm64 cross-build of vigil (scripts/cross-arm64.sh) run in Debian 12's
# arm64 kernel under qemu-system-aarch64 (TCG), with a debootstrapped arm64
# root: tests/vm/kernel61.sh with VIGIL_VM_ARCH=arm64. See docs/arm64.md.
# Opt-in (VIGIL_VM_ARM64=1): the cross build, the arm64 root and the emulated
# run take longer than CI's budget allows.
#   SRC_DIR=... [VIGIL_ARM64_BUILD=DIR] [VIGIL_VM_ARM64_IMAGE=IMAGE] bash tests/vm/arm64.sh [TEST...]
# DIR (default SRC_DIR/build-arm64) is brought up to date first (vigil, the
# rootfs and the test fixtures) if it is a configured build tree.
# VIGIL_VM_ARM64_IMAGE: vigil and the deployed rootfs come from that arm64 sensor
# image (the Dockerfile's `arm64` target, docs/arm64.md "The image"), copied out
# with podman; only the test fixtures are built in DIR.
set -euo pipefail
: "${SRC_DIR:?}"
skip() { echo "skip: $*"; exit 77; }
[ "${VIGIL_VM_ARM64:-0}" = 1 ] ||
  skip "opt-in: VIGIL_VM_ARM64=1 (needs scripts/cross-arm64.sh; the cross build and the emulated arm64 run take ~15-30 min)"
build=${VIGIL_ARM64_BUILD:-$SRC_DIR/build-arm64}
[ -f "$build/CMakeCache.txt" ] || skip "no arm64 build in $build: run scripts/cross-arm64.sh build (as root, once)"
image=${VIGIL_VM_ARM64_IMAGE:-}
targets=(vigil rootfs fixtures)
[ -z "$image" ] || targets=(fixtures)
cmake --build "$build" -j"${JOBS:-2}" --target "${targets[@]}" >/dev/null ||
  { echo "FAIL: building $build failed"; exit 1; }
vigil=$build/vigil
if [ -n "$image" ]; then
  command -v podman >/dev/null || skip "VIGIL_VM_ARM64_IMAGE=$image but podman is not installed (scripts/podman-setup.sh)"
  arch=$(podman image inspect --format '{{.Os}}/{{.Architecture}}' "$image" 2>/dev/null) ||
    { echo "FAIL: VIGIL_VM_ARM64_IMAGE=$image: no such image (podman build --platform linux/arm64 --target arm64, docs/arm64.md)"; exit 1; }
  [ "$arch" = linux/arm64 ] || { echo "FAIL: VIGIL_VM_ARM64_IMAGE=$image is $arch, not linux/arm64"; exit 1; }
  tmp=$(mktemp -d)
  ctr=$(podman create --platform linux/arm64 "$image") || { echo "FAIL: podman create $image failed"; exit 1; }
  trap 'podman rm -f "$ctr" >/dev/null 2>&1; rm -rf "$tmp"' EXIT
  podman cp "$ctr:/vigil-rootfs" "$tmp/rootfs" || { echo "FAIL: copying /vigil-rootfs out of $image failed"; exit 1; }
  podman rm -f "$ctr" >/dev/null
  # every ELF file of the image is aarch64 (the loader, glibc, vigil, vigil-launch)
  elves=0
  while IFS= read -r -d '' f; do
    [ "$(head -c4 "$f" | od -An -c | tr -d ' ')" = '177ELF' ] || continue
    m=$(od -An -tx1 -j18 -N2 "$f" | xargs)
    [ "$m" = "b7 00" ] || { echo "FAIL: $image: ${f#$tmp/} is not aarch64 (ELF e_machine $m)"; exit 1; }
    elves=$((elves + 1))
  done < <(find "$tmp/rootfs" -type f -print0)
  [ "$elves" -ge 4 ] || { echo "FAIL: $image: $elves ELF files in /vigil-rootfs, expected the loader, libc, vigil, vigil-launch"; exit 1; }
  # the image runs (qemu-user-static's binfmt entry, if this host has it enabled)
  if grep -qx enabled /proc/sys/fs/binfmt_misc/qemu-aarch64 2>/dev/null; then
    got=$(podman run --rm --platform linux/arm64 --entrypoint /vigil-rootfs/bin/vigil-launch "$image" --version) ||
      { echo "FAIL: podman run of $image's vigil-launch --version failed"; exit 1; }
    echo "vm.arm64: podman run --platform linux/arm64 $image: $got"
  else
    echo "vm.arm64: not running $image here (no enabled qemu-aarch64 binfmt entry: scripts/cross-arm64.sh)"
  fi
  vigil=$tmp/rootfs/bin/vigil
  export VIGIL_VM_ROOTFS=$tmp/rootfs
  echo "vm.arm64: vigil and its rootfs from the image $image ($(podman image inspect --format '{{.Id}}' "$image" | cut -c1-12))"
fi
# Tests whose subject is the same on arm64 (see docs/arm64.md for the list and why
# the others are left out: run_arch is x86's i386/x32 ABIs).
default_tests="run_events run_exit run_forks run_lifecycle run_nnp run_orphans run_ownfilter run_pty
  run_rules run_sensor_kill run_signals run_threads probes_dns probes_exec probes_file probes_net
  probes_priv probes_sensitive rules_cli sinks_run sinks_check foreign_busybox foreign_scratch"
export VIGIL_VM_ARCH=arm64 VIGIL="$vigil" BUILD_DIR="$build" VIGIL_VM_TIMEOUT=${VIGIL_VM_TIMEOUT:-2400}
# (not exec: the trap removes the copied rootfs afterwards)
bash "$SRC_DIR/tests/vm/kernel61.sh" ${*:-${VIGIL_VM_TESTS:-$default_tests}}
