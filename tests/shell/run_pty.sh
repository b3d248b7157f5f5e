#!/usr/bin/env bash
# vigil run on a terminal: the app reads the tty, ^Z stops the job (the shell
# sees it stopped), fg resumes it, ^C kills it with status 130.
set -euo pipefail
command -v python3 >/dev/null || { echo "python3 missing"; exit 77; }
exec python3 - "$VIGIL" <<'PY'
import json, os, pty, sys, tempfile, time, select

vigil = sys.argv[1]
events = tempfile.mktemp(prefix="vigil-pty-events.")
pid, fd = pty.fork()
if pid == 0:
    os.environ["PS1"] = "PROMPT$ "
    os.environ["TERM"] = "dumb"
    os.execvp("bash", ["bash", "--norc", "--noprofile", "-i"])

buf = b""
def expect(what, timeout=30):
    global buf
    end = time.time() + timeout
    while what.encode() not in buf:
        left = end - time.time()
        if left <= 0:
            sys.exit(f"FAIL: timed out waiting for {what!r}; terminal so far:\n{buf.decode(errors='replace')}")
        r, _, _ = select.select([fd], [], [], left)
        if r:
            try:
                data = os.read(fd, 4096)
            except OSError:
                data = b""
            if not data:
                sys.exit(f"FAIL: terminal closed waiting for {what!r}:\n{buf.decode(errors='replace')}")
            buf += data
    buf = buf[buf.index(what.encode()) + len(what):]

def send(s):
    os.write(fd, s.encode())

expect("PROMPT$ ")
send(f"{vigil} run --events={events} -- sh -c 'echo READY-$((6*7)); exec cat'\n")
expect("READY-42")            # the app runs and owns the terminal
send("hello-tty\n")
expect("hello-tty")           # tty echo
expect("hello-tty")           # cat's output
send("\x1a")                  # ^Z
expect("Stopped")
expect("PROMPT$ ")
send("fg\n")
expect("cat")                 # bash echoes the job it resumes
send("again\n")
expect("again")
expect("again")
send("\x04")                  # EOF: cat exits 0
expect("PROMPT$ ")
send("echo rc=$?\n")
expect("rc=0")
expect("PROMPT$ ")
send(f"{vigil} run -- sh -c 'echo READY-$((7*7)); exec sleep 60'\n")
expect("READY-49")
send("\x03")                  # ^C
expect("PROMPT$ ")
send("echo rc=$?\n")
expect("rc=130")
send("exit\n")
os.waitpid(pid, 0)
sys.path.insert(0, os.environ["SRC_DIR"] + "/tests/shell"); from events_view import events as read_events
execs = [e for e in read_events(events) if e["type"] == "exec"]
os.unlink(events)
assert execs and all(e["process"].get("tty", "").startswith("pts/") for e in execs), execs
assert all(e["process"].get("sid", 0) > 0 for e in execs), execs
print("ok: tty, job control and ^C")
PY
