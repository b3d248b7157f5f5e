#!/usr/bin/env bash
# The address vigil judged is the address connected to (docs/threat-model.md,
# "Connect"): a thread rewriting the sockaddr between 127.0.0.2 (allowed) and
# 127.0.0.3 (blocked) never gets a connection to 127.0.0.3 in prevent mode:
# vigil connects the app's socket itself with the copy it judged. Detect mode
# (no emulation: nothing can be blocked) and the results of the emulated
# connect (EINPROGRESS, ECONNREFUSED, SO_SNDTIMEO's timeout) are checked too,
# and a hanging connect does not hold the others (it waits on a worker).
source "$(dirname "$0")/lib.bash"
TRIES=${EXECNET_TRIES:-400}

cat >"$tmp/rules.yaml" <<'YAML'
- rule: Blocked address
  desc: d
  condition: evt.type = connect and fd.sip = 127.0.0.3
  output: connect to a blocked address (connection=%fd.name)
  priority: CRITICAL
  action: block
YAML
port=$(( 20000 + RANDOM % 20000 ))
for mode in detect prevent; do
  "$VIGIL" run --mode=$mode --rules="$tmp/rules.yaml" --alerts="file:$tmp/al.$mode" -- \
    "$FIXTURES/execnet_race" connect $port "$TRIES" >"$tmp/out" 2>"$tmp/err" || fail "$mode: vigil run failed: $(tail -5 "$tmp/err")"
  cat "$tmp/out"
  grep -q '^nonblocking=EINPROGRESS$' "$tmp/out" || fail "$mode: a non-blocking connect did not give EINPROGRESS"
  grep -q '^refused=ECONNREFUSED$' "$tmp/out" || fail "$mode: a connect to no listener did not give ECONNREFUSED"
  grep -q '^timeout=EINPROGRESS ' "$tmp/out" || fail "$mode: a connect with SO_SNDTIMEO did not time out with EINPROGRESS"
  grep -q ' side_done_before=1$' "$tmp/out" || fail "$mode: other connects waited for a hanging one"
  line=$(grep '^ok2=' "$tmp/out") || fail "$mode: no result"
  eval "${line// / ; }"
  [ "$other" = 0 ] || fail "$mode: $other connects failed otherwise"
  [ "$ok2" -gt 0 ] || fail "$mode: no connect to the allowed address succeeded"
  if [ $mode = prevent ]; then
    [ "$ok3" = 0 ] || fail "prevent: $ok3 connections reached the blocked address"
    [ "$denied" -gt 0 ] || fail "prevent: no connect was denied (the race did not run)"
  else
    [ "$denied" = 0 ] || fail "detect: $denied connects denied"
  fi
  port=$((port + 3))
done
finish
