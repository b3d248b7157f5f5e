#!/usr/bin/env bash
# An exec of a file that reads without end holds no one: vigil hashes an exec's
# target (SHA-256, files up to 64 MB by their size) on its tracer thread. A
# pseudo-file says it is empty and reads on: /proc/self/pagemap is a regular
# file of size 0 that reads 8 bytes for every page of the caller's address
# space (256 GB for a live process). Its exec fails (EACCES: not executable),
# but vigil hashed it first: before 2026-12-07 the tracer read it for minutes,
# and every trapped call of the app (here: another process's exec) waited that
# long; in detect mode too, where the hash is taken after the answer. Now a
# hash reads no more than the size the file had: one that reads longer is not
# hashed.
set -euo pipefail
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/block.yaml" <<'YAML'
- rule: no netcat
  desc: a rule that can block an exec (its target is hashed before the answer)
  condition: evt.type in (execve, execveat) and proc.name = nc
  output: nc (cmd=%proc.cmdline)
  priority: WARNING
  action: block
YAML
cat > "$tmp/app.py" <<'PY'
import os, subprocess, time
t = time.monotonic()
try:
    os.execv("/proc/self/pagemap", ["pagemap"])
except OSError as e:
    print(f"app: exec of pagemap: {e.strerror} after {time.monotonic() - t:.2f} s", flush=True)
t = time.monotonic()
subprocess.run(["true"])
print(f"app: the next exec took {time.monotonic() - t:.2f} s", flush=True)
PY
fail=0
for mode in detect prevent; do
  rules=/dev/null; [ $mode = prevent ] && rules=$tmp/block.yaml
  start=$(date +%s%N)
  rc=0
  timeout 60 "$VIGIL" run --mode=$mode --rules=$rules --events=file:$tmp/events.$mode --alerts=file:$tmp/alerts \
    -- python3 "$tmp/app.py" >"$tmp/out" 2>"$tmp/err" || rc=$?
  took=$(( ($(date +%s%N) - start) / 1000000 ))
  cat "$tmp/out"
  if [ $rc = 124 ]; then echo "FAIL ($mode): the app was held for 60 s and more (vigil killed by timeout)"; fail=1; continue; fi
  [ $rc = 0 ] || { cat "$tmp/err"; echo "FAIL ($mode): vigil exited $rc"; fail=1; continue; }
  python3 - "$took" "$tmp/out" <<'PY' || fail=1
import re, sys
took = int(sys.argv[1]) / 1000
out = open(sys.argv[2]).read()
m = re.search(r"the next exec took ([0-9.]+) s", out)
if not m or float(m.group(1)) > 5 or took > 15:
    sys.exit(f"FAIL: the app was held ({took:.1f} s in all)")
PY
  grep -q '/proc/[0-9]*/pagemap' "$tmp/events.$mode" \
    || { echo "FAIL ($mode): the exec of pagemap was not reported"; fail=1; }
done
[ $fail = 0 ] || exit 1
echo ok
