#!/usr/bin/env bash
# An exec's SHA-256 is of the bytes the kernel runs (docs/design.md, "Exec
# verification", "the target's bytes pinned"). tests/fixtures/exec_rewrite.c
# execs a file while a thread rewrites it in place (same inode, same size)
# between /bin/true's bytes and /bin/false's: a child's exit code says which
# ran. Before 2026-12-07 vigil hashed the file, answered, and the kernel
# opened it a moment later: 76 of 305 execs that ran were reported with the
# other program's hash (detect mode), so a known-bad binary could run under a
# benign hash ("Threat intel malicious file executed" missed, hunting by hash
# misled). Now vigil holds a read lease on the file from before its read
# until the kernel has it (the writer's open waits), so each reported hash
# is of what ran. Detect mode (the lazy check ends the hold), prevent mode
# with a rule that can block an exec (the exec stop ends it), and prevent
# mode with a rule that can block an open (vigil performs the writer's opens:
# one of a pinned file is answered ETXTBSY; waiting on vigil's own lease would
# hold every trapped call for fs.lease-break-time, 45 s each).
source "$(dirname "$0")/lib.bash"
fx="$FIXTURES/exec_rewrite"
[ "$(stat -c %s /bin/true)" = "$(stat -c %s /bin/false)" ] || { echo "SKIP: /bin/true and /bin/false differ in size"; exit 77; }
cat >"$tmp/block.yaml" <<'YAML'
- rule: exec block
  desc: d
  condition: evt.type in (execve, execveat) and proc.name = no-such-program
  output: exec block (command=%proc.cmdline)
  priority: WARNING
  action: block
YAML
cat >"$tmp/open.yaml" <<'YAML'
- rule: open block
  desc: d
  condition: evt.type in (open, openat) and fd.name = /no-such-file
  output: open block (file=%fd.name)
  priority: WARNING
  action: block
YAML
true_hash=$(sha256sum /bin/true | cut -d' ' -f1)
false_hash=$(sha256sum /bin/false | cut -d' ' -f1)
for mode in detect prevent performed; do
  opts=()
  [ $mode = prevent ] && opts=(--mode=prevent --rules="$SRC_DIR/rules/default/vigil_rules.yaml" --rules="$tmp/block.yaml")
  [ $mode = performed ] && opts=(--mode=prevent --rules="$tmp/open.yaml")
  timeout 200 "$VIGIL" run "${opts[@]}" --events="file:$tmp/$mode.events" --alerts="file:$tmp/$mode.alerts" -- \
    "$fx" "$tmp/target-$mode" /bin/true /bin/false 300 >"$tmp/$mode.out" 2>"$tmp/$mode.err" </dev/null ||
    fail "$mode: the run failed: $(tail -3 "$tmp/$mode.err")"
  python3 - "$tmp/$mode.out" "$tmp/$mode.events" "$true_hash" "$false_hash" <<'PY' || fail "$mode: an exec reported with another content's hash"
import collections, json, sys
ran = dict(tuple(map(int, l.split())) for l in open(sys.argv[1]))
want = {0: sys.argv[3], 1: sys.argv[4]}
seen, wrong = collections.Counter(), []
for line in open(sys.argv[2]):
    e = json.loads(line)
    if e["metadata"]["event_code"] != "exec":
        continue
    p = e.get("process") or {}
    code = ran.get(p.get("pid"))
    if code not in want:
        continue  # not a child of the fixture, or its exec failed (127)
    hashes = [h["value"] for h in p.get("file", {}).get("hashes", [])]
    seen[code] += 1
    if hashes != [want[code]]:
        wrong.append((p.get("pid"), code, hashes, e.get("unmapped", {}).get("args")))
print("%s: ran /bin/true %d, /bin/false %d times; %d reported with another hash (or none)"
      % (sys.argv[1].rsplit("/", 1)[-1].split(".")[0], seen[0], seen[1], len(wrong)))
assert seen[0] >= 20 and seen[1] >= 20, "too few execs ran each content: %s" % dict(seen)
assert not wrong, wrong[:3]
PY
done
# A memfd counts no writers: its creator can rewrite it through its own fd at
# any time, so its hash is flagged unless it is sealed against writes.
cat >"$tmp/memfd.py" <<'PY'
import fcntl, os, sys
seal = sys.argv[1] == "sealed"
fd = os.memfd_create("m-" + sys.argv[1], os.MFD_ALLOW_SEALING if seal else 0)
os.write(fd, open("/bin/true", "rb").read())
if seal:
    fcntl.fcntl(fd, fcntl.F_ADD_SEALS, fcntl.F_SEAL_WRITE | fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW)
os.execv("/proc/self/fd/%d" % fd, ["m"])
PY
for kind in open sealed; do
  "$VIGIL" run --events="file:$tmp/memfd-$kind.events" --alerts=file:/dev/null -- python3 "$tmp/memfd.py" $kind \
    2>"$tmp/memfd-$kind.err" </dev/null || fail "memfd $kind: the run failed: $(tail -3 "$tmp/memfd-$kind.err")"
  python3 - "$tmp/memfd-$kind.events" $kind <<'PY' || fail "memfd $kind: its hash flagged wrongly"
import json, sys
ex = [e for e in map(json.loads, open(sys.argv[1])) if e["metadata"]["event_code"] == "exec"
      and e["process"]["file"]["path"].startswith("/memfd:m-")]
assert len(ex) == 1, ex
flag = (ex[0].get("unmapped", {}).get("args") or {}).get("hash_unpinned")
print("memfd %s: hash_unpinned = %s" % (sys.argv[2], flag))
assert (flag is not None) == (sys.argv[2] == "open"), flag
PY
done
finish
