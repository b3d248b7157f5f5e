#!/usr/bin/env bash
# vigil run with network sinks: events reach a loopback collector (same ids as
# the file sink), --trace=info diagnostics, a dead collector does not hold the
# app (bounded flush, the spool is sent by the next run), SIGTERM, bad URLs.
source "$SRC_DIR/tests/sinks/lib.sh"
ids() { python3 -c 'import json,sys; print("\n".join(sorted({json.loads(l)["metadata"]["uid"] for l in open(sys.argv[1]) if l.strip() and json.loads(l)["unmapped"]["type"] != "stats"})))' "$1"; }
app=(sh -c 'for i in 1 2 3 4 5; do /bin/true; done; exit 3')

# 1. Events to a collector and to a file: the same records, and diagnostics.
collector up --out "$t/up.ndjson" --requests "$t/up.req"
port=$(cat "$t/up.port")
rc=0
VIGIL_OPTS="--trace=info --spool-dir=$t/spool" timeout 60 "$VIGIL" run --events="http://127.0.0.1:$port/ingest" \
  --events="$t/ev.json" -- "${app[@]}" 2>"$out" || rc=$?
[ "$rc" = 3 ] || fail "app exit status $rc, expected 3"
has "config: events -> http://127.0.0.1:$port/ingest, $t/ev.json"
has "kernel: seccomp actions"
has "DNS: 127.0.0.1 -> 127.0.0.1"
has "TCP: connected to 127.0.0.1 port $port"
has "delivery summary"
[ "$(ids "$t/ev.json" | wc -l)" -ge 6 ] || fail "too few events in the file sink"
[ "$(ids "$t/ev.json")" = "$(ids "$t/up.ndjson")" ] || fail "collector and file got different event ids"

# 2. A dead collector: the app's exit is not held beyond --flush-timeout; what
#    was not delivered stays in the spool and the next run sends it.
dead=$(free_port)
start=$(date +%s)
rc=0
timeout 60 "$VIGIL" run --events="http://127.0.0.1:$dead/" --flush-timeout=1s --spool-dir="$t/spool2" \
  --events="$t/ev2.json" -- "${app[@]}" 2>"$out" || rc=$?
[ "$rc" = 3 ] || fail "app exit status $rc with a dead collector, expected 3"
[ $(( $(date +%s) - start )) -lt 30 ] || fail "vigil held the exit for $(( $(date +%s) - start )) s with a dead collector"
has "kept in spool $t/spool2"
collector back --port "$dead" --out "$t/back.ndjson"
rc=0
timeout 60 "$VIGIL" run --events="http://127.0.0.1:$dead/" --spool-dir="$t/spool2" -- /bin/true 2>"$out" || rc=$?
[ "$rc" = 0 ] || fail "second run exit $rc"
for id in $(ids "$t/ev2.json"); do grep -qF "\"uid\":\"$id\"" "$t/back.ndjson" || fail "event $id of the first run never arrived"; done

# 3. A slow collector (3 s per request) and SIGTERM: vigil exits within the
#    flush timeout, with the app's status.
collector slow --delay 3 --out "$t/slow.ndjson"
sport=$(cat "$t/slow.port")
timeout 60 "$VIGIL" run --events="http://127.0.0.1:$sport/" --flush-timeout=2s --spool-dir="$t/spool3" \
  -- sh -c 'for i in 1 2 3; do /bin/true; done; exec sleep 30' 2>"$out" &
vpid=$!
sleep 1
start=$(date +%s)
kill -TERM "$vpid"
rc=0
wait "$vpid" || rc=$?
[ $(( $(date +%s) - start )) -lt 20 ] || fail "vigil took $(( $(date +%s) - start )) s to exit after SIGTERM"
[ "$rc" = 143 ] || fail "exit status after SIGTERM: $rc, expected 143"

# 4. A resolver that never answers (in a network namespace of our own) does
#    not hold vigil's exit beyond --flush-timeout, even while the --trace=info
#    DNS check is still waiting.
if unshare -mn true 2>/dev/null; then
  echo "nameserver 127.0.0.1" >"$t/resolv.conf"
  rc=0
  timeout 60 unshare -mn sh -c "mount --bind '$t/resolv.conf' /etc/resolv.conf &&
    { python3 '$SRC_DIR/tests/sinks/dns_blackhole.py' --ready '$t/dns.ready' --lifetime 40 & } &&
    for i in \$(seq 100); do [ -f '$t/dns.ready' ] && break; sleep 0.1; done &&
    start=\$(date +%s%N) &&
    '$VIGIL' run --trace=info --flush-timeout=1s --spool-dir='$t/spool4' --events=https://collector.example.internal/ -- /bin/true &&
    echo elapsed_ms=\$(( (\$(date +%s%N) - start) / 1000000 ))" >"$out" 2>&1 || rc=$?
  [ "$rc" = 0 ] || fail "vigil run with a silent resolver: exit $rc"
  ms=$(sed -n 's/^elapsed_ms=//p' "$out")
  [ -n "$ms" ] && [ "$ms" -lt 8000 ] || fail "vigil run took ${ms:-?} ms with a silent resolver (flush timeout 1 s; glibc's DNS timeout is 5 s x 2)"
  has "kept in spool $t/spool4"
  echo "silent resolver: vigil run exited after $ms ms" >&2
else
  echo "note: unshare -mn not permitted, silent-resolver case not run" >&2
fi

# 5. Malformed sinks fail at start with one clear line.
rc=0
"$VIGIL" run --events=http:// -- /bin/true 2>"$out" || rc=$?
[ "$rc" != 0 ] || fail "a malformed URL was accepted"
[ "$(wc -l <"$out")" = 1 ] || fail "a malformed URL must give one line"
has "--events: invalid sink URL"
rc=0
VIGIL_OPTS="--alerts=file:$t/a.json,max_files=x" "$VIGIL" run -- /bin/true 2>"$out" || rc=$?
[ "$rc" != 0 ] || fail "a malformed file option was accepted"
has "VIGIL_OPTS: --alerts: invalid file sink option 'max_files=x'"
# 6. The periodic stats record carries the tracer's stop rate.
"$VIGIL" run --stats-interval=1s --events="$t/stats.json" -- sh -c 'sleep 1.5; ls / >/dev/null; true' >/dev/null
python3 - "$t/stats.json" <<'PY' || fail "no stats record with a tracer stop rate"
import json, sys
stats = [json.loads(l)["unmapped"]["stats"] for l in open(sys.argv[1]) if '"type":"stats"' in l]
assert stats and all(isinstance(s["tracer_stops_per_sec"], (int, float)) for s in stats), stats
PY
echo "sinks_run: ok"
