#!/usr/bin/env bash
# The benign corpus: ordinary container workloads (builds, package installs,
# log rotation, schedulers, health checks, database and TLS clients,
# supervisors), each under the default ruleset in detect mode: it must succeed
# and raise nothing of priority Warning or above (every blocking default rule
# is Warning or above, so nothing here would be blocked in prevent mode
# either). Near misses of the attack corpus (tests/scenarios/attacks.sh) are
# marked "near miss". Runs in fresh mount and network namespaces with only
# loopback up; /var/log is a tmpfs there.
if [ -z "${VIGIL_SCN_NS:-}" ]; then
  if ! unshare -mn true 2>/dev/null; then echo "SKIP: benign corpus needs mount and network namespaces (root)"; exit 0; fi
  VIGIL_SCN_NS=1 exec unshare -mn --propagation private bash "$0" "$@"
fi
source "$(dirname "$0")/lib.bash"
private_network
mount -t tmpfs tmpfs /var/log
# rustup finds its toolchains through HOME: keep them when HOME moves
export RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}" CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}"
export HOME="$T/home" GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@example.com GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@example.com
export W="$T/w" CARGO_NET_OFFLINE=true npm_config_offline=true npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false
mkdir -p "$HOME" "$W"
bad=0 n=0
# benign NAME CMD...: runs CMD under vigil (detect, default rules); it must succeed quietly.
benign() {
  local name=$1 loud; shift
  vrun detect -- "$@"
  [ "$RC" = 0 ] || { echo "--- $name stderr:"; tail -20 "$T/err"; bad=1; echo "FAIL: $name: workload failed (status $RC)" >&2; return; }
  loud=$(alerts | awk -F'|' '$3 ~ /^(Emergency|Alert|Critical|Error|Warning)$/')
  if [ -n "$loud" ]; then
    echo "FAIL: $name raised alerts:" >&2
    grep -E '"priority":"(Emergency|Alert|Critical|Error|Warning)"' "$T/alerts" >&2
    bad=1
  else
    n=$((n + 1)); echo "$name: clean"
  fi
}
# sh_ NAME SCRIPT [ARGS...]: SCRIPT run by /bin/sh -e in $W, ARGS as $0, $1, ...
sh_() { local name=$1 script=$2; shift 2; benign "$name" /bin/sh -c "set -e; cd \"\$W\"; $script" "$@"; }

# A loopback HTTP server (health checks, TLS below has its own).
mkdir -p "$W/www" && echo ok >"$W/www/health"
"$PY" -m http.server 0 --bind 0.0.0.0 --directory "$W/www" >"$T/http.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; rm -rf "$T"' EXIT
for _ in $(seq 100); do grep -q "port" "$T/http.log" 2>/dev/null && break; sleep 0.1; done
export PORT; PORT=$(sed -n 's/.*port \([0-9]*\).*/\1/p' "$T/http.log" | head -1)

# --- builds (the drift trap: a test step runs what the build just linked)
mkdir -p "$W/c"
printf 'int add(int a, int b) { return a + b; }\n' >"$W/c/lib.c"
printf 'int add(int, int);\nint main(void) { return add(2, 2) != 4; }\n' >"$W/c/main.c"
printf 'all: app\napp: main.o lib.o\n\t$(CC) -o $@ $^\n%%.o: %%.c\n\t$(CC) -O1 -c -o $@ $<\ncheck: app\n\t./app\n' >"$W/c/Makefile"
benign c-make-check make -s -C "$W/c" check
sh_ c-cc-and-run 'printf "#include <stdio.h>\nint main(void){puts(\"hi\");return 0;}\n" >hello.c; cc -o hello hello.c; ./hello >/dev/null'
sh_ c-shared-lib 'mkdir -p so; cd so; printf "int v(void){return 7;}\n" >v.c; printf "int v(void);\nint main(void){return v()!=7;}\n" >m.c
  cc -shared -fPIC -o libv.so v.c; cc -o m m.c -L. -lv; LD_LIBRARY_PATH=. ./m'
for tool in cargo go npm; do command -v $tool >/dev/null || fail "$tool is missing (bash scripts/deps.sh installs it)"; done
sh_ rust-cargo-test 'cargo new -q --vcs none rs; cd rs; printf "#[test]\nfn t() { assert_eq!(2 + 2, 4); }\n" >>src/main.rs
    cargo build -q --offline; cargo run -q --offline >/dev/null; cargo test -q --offline >/dev/null'
sh_ go-build-run 'mkdir -p gop; cd gop; printf "package main\nfunc main() {}\n" >main.go; GOFLAGS=-mod=mod GOCACHE="$W/gocache" go mod init x >/dev/null 2>&1
    GOCACHE="$W/gocache" go build -o app .; ./app'
sh_ node-npm-test 'mkdir -p nd/lib; cd nd; printf "{\"name\":\"nd\",\"version\":\"1.0.0\",\"scripts\":{\"test\":\"node t.js\",\"build\":\"node build.js\"}}\n" >package.json
  printf "require(\"fs\").writeFileSync(\"lib/out.js\", \"module.exports = 4;\")\n" >build.js
  printf "if (require(\"./lib/out.js\") !== 4) process.exit(1)\n" >t.js; npm run -s build; npm test -s >/dev/null'
sh_ python-compileall-unittest 'mkdir -p py/pkg; cd py; printf "def f():\n    return 4\n" >pkg/__init__.py
  printf "import unittest, pkg\nclass T(unittest.TestCase):\n    def test(self): self.assertEqual(pkg.f(), 4)\n" >test_pkg.py
  "$0" -m compileall -q pkg; "$0" -m unittest -q test_pkg 2>/dev/null' "$PY"
# --- package installs at run time (language: a notice at most)
sh_ pip-install-local 'mkdir -p pp/src/hello; cd pp; printf "[project]\nname = \"hello\"\nversion = \"1.0\"\n[build-system]\nrequires = [\"setuptools\"]\nbuild-backend = \"setuptools.build_meta\"\n" >pyproject.toml
  : >src/hello/__init__.py; "$0" -m venv venv; venv/bin/python -m pip install -q --no-index --no-build-isolation --no-deps . 2>/dev/null \
    || venv/bin/python -m pip --version >/dev/null' "$PY"
sh_ npm-install-local 'mkdir -p dep app; cd dep; printf "{\"name\":\"dep\",\"version\":\"1.0.0\",\"main\":\"i.js\"}\n" >package.json; echo "module.exports=1" >i.js
  cd ../app; printf "{\"name\":\"app\",\"version\":\"1.0.0\"}\n" >package.json; npm install -s ../dep >/dev/null; node -e "require(\"dep\")"
  ls node_modules/.bin >/dev/null 2>&1 || true'
# --- logs: an app rotating its own logs, a rotate-then-gzip shell job (near miss of log clearing)
benign python-rotating-log "$PY" -c 'import logging, logging.handlers, os
os.makedirs("/var/log/app", exist_ok=True)
h = logging.handlers.RotatingFileHandler("/var/log/app/app.log", maxBytes=2000, backupCount=3)
log = logging.getLogger("a"); log.addHandler(h); log.setLevel(logging.INFO)
for i in range(400): log.info("request %d served in 3 ms", i)'
sh_ rotate-rename-gzip 'mkdir -p /var/log/svc; seq 1 5000 >/var/log/svc/svc.log
  for i in 1 2 3; do mv /var/log/svc/svc.log /var/log/svc/svc.log.1; gzip -f /var/log/svc/svc.log.1
    mv /var/log/svc/svc.log.1.gz /var/log/svc/svc.log.$((i + 1)).gz; seq 1 100 >/var/log/svc/svc.log; done
  ls /var/log/svc/svc.log.4.gz >/dev/null'
sh_ dated-log-cleanup 'mkdir -p /var/log/web; seq 1 10 >/var/log/web/access.log; mv /var/log/web/access.log /var/log/web/access.log-20261120
  gzip /var/log/web/access.log-20261120; "$0" -c "import glob, os; [os.remove(p) for p in glob.glob(\"/var/log/web/*-2026112*.gz\")]"' "$PY"
# --- schedulers, supervisors, health checks
sh_ cron-like-loop 'for i in 1 2 3; do date >>cron.log; "$0" -c "print(sum(range(1000)))" >>cron.log; sleep 0.1; done' "$PY"
sh_ supervisor-restarts 'tries=0; until [ $tries -ge 3 ]; do tries=$((tries + 1)); /bin/sh -c "exit 1" || echo "restart $tries" >>sup.log; done
  /bin/sh -c "sleep 0.2" & pid=$!; echo $pid >app.pid; wait $pid'
sh_ health-check-curl 'for i in 1 2 3; do curl -fsS -m 5 "http://127.0.0.1:$PORT/health" >/dev/null; done'
sh_ health-check-wget 'wget -q -T 5 -O /dev/null "http://127.0.0.1:$PORT/health"'
# --- database and TLS clients
sh_ sqlite-client 'sqlite3 app.db "create table t(a); insert into t values (1),(2); select sum(a) from t;" >/dev/null
  "$0" -c "import sqlite3; c = sqlite3.connect(\"app.db\"); assert c.execute(\"select count(*) from t\").fetchone()[0] == 2"' "$PY"
sh_ tls-client-loopback 'openssl req -x509 -newkey rsa:2048 -nodes -keyout k.pem -out c.pem -days 1 -subj /CN=localhost 2>/dev/null
  "$0" - <<PY
import http.server, ssl, threading, urllib.request
srv = http.server.HTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER); ctx.load_cert_chain("c.pem", "k.pem")
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
threading.Thread(target=srv.serve_forever, daemon=True).start()
cli = ssl.create_default_context(cafile="c.pem"); cli.check_hostname = False
urllib.request.urlopen(f"https://127.0.0.1:{srv.server_port}/", context=cli, timeout=10).read()
PY
  curl -s --cacert c.pem -k -o /dev/null "https://127.0.0.1:1/" || true' "$PY"
sh_ ssh-keygen 'ssh-keygen -q -t ed25519 -N "" -f "$HOME/id_test"; ssh-keygen -l -f "$HOME/id_test.pub" >/dev/null'
# --- near misses of the new attack classes
py_ok() { benign "$1" "$PY" -c "$2"; }
py_ok jsonrpc-not-mining 'import os, socket
s = socket.create_connection(("127.0.0.1", int(os.environ["PORT"])), 5)
s.sendmsg([b"{\"jsonrpc\": \"2.0\", \"id\": 1, \"method\": \"eth_blockNumber\", \"params\": []}\n"])'
py_ok json-and-http-over-tcp 'import os, socket
for msg in (b"GET /health HTTP/1.0\r\n\r\n", b"{\"jsonrpc\": \"2.0\", \"id\": 1, \"method\": \"eth_getWork\"}\n"):
    s = socket.create_connection((os.environ["REMOTE"], int(os.environ["PORT"])), 5); s.send(msg); s.recv(64); s.close()'
py_ok client-runs-jobs 'import os, socket, subprocess
s = socket.create_connection((os.environ["REMOTE"], int(os.environ["PORT"])), 5)
s.sendall(b"GET /health HTTP/1.0\r\n\r\n"); s.recv(64); subprocess.run(["/bin/sh", "-c", "true"], check=True)'
py_ok server-spawns-before-serving 'import socket, subprocess
l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(1)
subprocess.run(["/bin/sh", "-c", "true"], check=True)'
py_ok server-runs-a-program 'import socket, subprocess, threading
l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(1)
threading.Thread(target=lambda: socket.create_connection(l.getsockname(), 5).recv(1), daemon=True).start()
c, _ = l.accept(); subprocess.run(["/usr/bin/env", "true"], check=True); c.close()'
sh_ decode-to-file 'echo aGVsbG8K | base64 -d >msg.txt; xxd -p msg.txt | xxd -r -p | sha256sum >/dev/null'
mkdir -p "$W/nb/node_modules/.bin"; cp /bin/true "$W/nb/node_modules/.bin/tsc"; cp /bin/bash "$W/gunicorn"  # installed with the image
mkdir -p "$HOME/.pyenv/shims" && printf '#!/usr/bin/env bash\nexec true "$@"\n' >"$HOME/.pyenv/shims/tool" && chmod +x "$HOME/.pyenv/shims/tool"
sh_ version-manager-shim '"$HOME/.pyenv/shims/tool" --version'  # pyenv/rbenv shims: #! scripts in a dot-directory
sh_ venv-and-node-bin 'nb/node_modules/.bin/tsc
  "$0" -m venv --without-pip .venv; .venv/bin/python -c "pass"' "$PY"
sh_ web-worker-script 'printf "print(1)\n" >worker.py; ./gunicorn -c "\"\$0\" worker.py >/dev/null; true" "$0"' "$PY"
printf 'import socket\ntry:\n    socket.create_connection(("169.254.170.2", 80), 1)\nexcept OSError:\n    pass\n' >"$W/sdk_creds.py"
benign ecs-sdk-like-app "$PY" "$W/sdk_creds.py"
sh_ kernel-info 'uname -r >/dev/null; cat /proc/cpuinfo >/dev/null; ls /lib/modules >/dev/null 2>&1 || true'

echo "$n benign workloads clean"
[ $bad = 0 ] || fail "benign workloads raised alerts or failed"
echo ok
