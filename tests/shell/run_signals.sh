#!/usr/bin/env bash
# Signals sent to vigil reach the app (each one is echoed back by the fixture).
set -euo pipefail
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
"$VIGIL" run -- "$FIXTURES/run_sigrecv" > "$tmp/out" &
vp=$!
for _ in $(seq 100); do grep -q ready "$tmp/out" 2>/dev/null && break; sleep 0.1; done
sigs="HUP INT QUIT USR1 USR2 WINCH CONT ALRM PIPE TSTP"
for s in $sigs; do
  kill -"$s" "$vp"
  n=$(kill -l "$s")
  for _ in $(seq 100); do grep -qx "got $n" "$tmp/out" && break; sleep 0.05; done
  grep -qx "got $n" "$tmp/out" || { echo "FAIL: SIG$s not forwarded"; cat "$tmp/out"; exit 1; }
done
kill -TERM "$vp"
set +e; wait "$vp"; rc=$?; set -e
[ "$rc" = 0 ] || { echo "FAIL: status $rc after SIGTERM, want 0 (the app handles it)"; exit 1; }
grep -qx "got 15" "$tmp/out" || { echo "FAIL: SIGTERM not forwarded"; exit 1; }
echo ok
