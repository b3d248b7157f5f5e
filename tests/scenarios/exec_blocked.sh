#!/usr/bin/env bash
# A blocked exec never runs: the caller gets EPERM and continues; a kill rule kills.
source "$(dirname "$0")/lib.bash"
cat >"$T/payload" <<SH
#!/bin/sh
touch "$T/ran"
SH
chmod +x "$T/payload"
block=$(rules_file block "- rule: Payload run
  desc: test
  condition: evt.type in (execve, execveat) and proc.name = payload
  output: payload run (%proc.exepath)
  priority: CRITICAL
  action: block")
script='"$0" 2>"$1.err"; echo "rc=$?" >"$1.caller"'
# detect: alert, binary runs
vrun detect --rules="$block" -- /bin/sh -c "$script" "$T/payload" "$T/c"
[ -e "$T/ran" ] || fail "detect mode: payload did not run"
expect_alert "Payload run" none
rm -f "$T/ran"
# prevent: EPERM to the caller, which continues; the binary never ran
vrun prevent --rules="$block" -- /bin/sh -c "$script" "$T/payload" "$T/c"
[ ! -e "$T/ran" ] || fail "prevent mode: the blocked binary ran"
grep -q "rc=126" "$T/c.caller" || fail "caller did not continue with exec failure: $(cat "$T/c.caller" 2>&1)"
grep -qi "not permitted" "$T/c.err" || fail "caller did not see EPERM: $(cat "$T/c.err")"
expect_alert "Payload run" denied
# kill action: the calling process is killed before the binary runs
kill_rules=$(rules_file kill "$(sed 's/action: block/action: kill/' "$block")")
vrun prevent --rules="$kill_rules" -- /bin/sh -c '/bin/sh -c "exec \"\$0\"" "$0"; echo "after=$?" >"$1.caller"' "$T/payload" "$T/k"
[ ! -e "$T/ran" ] || fail "kill action: the binary ran"
grep -q "after=137" "$T/k.caller" || fail "kill action: process not SIGKILLed: $(cat "$T/k.caller" 2>&1)"
expect_alert "Payload run" killed
# a block rule on the executable's SHA-256: the hash is known at the execve
# entry too, so the exec is denied like any other (the binary never runs)
cp /bin/touch "$T/hashed"
sha=$(sha256sum "$T/hashed" | cut -d' ' -f1)
hash_rules=$(rules_file hash "- rule: Known bad hash
  desc: test
  condition: evt.type in (execve, execveat) and proc.sha256 = $sha
  output: bad hash (%proc.exepath)
  priority: CRITICAL
  action: block")
vrun prevent --rules="$hash_rules" -- /bin/sh -c '"$0" "$1"; echo "rc=$?" >"$2"' "$T/hashed" "$T/hash-ran" "$T/h.caller"
[ ! -e "$T/hash-ran" ] || fail "hash block: the binary ran"
grep -q "rc=126" "$T/h.caller" || fail "hash block: exec not denied: $(cat "$T/h.caller" 2>&1)"
expect_alert "Known bad hash" denied
echo ok
