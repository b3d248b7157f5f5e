#!/usr/bin/env bash
# ROOTFS/bin/vigil-launch: nothing from the app's environment or image is loaded
# into vigil's own process (LD_PRELOAD, LD_AUDIT, the image's nsswitch.conf
# modules, OpenSSL configs from OPENSSL_CONF or the image's openssl.cnf), while
# the app sees exactly the environment it has natively and still loads them.
# A marker library records "TAG PID EXE" of every process that loads it.
. "$(dirname "$0")/init_lib.bash"
need_root
command -v cc >/dev/null || { echo "SKIP: no C compiler (build-essential)"; exit 77; }
unshare -m true 2>/dev/null || { echo "SKIP: no mount namespaces"; exit 77; }
L=$ROOTFS/bin/vigil-launch
[ -x "$L" ] || die "$L missing: build the rootfs target"
VIGIL_EXE=$ROOTFS/lib64/$LOADER_NAME  # /proc/self/exe of vigil started by the loader
MARKS=$T/marks
cat >"$T/mark.c" <<'C'
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
__attribute__((constructor)) static void mark(void) {
  char exe[512] = "";
  if (readlink("/proc/self/exe", exe, sizeof exe - 1) < 0) return;
  int fd = open(MARK, O_WRONLY | O_APPEND | O_CREAT, 0644);
  if (fd >= 0) { dprintf(fd, "%s %d %s\n", TAG, (int)getpid(), exe); close(fd); }
}
unsigned int la_version(unsigned int v) { return v; }                               /* LD_AUDIT */
int OSSL_provider_init(const void *h, const void *in, const void **out, void **c) { return 0; } /* provider */
C
for tag in preload audit nss provider; do
  cc -shared -fPIC -DMARK="\"$MARKS\"" -DTAG="\"$tag\"" -o "$T/$tag.so" "$T/mark.c"
done
cat >"$T/evil.cnf" <<EOF
openssl_conf = init
[init]
providers = providers
[providers]
evil = evil
[evil]
module = $T/provider.so
activate = 1
EOF

# loaded_by TAG PID: the marker TAG was loaded by process PID (vigil) / by EXE.
loaded_by_pid() { grep -q "^$1 $2 " "$MARKS" 2>/dev/null; }
loaded_by_exe() { grep -q "^$1 [0-9]* $2\$" "$MARKS" 2>/dev/null; }
# start VAR=VALUE... -- CMD...: runs CMD with exactly those variables; sets PID (of CMD).
start() {
  local env=()
  while [ "$1" != -- ]; do env+=("$1"); shift; done
  shift
  rm -f "$MARKS"
  env -i PATH=/usr/bin:/bin "${env[@]}" "$@" >"$T/out" 2>"$T/err" &
  PID=$!
  wait "$PID" || true
}
OLD=("$VIGIL_EXE" --library-path "$ROOTFS/lib64" "$ROOTFS/bin/vigil")  # the loader form, not hardened

# 1. The app's environment is the native one, in the same order; vigil-launch's
#    VIGIL_APPENV_* renames never show (a forged one is dropped like any VIGIL_*).
vars=(A=1 "LD_PRELOAD=$T/preload.so" B=2 "LD_LIBRARY_PATH=$T/nolib" GLIBC_TUNABLES=glibc.malloc.perturb=0 C=3
      "OPENSSL_CONF=$T/evil.cnf" OPENSSL_MODULES=/x SSLKEYLOGFILE=/x/keys "TMPDIR=$T" MALLOC_ARENA_MAX=2 TZDIR=/x
      LD_BIND_NOW=1 GCONV_PATH=/x 'LD_ODD=a=b' D=4)
env -i PATH=/usr/bin:/bin "${vars[@]}" /usr/bin/env >"$T/native" || die "native env failed"
env -i PATH=/usr/bin:/bin VIGIL_APPENV_LD_PRELOAD=/forged "${vars[@]}" VIGIL_OPTS=--trace=none \
  "$L" run -- /usr/bin/env >"$T/launched" || die "vigil-launch run -- env failed"
diff "$T/native" "$T/launched" >"$T/diff" || die "the app's environment under vigil-launch differs from the native one: $(cat "$T/diff")"
grep -q "^LD_PRELOAD=$T/preload.so\$" "$T/launched" || die "test setup: LD_PRELOAD missing from env output"
# ... and vigil's own environment has none of them under their own names.
env -i PATH=/usr/bin:/bin "${vars[@]}" "$L" run -- /bin/sleep 3 &
vigil_pid=$!
for _ in $(seq 100); do [ "$(readlink /proc/$vigil_pid/exe)" = "$VIGIL_EXE" ] && break; sleep 0.1; done  # exec'd
tr '\0' '\n' </proc/$vigil_pid/environ >"$T/vigil-env" || die "cannot read vigil's environment"
wait $vigil_pid || die "vigil-launch run -- sleep failed"
grep -q '^VIGIL_APPENV_LD_PRELOAD=' "$T/vigil-env" || die "vigil's environment lacks VIGIL_APPENV_LD_PRELOAD: $(cat "$T/vigil-env")"
bad=$(grep -E '^(LD_|GLIBC_|MALLOC_|OPENSSL_|SSLKEYLOGFILE=|TMPDIR=|TZDIR=|GCONV_PATH=)' "$T/vigil-env" || true)
[ -z "$bad" ] || die "vigil's own environment holds the app's $bad"

# 2. LD_PRELOAD and LD_AUDIT: the app loads them, vigil does not.
for var in LD_PRELOAD:preload LD_AUDIT:audit; do
  name=${var%%:*} tag=${var##*:}
  start "$name=$T/$tag.so" -- "$L" run -- /bin/true
  loaded_by_exe "$tag" "$(readlink -f /bin/true)" || die "$name: the app did not load $tag.so (test setup broken): $(cat "$MARKS" 2>/dev/null) $(cat "$T/err")"
  loaded_by_pid "$tag" "$PID" && die "$name: vigil (pid $PID) loaded $tag.so through vigil-launch: $(cat "$MARKS")"
  loaded_by_exe "$tag" "$VIGIL_EXE" && die "$name: vigil loaded $tag.so through vigil-launch: $(cat "$MARKS")"
  # The loader form does load it into vigil: the check above can fail.
  start "$name=$T/$tag.so" -- "${OLD[@]}" run -- /bin/true
  loaded_by_pid "$tag" "$PID" || die "$name: the loader form did not load $tag.so into vigil either: the test proves nothing: $(cat "$MARKS" 2>/dev/null)"
done

# 3. OPENSSL_CONF naming a provider: vigil (TLS set up for an https sink) does
#    not load it; the app still does (it sees OPENSSL_CONF).
command -v openssl >/dev/null || { echo "SKIP: no openssl binary (the control for the OpenSSL checks)"; exit 77; }
https="https://127.0.0.1:9/"
start "OPENSSL_CONF=$T/evil.cnf" -- "$L" run --events="$https" --flush-timeout=1s -- openssl version
loaded_by_exe provider "$(readlink -f "$(command -v openssl)")" || die "the app (openssl) did not load the provider of OPENSSL_CONF (test setup broken): $(cat "$MARKS" 2>/dev/null) $(cat "$T/err")"
loaded_by_pid provider "$PID" && die "OPENSSL_CONF: vigil (pid $PID) loaded its provider: $(cat "$MARKS")"
start "OPENSSL_CONF=$T/evil.cnf" -- "$L" check --sink "$https"
loaded_by_pid provider "$PID" && die "OPENSSL_CONF: vigil check (pid $PID) loaded its provider: $(cat "$MARKS")"

# 4. In a mount namespace: the image's openssl.cnf names the provider, and its
#    nsswitch.conf names a module (the image's libnss_hesiod.so.2, replaced by
#    the marker) for hosts/passwd/group; vigil resolves a sink's host name.
hesiod=$(for d in "/lib/$(cc -print-multiarch)" "/usr/lib/$(cc -print-multiarch)" /lib64 /usr/lib64; do
  [ -f "$d/libnss_hesiod.so.2" ] && echo "$d/libnss_hesiod.so.2" && break; done || true)
[ -n "$hesiod" ] || { echo "SKIP: no libnss_hesiod.so.2 on this host to stand for an image's NSS module"; exit 77; }
cnf=$(readlink -f "$(openssl version -d | sed -E 's/^OPENSSLDIR: "(.*)"$/\1/')/openssl.cnf")
[ -f "$cnf" ] || { echo "SKIP: no default openssl.cnf ($cnf) to stand for the image's"; exit 77; }
printf 'passwd: hesiod files\ngroup: hesiod files\nhosts: hesiod files\n' >"$T/nsswitch.conf"
{ cat /etc/hosts; echo "127.0.0.1 vigil-nss-test"; } >"$T/hosts"
cat >"$T/image.sh" <<EOF
mount --bind "$T/nsswitch.conf" /etc/nsswitch.conf && mount --bind "$T/hosts" /etc/hosts &&
  mount --bind "$T/nss.so" "$hesiod" && mount --bind "$T/evil.cnf" "$cnf" || exit 99
exec "\$@"
EOF
image=(unshare -m --propagation private sh "$T/image.sh")  # CMD... with the image's files above (same pid)
start -- "${image[@]}" getent hosts vigil-nss-test
loaded_by_exe nss "$(readlink -f "$(command -v getent)")" || die "getent did not load the image's NSS module (test setup broken): $(cat "$MARKS" 2>/dev/null) $(cat "$T/err")"
start -- "${image[@]}" openssl version
loaded_by_exe provider "$(readlink -f "$(command -v openssl)")" || die "openssl did not load the image's openssl.cnf provider (test setup broken): $(cat "$MARKS" 2>/dev/null) $(cat "$T/err")"
for form in launcher loader; do
  if [ $form = launcher ]; then cmd=("$L"); else cmd=("${OLD[@]}"); fi
  start -- "${image[@]}" "${cmd[@]}" check --trace=info --sink "http://vigil-nss-test:9/" --sink "$https"
  grep -q "vigil-nss-test" "$T/err" || die "vigil check did not look at the sink host (test setup broken): $(cat "$T/err")"
  loaded_by_pid nss "$PID" && die "vigil check ($form form) loaded the image's NSS module: $(cat "$MARKS")"
  loaded_by_pid provider "$PID" && die "vigil check ($form form) loaded the provider of the image's openssl.cnf: $(cat "$MARKS")"
  start -- "${image[@]}" "${cmd[@]}" run --events="http://vigil-nss-test:9/" --events="$https" --flush-timeout=1s -- /bin/true
  loaded_by_pid nss "$PID" && die "vigil run ($form form) loaded the image's NSS module: $(cat "$MARKS")"
  loaded_by_pid provider "$PID" && die "vigil run ($form form) loaded the provider of the image's openssl.cnf: $(cat "$MARKS")"
done
echo ok
