#!/usr/bin/env bash
# Privilege and kernel-surface events (issue 3), and the BPF argument checks
# that keep kill(pid, 0), tkill(SIGURG) and prctl(PR_GET_NAME) out.
set -euo pipefail
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
timeout 120 "$VIGIL" run --events="$tmp/ev" -- "$FIXTURES/probes_priv" >/dev/null
python3 - "$tmp/ev" <<'PY'
import json, sys
import os as _os; sys.path.insert(0, _os.environ["SRC_DIR"] + "/tests/shell"); from events_view import events, view
ev = events(sys.argv[1])
by = {}
for e in ev:
    by.setdefault(e["type"], []).append(e)
def one(t, **args):
    for e in by.get(t, []):
        if all(e.get("args", {}).get(k) == v for k, v in args.items()):
            assert e["class_uid"] == 1007, e
            return e
    raise AssertionError("no %s %s in %s" % (t, args, [x.get("args") for x in by.get(t, [])]))
for t in ("setuid", "setgid", "setfsuid", "setfsgid"):
    one(t)
one("setreuid", ruid="-1", euid="-1")
one("setregid", rgid="-1", egid="-1")
one("setresuid", ruid="-1", euid="-1", suid="-1")
one("setresgid", sgid="-1")
one("capset")
one("prctl", option="PR_SET_NAME", name="kworker/0:1")
one("prctl", option="PR_SET_DUMPABLE")
assert len(by["prctl"]) == 2, by["prctl"]                     # PR_GET_NAME is not traced
# The child only pause()s: it makes no notified syscall, so it has no fork
# event (docs/design.md section 1); the kill names it.
child = int([e for e in ev if e["type"] == "kill"][0]["args"]["pid"])
assert child != ev[0]["process"]["pid"], child
one("ptrace", request="PTRACE_ATTACH", pid=str(child))
one("process_vm_writev")
one("kill", pid=str(child), sig="15", signal="SIGTERM")
assert len(by["kill"]) == 1, by["kill"]                       # kill(pid, 0) is not traced
assert "tkill" not in by, by.get("tkill")                     # SIGURG is not traced
one("tgkill", sig="17")
one("pidfd_send_signal", sig="17", pid=str(ev[0]["process"]["pid"]))
one("init_module"); one("finit_module"); one("delete_module", name="vigil_no_such_module")
one("bpf", cmd="BPF_PROG_LOAD"); one("userfaultfd"); one("io_uring_setup", entries="1")
one("unshare", flags="CLONE_NEWUTS"); one("setns")
PY
echo ok
