# Shared by tests/shell/sinks_*.sh (sourced). Sets $t (a temporary directory,
# removed at exit with every collector started); $out is the file that has()
# and lacks() search and fail() shows.
set -euo pipefail
: "${VIGIL:?}" "${SRC_DIR:?}"
t=$(mktemp -d)
out=$t/out
pids=()
cleanup() { for p in "${pids[@]}"; do { kill -9 "$p"; wait "$p"; } 2>/dev/null || true; done; rm -rf "$t"; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; echo "--- output:" >&2; cat "$out" >&2 || true; exit 1; }
has() { grep -qF -- "$1" "$out" || fail "output lacks '$1'"; }
lacks() { ! grep -qF -- "$1" "$out" || fail "output shows '$1'"; }
collector() {  # collector NAME [args...]: starts tests/sinks/collector.py, its port is in $t/NAME.port
  local name=$1; shift
  python3 "$SRC_DIR/tests/sinks/collector.py" --port-file "$t/$name.port" --lifetime 200 "$@" >/dev/null 2>&1 &
  pids+=($!)
  for _ in $(seq 400); do [ -f "$t/$name.port" ] && return 0; sleep 0.05; done
  fail "collector $name did not start"
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
