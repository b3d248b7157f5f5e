#!/usr/bin/env bash
# A lease on a file the app opens holds no one but that open. In prevent mode
# with a rule that can block opens, vigil performs the opens itself (resolved
# and judged as the caller, then opened with the caller's credentials and the
# fd installed in it: docs/design.md, "A performed call"). The app owns a
# file (or is root: the owner check of F_SETLEASE), takes a write lease on it
# (F_SETLEASE F_WRLCK, SIGIO ignored) and another of its processes opens it:
# that open waits until the holder gives the lease up or
# /proc/sys/fs/lease-break-time (45 s) passes. Until 2026-12-07 vigil's open
# for the caller waited on the tracer's thread, and every trapped call of
# every app process with it (here: a third process's execs and opens, 7.4 s
# for a lease held 8 s). Now vigil tries the open O_NONBLOCK (a lease fails it
# at once) and does the blocking open on a worker thread, which installs the
# fd and answers: only the open that broke the lease waits, as without vigil.
# truncate(2) breaks a lease too (no O_NONBLOCK there): a performed truncate
# of a regular file is made on a worker always.
# Also checked: the waiting open gets the file as asked (O_WRONLY|O_TRUNC, no
# O_NONBLOCK left on it), an open asking O_NONBLOCK itself gets EWOULDBLOCK
# (the kernel's answer), a blocked path is still denied meanwhile, more
# waiting opens than the pool has workers are all answered, and a caller
# killed while its open waits leaves no fd of the file in vigil.
set -euo pipefail
PY=/usr/bin/python3  # not a PATH shim (pyenv): the app under test is python itself
tmp=$(mktemp -d)
vpid=
trap '[ -z "$vpid" ] || kill "$vpid" 2>/dev/null || true; rm -rf "$tmp"' EXIT
hold=8  # seconds the app holds its lease
[ "$(cat /proc/sys/fs/lease-break-time 2>/dev/null || echo 0)" -ge $((hold + 4)) ] \
  || { echo "SKIP: fs.lease-break-time under $((hold + 4)) s"; exit 77; }
echo "old content" >"$tmp/leased"
echo secret >"$tmp/blocked"
cat >"$tmp/block.yaml" <<YAML
- rule: Blocked open
  desc: a rule that can block an open (vigil then performs the opens it allows)
  condition: evt.type in (open, openat, openat2, creat, truncate) and fd.name = $tmp/blocked
  output: blocked open (file=%fd.name)
  priority: WARNING
  action: block
YAML
# (vigil traps opens for writing only: those are the ones here.)
# Only calls vigil does not trap while the lease is held in the holder
# (sleep, fcntl(F_SETLEASE), write to stdout, wait): before the fix, a trapped
# call there would wait for its own lease.
cat >"$tmp/app.py" <<'PY'
import errno, fcntl, os, signal, sys, time
F_SETLEASE = 1024
leased, blocked, hold = sys.argv[1], sys.argv[2], float(sys.argv[3])
signal.signal(signal.SIGIO, signal.SIG_IGN)  # (the lease's break notice: its default action kills)
lease = os.open(leased, os.O_RDONLY)
fcntl.fcntl(lease, F_SETLEASE, fcntl.F_WRLCK)
t0 = time.monotonic()

def say(s):
    os.write(1, (s + "\n").encode())

def child(at, fn):
    pid = os.fork()
    if pid == 0:
        os.close(lease)
        time.sleep(max(0, at - (time.monotonic() - t0)))
        try:
            fn()
        except BaseException as e:
            say(f"{fn.__name__}: {e!r}")
        os._exit(0)
    return pid

def prober():  # trapped calls of a process that has nothing to do with the lease
    longest, n = 0.0, 0
    while time.monotonic() - t0 < hold + 1.5:
        t = time.monotonic()
        pid = os.posix_spawn("/bin/true", ["true"], {})
        os.waitpid(pid, 0)
        os.close(os.open(leased + ".probe", os.O_WRONLY | os.O_CREAT))
        longest, n = max(longest, time.monotonic() - t), n + 1
    say(f"prober: {n} rounds, longest {longest:.2f} s")

def nonblocking():  # asks O_NONBLOCK itself: the kernel's EWOULDBLOCK
    try:
        os.close(os.open(leased, os.O_WRONLY | os.O_NONBLOCK))
        say("nonblocking: opened")
    except OSError as e:
        say(f"nonblocking: {errno.errorcode[e.errno]}")

def writer():  # waits for the lease as it would without vigil, then gets what it asked for
    t = time.monotonic()
    fd = os.open(leased, os.O_WRONLY | os.O_TRUNC)
    fl = fcntl.fcntl(fd, fcntl.F_GETFL)
    os.write(fd, b"new\n")
    say(f"writer: waited {time.monotonic() - t:.2f} s nonblock={int(bool(fl & os.O_NONBLOCK))} "
        f"accmode={fl & os.O_ACCMODE} cloexec={int(bool(fcntl.fcntl(fd, fcntl.F_GETFD) & fcntl.FD_CLOEXEC))}")

def truncater():  # truncate(2) breaks the lease and waits too (to 4 bytes: "new\n" whatever the writer's order)
    t = time.monotonic()
    os.truncate(leased, 4)
    say(f"truncater: waited {time.monotonic() - t:.2f} s")

def victim():  # killed while its open waits (SIGALRM's default action: no kill call, which vigil traps)
    signal.alarm(2)
    os.open(leased, os.O_WRONLY)
    say("victim: opened")

def crowd():  # more waiting opens than the pool has workers (32): the others queue, and all are answered
    pids = []
    for _ in range(40):
        pid = os.fork()
        if pid == 0:
            try:
                os.open(leased, os.O_WRONLY)
                os._exit(0)
            except OSError:
                os._exit(1)
        pids.append(pid)
    say(f"crowd: {sum(os.waitpid(p, 0)[1] == 0 for p in pids)} of 40 opened")

def denied():  # the verdict still applies while an open waits
    t = time.monotonic()
    try:
        os.close(os.open(blocked, os.O_WRONLY))
        say("denied: opened")
    except OSError as e:
        say(f"denied: {errno.errorcode[e.errno]} in {time.monotonic() - t:.2f} s")

kids = [child(0, prober), child(0.3, nonblocking), child(0.6, writer), child(0.6, truncater), child(0.6, victim), child(0.9, crowd), child(1.2, denied)]
time.sleep(3.5)
say("app: waiting")  # (the victim is dead, the writer waits)
time.sleep(hold - (time.monotonic() - t0))
fcntl.fcntl(lease, F_SETLEASE, fcntl.F_UNLCK)
for k in kids:
    os.waitpid(k, 0)
say("app: idle")
time.sleep(1.5)
say("app: done")
PY

"$VIGIL" run --mode=prevent --rules="$tmp/block.yaml" --alerts="file:$tmp/alerts" --spool-dir="$tmp/spool" \
  -- "$PY" "$tmp/app.py" "$tmp/leased" "$tmp/blocked" $hold >"$tmp/out" 2>"$tmp/err" </dev/null &
vpid=$!
# vigil's fds naming the leased file (the test runs as root: it may read vigil's /proc).
held() { { ls -l /proc/$vpid/fd/ 2>/dev/null || true; } | grep -c -- "-> $tmp/leased\$" || true; }
during=- after=-
for _ in $(seq 600); do  # 60 s at most
  [ "$during" != - ] || ! grep -q "^app: waiting" "$tmp/out" || during=$(held)
  [ "$after" != - ] || ! grep -q "^app: idle" "$tmp/out" || { sleep 0.5; after=$(held); }
  kill -0 $vpid 2>/dev/null || break
  sleep 0.1
done
rc=0
if kill -0 $vpid 2>/dev/null; then
  kill $vpid
  rc=timeout
fi
wait $vpid || rc=$?
vpid=
cat "$tmp/out"
[ "$rc" = 0 ] || { cat "$tmp/err"; echo "FAIL: vigil exited $rc"; exit 1; }
echo "vigil's fds of the leased file: $during while the writer waited, $after once it was done"
fail=0
line() { sed -n "s/^$1: //p" "$tmp/out"; }
longest=$(line prober | sed -n 's/.*longest \([0-9.]*\) s$/\1/p')
[ -n "$longest" ] || { echo "FAIL: the prober said nothing"; fail=1; }
[ -z "$longest" ] || "$PY" -c "import sys; sys.exit(float('$longest') >= 2)" ||
  { echo "FAIL: another process's calls waited $longest s for a lease on a file it did not touch"; fail=1; }
[ "$(line nonblocking)" = EAGAIN ] || { echo "FAIL: an O_NONBLOCK open of the leased file: $(line nonblocking)"; fail=1; }
w=$(line writer)
[[ "$w" =~ ^waited\ ([0-9.]+)\ s\ nonblock=0\ accmode=1\ cloexec=1$ ]] ||
  { echo "FAIL: the writer's open: ${w:-nothing}"; fail=1; }
[ -z "${BASH_REMATCH[1]:-}" ] || "$PY" -c "import sys; sys.exit(float('${BASH_REMATCH[1]}') < $hold - 2)" ||
  { echo "FAIL: the writer's open did not wait for the lease (${BASH_REMATCH[1]} s)"; fail=1; }
[[ "$(line truncater)" =~ ^waited\ ([0-9.]+)\ s$ ]] ||
  { echo "FAIL: the truncate: $(line truncater)"; fail=1; }
[ -z "${BASH_REMATCH[1]:-}" ] || "$PY" -c "import sys; sys.exit(float('${BASH_REMATCH[1]}') < $hold - 2)" ||
  { echo "FAIL: the truncate did not wait for the lease (${BASH_REMATCH[1]} s)"; fail=1; }
[ "$(cat "$tmp/leased")" = new ] || { echo "FAIL: the leased file holds $(cat "$tmp/leased")"; fail=1; }
if [[ "$(line denied)" =~ ^EPERM\ in\ ([0-9.]+)\ s$ ]]; then
  "$PY" -c "import sys; sys.exit(float('${BASH_REMATCH[1]}') >= 2)" ||
    { echo "FAIL: the blocked open was answered after ${BASH_REMATCH[1]} s"; fail=1; }
else
  echo "FAIL: the blocked open: $(line denied)"; fail=1
fi
[ "$(line crowd)" = "40 of 40 opened" ] || { echo "FAIL: the crowd: $(line crowd)"; fail=1; }
[ -z "$(line victim)" ] || { echo "FAIL: the victim: $(line victim)"; fail=1; }
grep -q '"vigil.action":"denied".*"rule":"Blocked open"' "$tmp/alerts" || { echo "FAIL: no alert of the blocked open"; fail=1; }
[ "$after" = 0 ] || { echo "FAIL: vigil still holds $after fd(s) of the leased file after its opens ended"; fail=1; }
[ $fail = 0 ] || { cat "$tmp/err"; exit 1; }
echo ok
