#!/usr/bin/env bash
# The app cannot pose as a collector vigil delivers to on loopback
# (docs/threat-model.md, sensor/guard.hpp protect_sinks): with an HTTP sink
# on 127.0.0.1:PORT or localhost:PORT and no collector listening yet (a
# sidecar not up, or restarting), an app process bound there would take
# vigil's alerts and answer 200: lost without a word. Every bind onto that
# port (the address, ::1, a wildcard, IPv4-mapped, AF_UNSPEC) is denied in
# both modes with the Critical "Sensor tamper attempt"; a thread rewriting the
# address or swapping the socket at the fd after vigil's read never gets it
# (tests/fixtures/sink_bind.c race); the app's own binds still work, AF_UNIX
# socket files included (made where the app's path says, with its umask).
# Runs in a network namespace of its own.
if [ "$(id -u)" -ne 0 ] || ! unshare -n true 2>/dev/null || ! command -v ip >/dev/null; then
  echo "skip: needs root, unshare -n and ip (iproute2)"
  exit 77
fi
if [ -z "${SINK_BIND_INNER:-}" ]; then exec env SINK_BIND_INNER=1 unshare -n bash "$0" "$@"; fi
source "$(dirname "$0")/lib.bash"
ip link set lo up
PORT=28801
F="$FIXTURES/sink_bind"

for sink in "http://127.0.0.1:$PORT/" "falcosidekick+http://localhost:$PORT/"; do
  for mode in detect prevent; do
    rm -f "$tmp/al"
    timeout 120 "$VIGIL" run --mode=$mode --spool-dir="$tmp/spool" --alerts="$sink" --alerts="file:$tmp/al" \
      -- "$F" direct $PORT >"$tmp/out" 2>"$tmp/err" || fail "$sink $mode: vigil run failed: $(tail -5 "$tmp/err")"
    # (localhost is 127.0.0.1 and ::1 for libcurl; 127.0.0.1 leaves ::1 to the app)
    denied="127.0.0.1 0.0.0.0 :: ::ffff:127.0.0.1 unspec:0.0.0.0" free="::1 other-port"
    [[ $sink == *localhost* ]] && denied="$denied ::1" free=other-port
    for a in $denied; do
      grep -qx "$a 1" "$tmp/out" || fail "$sink $mode: bind $a:$PORT not denied (EPERM): $(grep "^$a " "$tmp/out")"
    done
    for a in $free; do
      grep -qx "$a 0" "$tmp/out" || fail "$sink $mode: bind $a failed: $(cat "$tmp/out")"
    done
    n=$(grep -c '"rule":"Sensor tamper attempt"' "$tmp/al" || true)
    [ "$n" = "$(wc -w <<<"$denied")" ] || fail "$sink $mode: $n tamper alerts for $(wc -w <<<"$denied") binds: $(head -c 1500 "$tmp/al")"
    grep -q "the app would receive its records" "$tmp/al" || fail "$sink $mode: the alert does not say why"
    echo "$sink $mode: $(tr '\n' ' ' <"$tmp/out")"
  done
done

# A thread rewrites the address (PORT+1 <-> PORT, an AF_UNIX name) and swaps
# an AF_INET and an AF_UNIX socket at the fd while bind waits for vigil.
for mode in detect prevent; do
  timeout 300 "$VIGIL" run --mode=$mode --spool-dir="$tmp/spool" --alerts="http://127.0.0.1:$PORT/" \
    --alerts="file:$tmp/al.race" -- "$F" race $PORT "${EXECNET_TRIES:-1000}" >"$tmp/out" 2>"$tmp/err" ||
    fail "race $mode: $(cat "$tmp/out") $(tail -3 "$tmp/err")"
  echo "race $mode: $(cat "$tmp/out")"
done

# The app's own server: TCP, and an AF_UNIX socket file by a relative path
# (made in the app's cwd, mode from the app's umask 077, the app's owner).
mkdir "$tmp/cwd" && chown 65534:65534 "$tmp/cwd"
(cd "$tmp/cwd" && timeout 120 "$VIGIL" run --spool-dir="$tmp/spool" --alerts="http://localhost:$PORT/" -- \
  setpriv --reuid=65534 --regid=65534 --clear-groups "$F" serve $PORT app.sock) >"$tmp/out" 2>"$tmp/err" ||
  fail "serve: $(cat "$tmp/out") $(tail -3 "$tmp/err")"
grep -qx "tcp ok" "$tmp/out" || fail "serve: the app's TCP server: $(cat "$tmp/out")"
grep -qx "unix ok mode 700 uid 65534" "$tmp/out" || fail "serve: the app's socket file: $(cat "$tmp/out")"
grep -qx "unix again 98" "$tmp/out" || fail "serve: a second bind of the same path is not EADDRINUSE: $(cat "$tmp/out")"
[ -S "$tmp/cwd/app.sock" ] || fail "serve: no socket file in the app's cwd"
echo "serve: $(tr '\n' ' ' <"$tmp/out")"

# A real server (Python's, dual-stack on ::) under the guard: its binds performed by vigil.
timeout 120 "$VIGIL" run --spool-dir="$tmp/spool" --alerts="http://localhost:$PORT/" -- python3 -c '
import http.server, socket, sys, threading, urllib.request
class S(http.server.ThreadingHTTPServer):
    address_family = socket.AF_INET6
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.end_headers(); self.wfile.write(b"served")
    def log_message(self, *a): pass
srv = S(("::", int(sys.argv[1])), H)
threading.Thread(target=srv.serve_forever, daemon=True).start()
print(urllib.request.urlopen("http://127.0.0.1:%s/" % sys.argv[1], timeout=10).read().decode())
' $((PORT + 2)) >"$tmp/out" 2>"$tmp/err" || fail "python server: $(tail -3 "$tmp/err")"
grep -qx served "$tmp/out" || fail "python server: $(cat "$tmp/out") $(tail -3 "$tmp/err")"

# No sink on loopback: bind is not trapped for the guard (vigil syscalls says why when it is).
"$VIGIL" syscalls --alerts="http://127.0.0.1:$PORT/" >"$tmp/sys" 2>&1
grep -Eq "^ +bind +sensor guard \(an HTTP sink on loopback" "$tmp/sys" || fail "vigil syscalls does not say why bind is trapped: $(grep bind "$tmp/sys")"
"$VIGIL" syscalls --alerts="https://collector.example:$PORT/" >"$tmp/sys" 2>&1
if grep -Eq "^ +bind " "$tmp/sys"; then fail "bind trapped without a sink on loopback"; fi
finish
