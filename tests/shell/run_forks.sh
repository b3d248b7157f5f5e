#!/usr/bin/env bash
# fork, vfork, posix_spawn, clone3 each give one fork event (a thread gives
# none), with exec and exit events for the children; also when a thread other
# than the main one forks, and for clone3 with exit signal 0 or CLONE_UNTRACED.
# A new process is learnt at its first notified syscall (exec, exit_group, ...),
# so each is seen however it was created. --exit-codes=exact: exit_group is
# trapped (the children that do not exec make no other notified call;
# without it they are not reported, docs/design.md section 1).
set -euo pipefail
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
timeout 60 "$VIGIL" run --exit-codes=exact --events="$tmp/ev" -- "$FIXTURES/run_forks" > "$tmp/out"
python3 - "$tmp/ev" "$tmp/out" <<'PY'
import json, sys
import os as _os; sys.path.insert(0, _os.environ["SRC_DIR"] + "/tests/shell"); from events_view import events, view
ev = events(sys.argv[1])
kids = {}
main = None
for line in open(sys.argv[2]):
    w = line.split()
    if w[0] == "main":
        main = int(w[1])
    elif w[1].isdigit():
        kids[w[0]] = (int(w[1]), int(w[2]))
assert set(kids) == {"fork", "vfork", "posix_spawn", "clone3", "thread_fork", "thread_spawn", "clone_nosig",
                     "untraced"}, kids
forks = [e for e in ev if e["type"] == "fork"]
assert sorted(e["child_pid"] for e in forks) == sorted(p for p, _ in kids.values()), (forks, kids)
for e in forks:
    assert e["process"]["pid"] == main, e
for kind, (pid, code) in kids.items():
    exits = [e for e in ev if e["type"] == "exit" and e["process"]["pid"] == pid]
    assert len(exits) == 1 and exits[0]["exit"] == {"code": code}, (kind, exits)
    execs = [e for e in ev if e["type"] == "exec" and e["process"]["pid"] == pid]
    want = 0 if kind in ("fork", "clone3", "thread_fork") else 1
    assert len(execs) == want, (kind, execs)
    for x in execs:
        assert x["process"]["exe"].endswith("/true") and x["process"]["ppid"] == main, x
        assert x["process"]["parent"]["pid"] == main, x
seqs = [e["seq"] for e in ev]
assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs), seqs
assert ev[-1]["type"] == "exit" and ev[-1]["process"]["pid"] == main
PY
echo ok
