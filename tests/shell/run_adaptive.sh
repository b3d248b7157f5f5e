#!/usr/bin/env bash
# The adaptive filter (docs/design-probes.md "Which rows are trapped"): a
# syscall no loaded rule reads and no event sink asked for is not trapped at
# all (the count of notifications vigil serviced shows it), a rule on it
# brings it in (trapped, alerted), --events brings every row; `vigil
# syscalls` says which rows and why; exit_group only with --exit-codes=exact.
set -euo pipefail
fail() { echo "FAIL: $*" >&2; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
n=300
cat > "$tmp/exec.yaml" <<'Y'
- rule: shell
  desc: a shell runs
  condition: evt.type = execve and proc.name = sh
  output: shell %proc.cmdline
  priority: NOTICE
Y
cat "$tmp/exec.yaml" - > "$tmp/unlink.yaml" <<'Y'
- rule: file removed
  desc: a file is removed
  condition: evt.type in (unlink, unlinkat)
  output: removed %fd.name
  priority: NOTICE
Y
# One process removing n files: n unlink calls (python's os.unlink).
app() {
  rm -rf "$tmp/d"; mkdir "$tmp/d"; (cd "$tmp/d" && seq -f 'f%g' 1 $n | xargs touch)
  "$VIGIL" run --trace=info "$@" -- /usr/bin/python3 -c '
import os, sys
d = sys.argv[1]
for f in os.listdir(d): os.unlink(os.path.join(d, f))' "$tmp/d" 2> "$tmp/log"
  [ -z "$(ls "$tmp/d")" ] || fail "the app did not remove its files"
}
stops() { sed -n 's/.* \([0-9][0-9]*\) notifications and ptrace stops serviced.*/\1/p' "$tmp/log"; }

app --rules="$tmp/exec.yaml" --alerts="file:$tmp/alerts0"
s0=$(stops); [ -n "$s0" ] || fail "no notification count logged: $(cat "$tmp/log")"
[ "$s0" -lt 100 ] || fail "unlink trapped without a rule on it: $s0 notifications for $n unlinks"
grep -q "trapped: .* of .* syscalls: " "$tmp/log" || fail "--trace=info did not log the trapped set"
! grep -q "trapped: .*unlink" "$tmp/log" || fail "unlink listed as trapped: $(grep trapped: "$tmp/log")"
! grep -q '"file removed"' "$tmp/alerts0" || fail "alert without the rule"

app --rules="$tmp/unlink.yaml" --alerts="file:$tmp/alerts1"
s1=$(stops)
[ "$s1" -ge "$n" ] || fail "unlink not trapped with a rule on it: $s1 notifications for $n unlinks"
[ "$(grep -c '"rule":"file removed"' "$tmp/alerts1" || true)" -ge 1 ] || fail "no alert of the unlink rule: $(head -c 500 "$tmp/alerts1")"

# An event sink: every row, whatever the rules.
app --rules="$tmp/exec.yaml" --events="$tmp/ev"
[ "$(stops)" -ge "$n" ] || fail "unlink not trapped with --events"
[ "$(grep -c '"type":"unlink' "$tmp/ev")" -ge "$n" ] || fail "unlink events missing with --events"

# A rule without evt.type: every row, said at info.
printf -- '- rule: any sh\n  desc: d\n  condition: proc.name = nosuchprog\n  output: o\n  priority: NOTICE\n' > "$tmp/any.yaml"
app --rules="$tmp/any.yaml"
[ "$(stops)" -ge "$n" ] || fail "unlink not trapped under a rule without evt.type"
grep -q "rules without an evt.type condition (rule 'any sh')" "$tmp/log" || fail "no info line about the rule without evt.type"

# The filter before the rules' compile (wrapper/run.cpp rows_before_rules):
# installed at once for the default rules (the build's files, byte for byte)
# and with an event sink; other rules wait for their compile.
early="filter installed before the rules were compiled"
"$VIGIL" run --trace=debug -- /bin/true 2> "$tmp/log" || fail "default rules: $(cat "$tmp/log")"
grep -q "$early: the default rules" "$tmp/log" || fail "default rules: filter not installed early: $(grep startup "$tmp/log")"
"$VIGIL" run --trace=debug --rules="$tmp/exec.yaml" --events="$tmp/ev2" -- /bin/true 2> "$tmp/log"
grep -q "$early: an event sink" "$tmp/log" || fail "--events: filter not installed early: $(grep startup "$tmp/log")"
"$VIGIL" run --trace=debug --rules="$tmp/exec.yaml" -- /bin/true 2> "$tmp/log"
! grep -q "$early" "$tmp/log" || fail "other rules: filter installed before their compile"
# Rules taken for the default ones (a test knob) that need a row the default
# rules leave out (mkdir): the app's process is replaced by one with their
# filter before it runs anything; their alert comes.
printf -- '- rule: dir made\n  desc: d\n  condition: evt.type in (mkdir, mkdirat)\n  output: made %%fd.name\n  priority: NOTICE\n' > "$tmp/mkdir.yaml"
rm -rf "$tmp/newdir" "$tmp/alerts2"
VIGIL_TEST_RULES_AS_DEFAULT=1 "$VIGIL" run --trace=debug --rules="$tmp/mkdir.yaml" --alerts="file:$tmp/alerts2" \
  -- /bin/mkdir "$tmp/newdir" 2> "$tmp/log" || fail "mkdir under rules taken for the default: $(cat "$tmp/log")"
grep -q "$early: the default rules" "$tmp/log" || fail "knob: filter not installed early"
grep -q "forked again with their own filter" "$tmp/log" || fail "no re-fork for rows the early filter lacks: $(cat "$tmp/log")"
[ -d "$tmp/newdir" ] || fail "the app did not run after the re-fork"
grep -q '"rule":"dir made"' "$tmp/alerts2" || fail "no mkdir alert after the re-fork: $(cat "$tmp/alerts2" 2>/dev/null)"
# ... and rules that fail to compile after the early install: exit 2, the app never ran.
printf -- '- rule: broken\n  desc: d\n  condition: evt.type = execve and (\n  output: o\n  priority: NOTICE\n' > "$tmp/broken.yaml"
set +e
VIGIL_TEST_RULES_AS_DEFAULT=1 timeout 20 "$VIGIL" run --rules="$tmp/broken.yaml" -- /bin/touch "$tmp/ran" 2> "$tmp/e"; rc=$?
set -e
[ "$rc" = 2 ] && grep -q "vigil run: rules: .*broken.yaml" "$tmp/e" || fail "broken rules after an early install: rc $rc $(cat "$tmp/e")"
[ ! -e "$tmp/ran" ] || fail "the app ran although the rules failed to load"

# vigil syscalls: the same choice, with reasons.
"$VIGIL" syscalls --rules="$tmp/unlink.yaml" > "$tmp/sys"
grep -Eq "^  unlinkat +rule 'file removed'$" "$tmp/sys" || fail "vigil syscalls: $(cat "$tmp/sys")"
grep -Eq "^  execve +process identity \(always\)$" "$tmp/sys" || fail "vigil syscalls: no execve"
grep -Eq "^  kill +sensor guard \(always\)$" "$tmp/sys" || fail "vigil syscalls: no guard row"
grep -q "^not trapped.* exit_group" "$tmp/sys" || fail "exit_group trapped by default: $(cat "$tmp/sys")"
# (Each listing goes to a file first: grep -q stops reading at its match, and
# vigil, still writing a listing over 4 KiB, would die of SIGPIPE under pipefail.)
"$VIGIL" syscalls --rules="$tmp/unlink.yaml" --exit-codes=exact > "$tmp/sys"
grep -Eq "^  exit_group +--exit-codes=exact$" "$tmp/sys" ||
  fail "--exit-codes=exact does not trap exit_group"
"$VIGIL" syscalls --rules="$tmp/exec.yaml" --events=stderr > "$tmp/sys"
grep -Eq "^  unlinkat +events sink$" "$tmp/sys" ||
  fail "--events does not trap every row"
set +e; "$VIGIL" syscalls --rules="$tmp/nonexistent.yaml" 2> "$tmp/e"; rc=$?; set -e
[ "$rc" = 2 ] && grep -q "vigil syscalls: rules:" "$tmp/e" || fail "bad rules: rc $rc $(cat "$tmp/e")"
# --bpf=FILE: the program of that choice (8-byte sock_filter instructions); bad file names: a clear error.
"$VIGIL" syscalls --rules="$tmp/unlink.yaml" --bpf="$tmp/f.bpf" > "$tmp/sys"
grep -Eq "^filter: [0-9]+ instructions written to $tmp/f.bpf$" "$tmp/sys" ||
  fail "--bpf: no filter written"
n=$(grep -E "^filter: " <("$VIGIL" syscalls --rules="$tmp/unlink.yaml" --bpf="$tmp/f.bpf") | cut -d' ' -f2)
[ "$(stat -c %s "$tmp/f.bpf")" = $((n * 8)) ] || fail "--bpf: $(stat -c %s "$tmp/f.bpf") bytes for $n instructions"
for bad in "--bpf=$tmp/no/such/dir/f.bpf" "--bpf="; do
  set +e; "$VIGIL" syscalls --rules="$tmp/unlink.yaml" "$bad" > /dev/null 2> "$tmp/e"; rc=$?; set -e
  [ "$rc" = 2 ] && grep -q "vigil syscalls: --bpf" "$tmp/e" || fail "$bad: rc $rc $(cat "$tmp/e")"
done
echo ok
