#!/usr/bin/env bash
# A lease on an exec target holds no one but its own exec: vigil reads an
# exec's target (its "#!" line, its SHA-256) on its tracer thread, opening it
# again for reading. The app owns the file (or is root: the owner check of
# F_SETLEASE), takes a write lease on it (F_SETLEASE F_WRLCK, SIGIO ignored)
# and execs it: any other open of the file waits until the holder gives the
# lease up or /proc/sys/fs/lease-break-time (45 s) passes. Before 2026-12-07
# vigil's open waited, and every trapped call of the app (here: another
# process's exec) with it, 45 s an exec, as often as the app liked. Now vigil
# opens it O_NONBLOCK (a lease break then fails at once, EWOULDBLOCK): the
# target is left unread (judged on the image the kernel loads), and only the
# exec that broke the lease waits, as it would without vigil.
set -euo pipefail
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
[ "$(cat /proc/sys/fs/lease-break-time 2>/dev/null || echo 0)" -ge 10 ] \
  || { echo "SKIP: fs.lease-break-time under 10 s"; exit 77; }
cp /bin/true "$tmp/leased"
cat > "$tmp/block.yaml" <<'YAML'
- rule: no netcat
  desc: a rule that can block an exec (its target is read before the answer)
  condition: evt.type in (execve, execveat) and proc.name = nc
  output: nc (cmd=%proc.cmdline)
  priority: WARNING
  action: block
YAML
cat > "$tmp/app.py" <<'PY'
import fcntl, os, signal, subprocess, sys, time
signal.signal(signal.SIGIO, signal.SIG_IGN)  # (the lease's break notice: default action is to die)
target = sys.argv[1]
fd = os.open(target, os.O_RDONLY)
fcntl.fcntl(fd, 1024, fcntl.F_WRLCK)  # F_SETLEASE
pid = os.fork()
if pid == 0:
    os.close(fd)  # (the parent's close then ends the lease)
    try:
        os.execv(target, ["leased"])  # waits for the lease to go (the kernel's open), as without vigil
    except OSError as e:
        print(f"child: {e}", flush=True)
    os._exit(0)
time.sleep(0.5)
t = time.monotonic()
subprocess.run(["/bin/true"])
print(f"app: another exec took {time.monotonic() - t:.2f} s", flush=True)
os.close(fd)  # the lease goes: the child's exec runs
os.waitpid(pid, 0)
PY
fail=0
for mode in detect prevent; do
  rules=/dev/null; [ $mode = prevent ] && rules=$tmp/block.yaml
  rc=0
  timeout 120 "$VIGIL" run --mode=$mode --rules=$rules --alerts=file:$tmp/alerts -- python3 "$tmp/app.py" "$tmp/leased" \
    >"$tmp/out" 2>"$tmp/err" || rc=$?
  cat "$tmp/out"
  [ $rc = 0 ] || { cat "$tmp/err"; echo "FAIL ($mode): vigil exited $rc"; fail=1; continue; }
  took=$(sed -n 's/^app: another exec took \([0-9.]*\) s$/\1/p' "$tmp/out")
  [ -n "$took" ] || { echo "FAIL ($mode): the app said nothing"; fail=1; continue; }
  python3 -c "import sys; sys.exit(float('$took') > 5)" \
    || { echo "FAIL ($mode): another process's exec waited $took s for the lease on a file it did not touch"; fail=1; }
done
[ $fail = 0 ] || exit 1
echo ok
