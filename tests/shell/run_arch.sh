#!/usr/bin/env bash
# Other syscall ABIs do not slip past the filter: an i386 execve through
# int $0x80 is traced like a 64-bit one; x32 syscalls fail with ENOSYS.
# The i386 part needs ia32 emulation in the kernel (probed natively first): without it
# the rest runs and the test reports a skip (77) with the reason.
set -euo pipefail
[ "$(uname -m)" = x86_64 ] || { echo "SKIP: $(uname -m) has no i386 or x32 ABI (docs/arm64.md)"; exit 77; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
ia32_off=""
ia32_off=$("$FIXTURES/run_arch" ia32) || [ -n "$ia32_off" ] || { echo "FAIL: ia32 probe failed"; exit 1; }
if [ -z "$ia32_off" ]; then
  out=$(timeout 60 "$VIGIL" run --events="$tmp/ev" -- "$FIXTURES/run_arch" int80)
  [ "$out" = via-int80 ] || { echo "FAIL: int80 execve under vigil printed: $out"; exit 1; }
  python3 - "$tmp/ev" <<'PY'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
execs = [e["process"]["args"] for e in ev if e["type"] == "exec"]
assert ["echo", "via-int80"] in execs, execs
PY
fi
out=$(timeout 60 "$VIGIL" run -- "$FIXTURES/run_arch" x32)
[ "$out" = "x32 getpid: Function not implemented" ] || { echo "FAIL: x32 syscall: $out"; exit 1; }
[ -z "$ia32_off" ] || { echo "SKIP (x32 part passed): $ia32_off"; exit 77; }
echo ok
