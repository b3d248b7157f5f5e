#!/usr/bin/env bash
# The bundled loader does not read the image's /etc/ld.so.preload: an app
# that writes it (then gets its container restarted) must not load code into
# vigil. The app itself still gets the image's preload (its own loader).
. "$(dirname "$0")/init_lib.bash"
need_root
command -v cc >/dev/null || { echo "SKIP: no C compiler (build-essential)"; exit 77; }
unshare -m true 2>/dev/null || { echo "SKIP: no mount namespaces"; exit 77; }
cat >"$T/evil.c" <<'C'
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
__attribute__((constructor)) static void mark(void) {
  char exe[512] = "";
  if (readlink("/proc/self/exe", exe, sizeof exe - 1) < 0) return;
  int fd = open(MARK, O_WRONLY | O_APPEND | O_CREAT, 0644);
  if (fd >= 0) { dprintf(fd, "%s\n", exe); close(fd); }
}
C
cc -shared -fPIC -DMARK="\"$T/marks\"" -o "$T/evil.so" "$T/evil.c"
cp -a /etc "$T/etc"
echo "$T/evil.so" >"$T/etc/ld.so.preload"
# run LOADER: vigil through LOADER, app /bin/true, with the image's /etc replaced.
run() {
  rm -f "$T/marks"
  unshare -m --propagation private sh -c 'mount --bind "$1/etc" /etc && "$2" --library-path "$3/lib64" "$3/bin/vigil" run -- /bin/true' \
    sh "$T" "$1" "$ROOTFS" || die "vigil run through $1 failed"
}
run "$ROOTFS/lib64/$LOADER_NAME"
grep -qx /usr/bin/true "$T/marks" || die "the app did not load the image's preload (test setup broken): $(cat "$T/marks" 2>/dev/null)"
grep -q "$LOADER_NAME" "$T/marks" && die "vigil (through the bundled loader) loaded /etc/ld.so.preload: $(cat "$T/marks")"
# The host's unpatched loader does read it: the check above can fail.
run "/lib64/$LOADER_NAME"
grep -q "$LOADER_NAME" "$T/marks" || die "an unpatched loader did not load /etc/ld.so.preload either: the test proves nothing"
echo ok
