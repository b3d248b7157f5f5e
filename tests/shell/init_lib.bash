# Helpers sourced by tests/shell/init_*.sh and foreign_*.sh (not a test itself).
set -euo pipefail
: "${VIGIL:?run through ctest (VIGIL, BUILD_DIR, FIXTURES, SRC_DIR)}" "${BUILD_DIR:?}"
ROOTFS=$BUILD_DIR/rootfs
[ -f "$ROOTFS/MANIFEST" ] || { echo "FAIL: $ROOTFS/MANIFEST missing: build the rootfs target (cmake --build build)" >&2; exit 1; }
LOADER_NAME=$(cd "$ROOTFS/lib64" && ls ld-linux-*.so.* | head -n1)  # x86-64 or aarch64
T=$(mktemp -d /tmp/vigil-test.XXXXXX)
cleanup() { chmod -R u+w "$T" 2>/dev/null || true; rm -rf "$T"; }
trap cleanup EXIT

die() { echo "FAIL: $*" >&2; exit 1; }
need_root() { [ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root (mount namespaces, chroot)"; exit 77; }; }

# flip_byte FILE [OFFSET]: invert one byte in place (keeps the size).
flip_byte() {
  python3 - "$1" "${2:-100}" <<'PY'
import sys
p, off = sys.argv[1], int(sys.argv[2])
with open(p, "r+b") as f:
    f.seek(off); b = f.read(1); f.seek(off); f.write(bytes([b[0] ^ 0xff]))
PY
}

# snapshot DIR: one line per entry (path, type, mode, inode, size, content hash).
snapshot() {
  (cd "$1" && find . -printf '%p %y %m %i %s\n' | sort && find . -type f -exec sha256sum {} + | sort)
}

# check_installed DIR: DIR/rootfs matches build/rootfs's MANIFEST, every file
# hashes right, is a=rX (0444/0555; dirs 0555), and nothing else is there.
check_installed() {
  local r=$1/rootfs
  cmp -s "$r/MANIFEST" "$ROOTFS/MANIFEST" || die "$r/MANIFEST differs from $ROOTFS/MANIFEST"
  (cd "$r" && grep -v '^#' MANIFEST | sha256sum -c --quiet) || die "$r does not match its MANIFEST"
  local listed actual
  listed=$( (grep -v '^#' "$r/MANIFEST" | awk '{print $2}'; echo MANIFEST) | sort)
  actual=$(cd "$r" && find . -type f -printf '%P\n' | sort)
  [ "$listed" = "$actual" ] || die "files in $r differ from its MANIFEST: $(diff <(echo "$listed") <(echo "$actual") | tr '\n' ' ')"
  local bad
  bad=$(find "$r" \( -type d ! -perm 0555 \) -o \( -type f ! -perm 0444 ! -perm 0555 \) -o \( ! -type f ! -type d \))
  [ -z "$bad" ] || die "not a=rX (or not a file/dir): $bad"
  [ -x "$r/lib64/$LOADER_NAME" ] && [ -x "$r/bin/vigil" ] || die "loader or bin/vigil not executable in $r"
  ! ls -d "$1"/.rootfs.* 2>/dev/null || die "staging leftovers in $1"
}

# one_line_error FILE PATTERN: FILE holds exactly one line, "vigil init: ...PATTERN..."
one_line_error() {
  [ "$(wc -l <"$1")" -eq 1 ] || die "expected one error line, got: $(cat "$1")"
  grep -q "^vigil init: .*$2" "$1" || die "expected 'vigil init: ...$2...', got: $(cat "$1")"
}
