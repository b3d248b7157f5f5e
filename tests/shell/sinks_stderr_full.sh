#!/usr/bin/env bash
# stderr shared with the app (the log driver's pipe): the app sets O_NONBLOCK
# on that open file (its own fd 2, one file with vigil's) and fills the pipe,
# then raises alerts. vigil's stderr sink waits for room (poll) instead of
# spinning on EAGAIN: its CPU time while the reader is away stays small, and
# every alert line arrives once the reader drains the pipe.
set -euo pipefail
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/rules.yaml" <<'YAML'
- rule: marker opened
  desc: d
  condition: evt.type in (open, openat) and fd.name endswith /marker
  output: marker opened (file=%fd.name)
  priority: WARNING
YAML
cat > "$tmp/app.py" <<'PY'
import fcntl, os, sys, time
fl = fcntl.fcntl(2, fcntl.F_GETFL)
fcntl.fcntl(2, fcntl.F_SETFL, fl | os.O_NONBLOCK)
try:
    while True:
        os.write(2, b"x" * 4096)
except BlockingIOError:
    pass
for i in range(5):
    open(sys.argv[1], "w").close()
time.sleep(1.5)
PY
python3 - "$VIGIL" "$tmp" <<'PY'
import os, resource, subprocess, sys, time
vigil, tmp = sys.argv[1], sys.argv[2]
p = subprocess.Popen([vigil, "run", "--rules=" + tmp + "/rules.yaml", "--alerts=stderr", "--", "python3",
                      tmp + "/app.py", tmp + "/marker"], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL)
time.sleep(2.5)  # the reader away: the app filled the pipe, raised its alerts and slept
err = p.stderr.read()
p.wait()
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
cpu = ru.ru_utime + ru.ru_stime
import json
alerts = 0  # repeats of a rule are summed up in a later line (output_fields vigil.count)
for line in err.split(b"\n"):
    start = line.find(b"{")
    if start < 0 or b"marker opened" not in line:
        continue
    alerts += json.loads(line[start:])["output_fields"]["vigil.count"]
print(f"cpu={cpu:.2f}s alerts={alerts} rc={p.returncode}")
if p.returncode != 0:
    sys.exit("FAIL: vigil or the app failed")
if alerts < 5:
    sys.exit(f"FAIL: {alerts} of 5 alerts reached stderr")
# app: ~0.1 s (python's start and the writes); a spinning sink: ~2 s of the 2.5.
if cpu > 1.0:
    sys.exit(f"FAIL: {cpu:.2f} s of CPU while stderr was full: the sink spins on EAGAIN")
print("ok")
PY
