#!/usr/bin/env bash
# ctest vm.arm64: vigil's shell tests on arm64 (AWS Graviton's architecture):
# an arm64 cross-build of vigil (scripts/cross-arm64.sh) run in Debian 12's
# arm64 kernel under qemu-system-aarch64 (TCG), with a debootstrapped arm64
# root: tests/vm/kernel61.sh with VIGIL_VM_ARCH=arm64. See docs/arm64.md.
# Opt-in (VIGIL_VM_ARM64=1): the cross build, the arm64 root and the emulated
# run take longer than CI's budget allows.
#   SRC_DIR=... [VIGIL_ARM64_BUILD=DIR] bash tests/vm/arm64.sh [TEST...]
# DIR (default SRC_DIR/build-arm64) is brought up to date first (vigil, the
# rootfs and the test fixtures) if it is a configured build tree.
set -euo pipefail
: "${SRC_DIR:?}"
skip() { echo "skip: $*"; exit 77; }
[ "${VIGIL_VM_ARM64:-0}" = 1 ] ||
  skip "opt-in: VIGIL_VM_ARM64=1 (needs scripts/cross-arm64.sh; the cross build and the emulated arm64 run take ~15-30 min)"
build=${VIGIL_ARM64_BUILD:-$SRC_DIR/build-arm64}
[ -f "$build/CMakeCache.txt" ] || skip "no arm64 build in $build: run scripts/cross-arm64.sh build (as root, once)"
cmake --build "$build" -j"${JOBS:-2}" --target vigil rootfs fixtures >/dev/null ||
  { echo "FAIL: building $build failed"; exit 1; }
# Tests whose subject is the same on arm64 (see docs/arm64.md for the list and why
# the others are left out: run_arch is x86's i386/x32 ABIs).
default_tests="run_events run_exit run_forks run_lifecycle run_nnp run_orphans run_ownfilter run_pty
  run_rules run_sensor_kill run_signals run_threads probes_dns probes_exec probes_file probes_net
  probes_priv probes_sensitive rules_cli sinks_run sinks_check foreign_busybox foreign_scratch"
export VIGIL_VM_ARCH=arm64 VIGIL="$build/vigil" BUILD_DIR="$build" VIGIL_VM_TIMEOUT=${VIGIL_VM_TIMEOUT:-2400}
exec bash "$SRC_DIR/tests/vm/kernel61.sh" ${*:-${VIGIL_VM_TESTS:-$default_tests}}
