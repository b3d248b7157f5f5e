#!/usr/bin/env bash
# The app runs under no_new_privs: a setuid-root binary run by an unprivileged
# user does not gain root (docs/design.md, "no_new_privs").
set -euo pipefail
command -v setpriv >/dev/null || { echo "setpriv (util-linux) missing"; exit 77; }
tmp=$(mktemp -d "${BUILD_DIR:-/tmp}/nnp.XXXXXX"); trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp"
cp /usr/bin/id "$tmp/id"; chmod 4755 "$tmp/id"
as_nobody=(setpriv --reuid=65534 --regid=65534 --clear-groups "$tmp/id" -u)
native=$("${as_nobody[@]}")
[ "$native" = 0 ] || { echo "setuid bit not honoured here natively (nosuid mount?): skipping"; exit 77; }
under=$("$VIGIL" run -- "${as_nobody[@]}")
[ "$under" = 65534 ] || { echo "FAIL: setuid binary under vigil gave euid $under, want 65534"; exit 1; }
# vigil itself run by an unprivileged user (a task definition's "user":
# "10001"): it cannot drop CAP_SYS_PTRACE from a bounding set (no CAP_SETPCAP)
# and must still run the app, which holds no capability and gains none.
chmod 755 "$tmp"
unpriv=(setpriv --reuid=10001 --regid=10001 --clear-groups)
out=$("${unpriv[@]}" "$VIGIL" run -- /bin/sh -c 'echo hello; grep ^CapPrm /proc/self/status' 2>"$tmp/err") || {
  echo "FAIL: vigil run as uid 10001 exited $?:"; cat "$tmp/err"; exit 1; }
[ "$(printf '%s\n' "$out" | head -1)" = hello ] || { echo "FAIL: app output '$out'"; exit 1; }
printf '%s\n' "$out" | grep -q 'CapPrm:.*0000000000000000' || { echo "FAIL: app holds capabilities: $out"; exit 1; }
under=$("${unpriv[@]}" "$VIGIL" run -- "$tmp/id" -u)
[ "$under" = 10001 ] || { echo "FAIL: setuid binary under an unprivileged vigil gave euid $under, want 10001"; exit 1; }
echo ok
