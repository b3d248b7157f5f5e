#!/usr/bin/env bash
# The SHA-256 of what an exec runs is computed where the exec waits only when
# a verdict on that exec can act (prevent mode with a rule that can block an
# exec: threat intel on hashes, proc.sha256 in a block rule's condition);
# else the exec is answered first and hashed after (probes/probes.hpp
# DecodeContext::exec_hash_later): a 40 MB binary's ~30 ms are then not in
# the app's start. Its events carry the hash either way, the exec's and the
# ones after it (the process's). VIGIL_TEST_HASH_DELAY_MS makes each hash
# 600 ms longer, so that the difference cannot be noise: the app (static: its
# own exec is its only trapped call) prints when it starts.
set -euo pipefail
: "${VIGIL:?}" "${FIXTURES:?}"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
prog="$FIXTURES/exec_clock"
if ldd "$prog" >/dev/null 2>&1; then
  echo "SKIP: $prog is not static (no libc.a at build time: install libc6-dev)"; exit 77
fi
cp "$prog" "$tmp/clock"  # (a file of its own: nothing is cached)
want=$(sha256sum "$tmp/clock" | cut -d' ' -f1)
cat > "$tmp/block.yaml" <<'YAML'
- rule: no netcat
  desc: a block rule on exec (the exec's verdict can act)
  condition: evt.type = execve and proc.name = nc
  output: netcat (command=%proc.cmdline)
  priority: WARNING
  action: block
- rule: clock started
  desc: an alert on the app's exec, with the hash in its output
  condition: evt.type = execve and proc.name = clock
  output: clock started (hash=%proc.sha256)
  priority: NOTICE
YAML
delay=600
for run in detect prevent; do
  start=$(date +%s%N)
  VIGIL_TEST_HASH_DELAY_MS=$delay "$VIGIL" run --mode=$run --rules="$tmp/block.yaml" --events="$tmp/ev.$run" \
    --alerts="file:$tmp/al.$run" -- "$tmp/clock" > "$tmp/out.$run" || fail "$run: the run failed"
  waited=$(( ($(cat "$tmp/out.$run") - start) / 1000000 ))
  echo "$run: the app started $waited ms after vigil run"
  if [ $run = detect ]; then
    [ $waited -lt $((delay / 2)) ] || fail "detect: the app waited $waited ms: its exec waited for its hash"
  else
    [ $waited -ge $delay ] || fail "prevent: the app started after $waited ms: its exec was answered before its hash"
  fi
  python3 - "$tmp/ev.$run" "$tmp/al.$run" "$want" <<'PY' || fail "$run: the hash in the events or the alert"
import json, sys
want = sys.argv[3]
ev = [json.loads(l) for l in open(sys.argv[1])]
mine = [e for e in ev if e.get("actor", {}).get("process", {}).get("file", {}).get("name") == "clock"]
assert mine, "no event of the app"
launch = [e for e in mine if e.get("activity_name") == "Launch"]
assert len(launch) == 1, [e.get("activity_name") for e in mine]
for e in mine:  # the exec's event and every later one of the process
    hashes = e["actor"]["process"]["file"].get("hashes", [])
    assert [h["value"] for h in hashes] == [want], (e.get("activity_name"), hashes)
al = [json.loads(l) for l in open(sys.argv[2])]
started = [a for a in al if a["rule"] == "clock started"]
assert len(started) == 1 and started[0]["output_fields"]["proc.sha256"] == want, started
assert started[0]["output"].endswith("clock started (hash=%s)" % want), started
PY
done
echo ok
