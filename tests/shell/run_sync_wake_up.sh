#!/usr/bin/env bash
# VIGIL_NO_SYNC_WAKE_UP=1 (bench and tests: behave as on kernels before 6.6)
# keeps vigil from setting SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP, says so at
# --trace=info, and changes nothing the app sees.
set -euo pipefail
: "${VIGIL:?}"
fail() { echo "FAIL: $*" >&2; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
out=$(VIGIL_NO_SYNC_WAKE_UP=1 timeout 60 "$VIGIL" run --trace=debug -- /bin/sh -c 'echo hi; exit 3' 2>"$tmp/off") && rc=0 || rc=$?
[ "$rc" = 3 ] && [ "$out" = hi ] || fail "app under VIGIL_NO_SYNC_WAKE_UP=1: rc=$rc out=$out"
grep -q 'SYNC_WAKE_UP not set: VIGIL_NO_SYNC_WAKE_UP=1' "$tmp/off" || fail "no info line: $(cat "$tmp/off")"
! grep -q 'SYNC_WAKE_UP, Linux 6.6+' "$tmp/off" || fail "the flag was set anyway: $(cat "$tmp/off")"
VIGIL_NO_SYNC_WAKE_UP=1 timeout 60 "$VIGIL" run --trace=warn -- /bin/true 2>"$tmp/warn"
! grep -q 'SYNC_WAKE_UP' "$tmp/warn" || fail "logged below --trace=info: $(cat "$tmp/warn")"
# Without the switch the flag is set where the kernel has it (6.6+).
VIGIL_NO_SYNC_WAKE_UP=0 timeout 60 "$VIGIL" run --trace=debug -- /bin/true 2>"$tmp/on"
! grep -q 'SYNC_WAKE_UP not set' "$tmp/on" || fail "only =1 turns it off: $(cat "$tmp/on")"
if grep -q 'SYNC_WAKE_UP, Linux 6.6+' "$tmp/on"; then echo ok; else
  echo "skip: this kernel ($(uname -r)) has no SYNC_WAKE_UP; only the switch's off side was checked"; exit 77; fi
