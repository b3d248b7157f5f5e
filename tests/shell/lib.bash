# Shared preamble of the attack tests (tests/shell/execnet_*.sh, netrace.sh):
# a temporary directory removed at exit, and fail() that stops at the first
# failure, or with EXECNET_ALL=1 goes on to the other attacks (a report of
# each; the script then ends with `finish`).
set -euo pipefail
: "${VIGIL:?}" "${FIXTURES:?}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed=0
fail() {
  echo "FAIL: $*" >&2
  failed=1
  [ -n "${EXECNET_ALL:-}" ] || exit 1
}
finish() {
  [ $failed = 0 ] || exit 1
  echo ok
}
