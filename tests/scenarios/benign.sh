#!/usr/bin/env bash
# Benign workloads under the default ruleset, in detect and in prevent mode:
# they succeed (nothing blocked) and no alert of priority Warning or above
# fires (each offending alert is printed).
source "$(dirname "$0")/lib.bash"

export HOME="$T/home" GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@example.com GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@example.com
mkdir -p "$HOME"
bad=0
# benign NAME CMD...: runs CMD under vigil (detect, default rules); it must succeed quietly.
benign() {
  local name=$1; shift
  vrun "$MODE" -- "$@"
  [ "$RC" = 0 ] || { echo "--- $name ($MODE) stderr:"; tail -20 "$T/err"; fail "$name: workload failed (status $RC)"; }
  local loud
  loud=$(alerts | awk -F'|' '$3 ~ /^(Emergency|Alert|Critical|Error|Warning)$/')
  if [ -n "$loud" ]; then
    echo "FAIL: $name ($MODE) raised alerts:" >&2
    grep -E '"priority":"(Emergency|Alert|Critical|Error|Warning)"' "$T/alerts" >&2
    bad=1
  else
    echo "$name ($MODE): clean"
  fi
}

# The workloads, in a fresh directory W.
workloads() {
# a small C project built with make -j2 (only built: running a binary made
# after the container started is what "Drifted binary executed" reports)
mkdir -p "$W/cproj"
for i in 1 2 3 4; do printf 'int f%d(int x) { return x * %d; }\n' "$i" "$i" >"$W/cproj/f$i.c"; done
printf 'int f1(int);int f2(int);int f3(int);int f4(int);\nint main(void){return f1(1)+f2(1)+f3(1)+f4(1)-10;}\n' >"$W/cproj/main.c"
printf 'OBJS=main.o f1.o f2.o f3.o f4.o\napp: $(OBJS)\n\t$(CC) -o $@ $(OBJS)\n%%.o: %%.c\n\t$(CC) -O1 -c -o $@ $<\n' >"$W/cproj/Makefile"
benign c-build make -s -j2 -C "$W/cproj"

# a git workflow
benign git /bin/sh -c 'set -e; cd "$0"; git init -q -b main repo; cd repo; echo a >a; git add a; git commit -qm one
  git checkout -qb topic; echo b >b; git add b; git commit -qm two; git checkout -q main
  git merge -q --no-edit topic; git log --oneline >/dev/null; git branch -d topic >/dev/null' "$W"

# python file I/O
benign python-io "$PY" -c 'import os, json, sys, tempfile
d = tempfile.mkdtemp(dir=sys.argv[1])
for i in range(200):  # new files, updated atomically (temp file renamed over), read, removed
    p = os.path.join(d, f"f{i}.json")
    with open(p, "w") as f: json.dump({"i": i}, f)
    with open(p + ".tmp", "w") as f: json.dump({"i": i, "v": 2}, f)
    os.replace(p + ".tmp", p)
    with open(p) as f: assert json.load(f)["v"] == 2
for i in range(200): os.unlink(os.path.join(d, f"f{i}.json"))
os.rmdir(d)' "$W"

# an HTTP server under a short bounded loopback load
benign http-server /bin/sh -c '"$0" -m http.server 0 --bind 127.0.0.1 --directory "$1" >"$1/http.log" 2>&1 &
  srv=$!
  "$0" - "$1" <<PY
import re, sys, time, urllib.request
port = None
for _ in range(600):  # 60 s: python starts slowly under TCG (vm.kernel61)
    m = re.search(r"port (\d+)", open(sys.argv[1] + "/http.log").read())
    if m: port = int(m.group(1)); break
    time.sleep(0.1)
assert port, "server did not start"
end = time.time() + 3
n = 0
while time.time() < end:
    urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10).read(); n += 1
assert n > 0
PY
  rc=$?; kill $srv; wait $srv 2>/dev/null; exit $rc' "$PY" "$W"

# tar/gzip round trip
benign tar-gzip /bin/sh -c 'set -e; cd "$0"; mkdir -p src out; seq 1 20000 >src/data; tar -czf a.tgz src
  tar -xzf a.tgz -C out; cmp src/data out/src/data; gzip -k src/data; gunzip -c src/data.gz | cmp - src/data' "$W"

# a python venv
benign venv /bin/sh -c 'set -e; "$0" -m venv --without-pip "$1/venv"; "$1/venv/bin/python" -c "import sys; assert sys.prefix != sys.base_prefix"' "$PY" "$W"
}

for MODE in detect prevent; do
  W="$T/$MODE"
  mkdir -p "$W"
  workloads
done

[ $bad = 0 ] || fail "benign workloads raised alerts"
echo ok
