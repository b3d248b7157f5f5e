#!/usr/bin/env bash
# vigil check: kernel features, ECS metadata, DNS/TCP/TLS of sinks with hints,
# TLS with a self-signed CA (verification on and off), malformed input.
# Servers: tests/sinks/collector.py on 127.0.0.1 only.
source "$SRC_DIR/tests/sinks/lib.sh"
# check EXPECTED_STATUS ARGS...: runs vigil check, output in $t/out
check() {
  local want=$1; shift
  local rc=0
  timeout 60 "$VIGIL" check "$@" >"$out" 2>&1 || rc=$?
  [ "$rc" = "$want" ] || fail "vigil check $* exited $rc, expected $want"
}

# 1. A live collector: DNS, TCP, and the kernel features.
collector plain; port=$(cat "$t/plain.port")
check 0 --sink "http://127.0.0.1:$port/ingest"
has "kernel: seccomp actions: present"
has "kernel: PTRACE_GET_SYSCALL_INFO"
# every feature is probed (present or absent), none inferred from the kernel version
for f in "user-notif listener" "user-notif flag CONTINUE" "user-notif SYNC_WAKE_UP" "user-notif ADDFD" PIDFD_GET_INFO \
         PIDFD_INFO_EXIT "ia32 emulation (int \$0x80)" "WAIT_KILLABLE_RECV filter flag" pidfd_getfd PTRACE_GET_SYSCALL_INFO \
         "unix_diag (NETLINK_SOCK_DIAG)"; do
  grep -qE -- "kernel: $(printf %s "$f" | sed 's/[]$()[]/\\&/g'): (present|absent)" "$out" || fail "kernel feature '$f' not probed"
done
lacks "by kernel version"
has "DNS: 127.0.0.1 -> 127.0.0.1"
has "TCP: connected to 127.0.0.1 port $port"
has "all checks passed"

# 2. Nothing listening: exit 1 with a hint. Credentials in the URL never shown.
dead=$(free_port)
VIGIL_TEST_TOKEN=t0psecret check 1 --sink "http://user:hunter2@127.0.0.1:$dead/" --bearer-token-env=VIGIL_TEST_TOKEN
has "Connection refused"
has "hint: nothing listens there"
has "bearer token from \$VIGIL_TEST_TOKEN (masked)"
lacks "hunter2"
lacks "t0psecret"
check 1 --bearer-token-env=VIGIL_TEST_UNSET_VAR
has "VIGIL_TEST_UNSET_VAR is not set"

# 3. A name the resolver cannot answer for (in a network namespace whose only
#    resolver is a dead 127.0.0.1: no query leaves the machine).
if unshare -mn true 2>/dev/null; then
  echo "nameserver 127.0.0.1" >"$t/resolv.conf"
  rc=0
  timeout 60 unshare -mn sh -c "mount --bind '$t/resolv.conf' /etc/resolv.conf && exec '$VIGIL' check --sink https://collector.example.internal/ingest" >"$out" 2>&1 || rc=$?
  [ "$rc" = 1 ] || fail "DNS failure: exit $rc, expected 1"
  has "DNS: cannot resolve 'collector.example.internal'"
  has "hint:"
  has "resolvers: 127.0.0.1"
else
  echo "note: unshare -mn not permitted, DNS failure case not run" >&2
fi

# 4. TLS with a self-signed CA.
(cd "$t" &&
  openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj /CN=vigil-test-ca &&
  openssl req -newkey rsa:2048 -nodes -keyout srv.key -out srv.csr -subj /CN=127.0.0.1 &&
  printf 'subjectAltName=IP:127.0.0.1\n' >ext &&
  openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out srv.pem -days 2 -extfile ext) >/dev/null 2>&1 ||
  fail "openssl could not make the test CA"
collector tls --tls "$t/srv.pem" "$t/srv.key"; tport=$(cat "$t/tls.port")
check 0 --sink "https://127.0.0.1:$tport/" --ca-file="$t/ca.pem"
has "TLS: handshake ok"
has "verified against $t/ca.pem"
check 1 --sink "https://127.0.0.1:$tport/"
has "TLS: handshake failed"
has "not trusted"
check 0 --sink "https://127.0.0.1:$tport/" --tls-insecure
has "NOT verified"
check 1 --sink "https://127.0.0.1:$port/"  # plain HTTP server behind an https URL
has "TLS: handshake failed"
has "is the server speaking TLS on this port"
# From the rootfs, through its own loader: the bundled CA file is the default.
if [ -x "${BUILD_DIR:-}/rootfs/bin/vigil" ]; then
  rc=0
  loader=$(ls "$BUILD_DIR"/rootfs/lib64/ld-linux-*.so.* | head -1)  # x86-64 or aarch64
  timeout 60 "$loader" --library-path "$BUILD_DIR/rootfs/lib64" \
    "$BUILD_DIR/rootfs/bin/vigil" check --sink "https://127.0.0.1:$tport/" >"$out" 2>&1 || rc=$?
  [ "$rc" = 1 ] || fail "rootfs vigil check against the test CA: exit $rc, expected 1"
  has "not trusted by $(readlink -f "$BUILD_DIR/rootfs")/etc/vigil/ca-certificates.crt"
fi

# 5. Sinks from VIGIL_OPTS, as in a task definition.
VIGIL_OPTS="--events=http://127.0.0.1:$port/ --alerts=falcosidekick+http://127.0.0.1:$dead/" check 1
has "sink http://127.0.0.1:$port/: TCP: connected"
has "sink falcosidekick+http://127.0.0.1:$dead/: TCP: connect to 127.0.0.1 port $dead failed"

# 6. ECS metadata from a loopback metadata endpoint, and a broken one.
collector ecs --ecs "$SRC_DIR/tests/sinks/ecs-metadata.json"; mport=$(cat "$t/ecs.port")
ECS_CONTAINER_METADATA_URI_V4="http://127.0.0.1:$mport/v4/cd189a93" check 0
has '"task_arn":"arn:aws:ecs:eu-west-1:123456789012:task/prod/cd189a933e5849daa93386466019ab50"'
has '"availability_zone":"eu-west-1b"'
ECS_CONTAINER_METADATA_URI_V4="http://127.0.0.1:$dead/v4/x" check 1
has "ECS metadata: ECS task metadata endpoint"

# 7. Malformed input: one clear line, exit 1.
check 1 --sink "http://"
has "invalid sink URL"
check 1 --events=gopher://x
[ "$(wc -l <"$out")" = 1 ] || fail "a bad option must give one line"
has "vigil check: command line: --events: unsupported sink 'gopher://x'"
check 1 --queue=lots
has "--queue"
echo "sinks_check: ok"
