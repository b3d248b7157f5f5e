#!/usr/bin/env bash
# Exec event contents: ids, cwd, argv (non-UTF-8 bytes still valid JSON; long
# argv capped and flagged), SHA-256 of the executable, "#!" scripts.
set -euo pipefail
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
printf '#!/bin/sh\nexit 0\n' > "$tmp/script.sh"; chmod +x "$tmp/script.sh"
long=$(head -c 6000 /dev/zero | tr '\0' a)
cd "$tmp"
timeout 60 "$VIGIL" run --events="$tmp/ev" -- sh -c '/bin/echo "$(printf "bad\377\376byte")" >/dev/null; ./script.sh; /bin/true "$1"' sh "$long"
python3 - "$tmp/ev" "$tmp" <<'PY'
import json, sys, hashlib, os
sys.path.insert(0, os.environ["SRC_DIR"] + "/tests/shell"); from events_view import events
raw = open(sys.argv[1], "rb").read()
raw.decode("utf-8")                          # the whole stream is valid UTF-8
ev = events(sys.argv[1])
execs = [e for e in ev if e["type"] == "exec"]
echo = [e for e in execs if e["process"]["exe"].endswith("/echo")][0]
assert echo["process"]["args"] == ["/bin/echo", "bad\\xff\\xfebyte"], echo["process"]["args"]
assert echo["process"]["cwd"] == sys.argv[2], echo["process"]["cwd"]
exe = echo["process"]["exe"]
assert echo["process"]["sha256"] == hashlib.sha256(open(exe, "rb").read()).hexdigest()
u = echo["process"]["user"]
assert u["uid"] == os.getuid() and u["euid"] == os.geteuid() and u["gid"] == os.getgid(), u
assert echo["id"].endswith(":%d" % echo["seq"])
script = [e for e in execs if e["process"].get("script")][0]
assert script["process"]["script"] == sys.argv[2] + "/script.sh", script["process"]
assert script["process"]["name"] == "script.sh", script["process"]
true = [e for e in execs if e["process"]["exe"].endswith("/true")][0]["process"]
assert true.get("args_truncated") is True, true
assert sum(len(a) + 1 for a in true["args"]) - 1 <= 4096, len(true["cmd_line"])  # NUL-separated bytes
PY
echo ok
