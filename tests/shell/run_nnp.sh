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
echo ok
