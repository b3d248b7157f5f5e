#!/usr/bin/env bash
# Drift ("a program not in the image was run") against an app that hides
# where its program came from, with the default rules (docs/threat-model.md,
# "Drift"). Each program is a copy of /bin/echo written by the app after
# vigil started; each run must raise "Drifted binary executed" naming it:
#   dirrename  written as w/d/x, its mtime set back (futimens), w/d renamed
#              to w/e, then w/e/x run (the write was known by path only)
#   tmpfile    an O_TMPFILE written, its mtime set back, linked in (linkat
#              of /proc/self/fd/N), run
#   deleted    written, mtime set back, opened, unlinked, run through the fd
#              (execveat AT_EMPTY_PATH)
#   interp     an image script (made before vigil started) whose "#!"
#              interpreter the app replaced by a rename (mv new over it)
#   evicted    written, then 50001 files written to push it out of drift's
#              table, then its mtime set back (detect only: a few seconds)
#   memfd_ldso a memfd's mtime set back, the memfd run by the dynamic loader
#              (an exec of the loader: "Drifted library loaded" on its mapping)
#   toolname   /bin/cp hard-linked as w/ld copies a program: a writer named
#              like a linker is no toolchain unless it is the image's
# And two identities: a file named "x (deleted)" is not reported as a deleted
# x, and an image interpreter hard-linked under a system directory as
# "sshd" is not an image program (the default rules exempt image programs
# named sshd from "Authentication configuration modified": /etc/passwd is
# opened for appending, nothing written).
set -euo pipefail
: "${VIGIL:?}" "${SRC_DIR:?}"
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (a hard link under /usr/local/lib, /etc/passwd opened for appending)"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: python3 not installed"; exit 77; }
tmp=$(mktemp -d)
sysdir=$(mktemp -d /usr/local/lib/vigil-drift-test.XXXXXX)
trap 'rm -rf "$tmp" "$sysdir"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
printf '#!%s/interp\necho image script\n' "$tmp" >"$tmp/img.sh"
chmod 755 "$tmp/img.sh"
cp /bin/dash "$tmp/interp"
touch -d 2000-01-01 "$tmp/img.sh" "$tmp/interp"
sleep 0.05
cat >"$tmp/app.py" <<'PY'
import ctypes, os, shutil, sys
mode, w = sys.argv[1], sys.argv[2]
OLD = (946684800, 946684800)  # 2000-01-01
def payload(path):
    shutil.copyfile("/bin/echo", path)
    os.chmod(path, 0o755)
if mode == "dirrename":
    os.makedirs(f"{w}/d")
    payload(f"{w}/d/x")
    fd = os.open(f"{w}/d/x", os.O_RDONLY)
    os.utime(fd, OLD)  # futimens
    os.close(fd)
    os.rename(f"{w}/d", f"{w}/e")
    os.execv(f"{w}/e/x", ["x", "PWNED"])
elif mode == "tmpfile":
    fd = os.open(w, os.O_TMPFILE | os.O_RDWR, 0o755)
    os.write(fd, open("/bin/echo", "rb").read())
    os.utime(fd, OLD)
    libc = ctypes.CDLL(None, use_errno=True)  # linkat(AT_FDCWD, /proc/self/fd/N, AT_FDCWD, t, AT_SYMLINK_FOLLOW)
    if libc.linkat(-100, f"/proc/self/fd/{fd}".encode(), -100, f"{w}/t".encode(), 0x400) != 0:
        sys.exit(f"linkat: {os.strerror(ctypes.get_errno())}")
    os.close(fd)
    os.execv(f"{w}/t", ["t", "PWNED"])
elif mode == "deleted":
    payload(f"{w}/del")
    os.utime(f"{w}/del", OLD)
    fd = os.open(f"{w}/del", os.O_RDONLY)
    os.unlink(f"{w}/del")
    os.execve(fd, ["del", "PWNED"], dict(os.environ))  # fexecve: execveat(fd, "", AT_EMPTY_PATH)
elif mode == "interp":
    d = os.path.dirname(w)
    payload(f"{w}/newi")
    os.rename(f"{w}/newi", f"{d}/interp")
    os.execv(f"{d}/img.sh", ["img.sh"])
elif mode == "evicted":
    payload(f"{w}/ev")
    for i in range(50001):
        open(f"{w}/f{i}", "w").close()
    os.utime(f"{w}/ev", OLD)
    os.execv(f"{w}/ev", ["ev", "PWNED"])
elif mode == "toolname":  # a copier named like a linker: its output is no build's
    try:
        os.link("/bin/cp", f"{w}/ld")
    except OSError:  # (another filesystem: a copy, its mtime kept)
        shutil.copy2("/bin/cp", f"{w}/ld")
    import subprocess
    subprocess.run([f"{w}/ld", "/bin/echo", f"{w}/payload"], check=True)
    os.execv(f"{w}/payload", ["payload", "PWNED"])
elif mode == "memfd_ldso":  # fileless, through the loader, its mtime set back
    fd = os.memfd_create("payload", 0)
    os.write(fd, open("/bin/echo", "rb").read())
    os.utime(fd, OLD)
    os.execv("/lib64/ld-linux-x86-64.so.2", ["ld.so", f"/proc/self/fd/{fd}", "PWNED"])
elif mode == "named":
    payload(f"{w}/ls (deleted)")
    shutil.copyfile("/bin/ls", f"{w}/ls")
    os.execv(f"{w}/ls (deleted)", ["ls", "PWNED"])
PY
drifted() {  # MODE EXE-PATH ALERTS: "Drifted binary executed" names EXE-PATH
  python3 - "$@" <<'PY'
import json, sys
mode, exe, alerts = sys.argv[1], sys.argv[2], sys.argv[3]
got = [json.loads(l) for l in open(alerts)] if alerts else []
hits = [a for a in got if a.get("rule") == "Drifted binary executed"]
if not any(a["output_fields"].get("proc.exepath") == exe for a in hits):
    sys.exit(f"{mode}: no 'Drifted binary executed' for {exe}: {[(a.get('rule'), a['output'][:100]) for a in got]}")
PY
}
run() {  # MODE RUN-MODE
  rm -rf "$tmp/w" "$tmp/alerts"
  mkdir "$tmp/w"
  "$VIGIL" run --mode="$2" --rules="$SRC_DIR/rules/default" --alerts="file:$tmp/alerts" -- \
    python3 "$tmp/app.py" "$1" "$tmp/w" >"$tmp/out" 2>"$tmp/err" || true
  touch "$tmp/alerts"
}
for mode in dirrename tmpfile deleted interp; do
  for m in detect prevent; do
    cp /bin/dash "$tmp/interp" && touch -d 2000-01-01 "$tmp/interp"
    run "$mode" "$m"
    case $mode in
      dirrename) exe=$tmp/w/e/x ;;
      tmpfile) exe=$tmp/w/t ;;
      deleted) exe=$tmp/w/del ;;
      interp) exe=$tmp/interp ;;
    esac
    drifted "$mode ($m)" "$exe" "$tmp/alerts" || fail "$(cat "$tmp/err" | tail -3)"
  done
done
run evicted detect
drifted "evicted" "$tmp/w/ev" "$tmp/alerts" || fail "$(tail -3 "$tmp/err")"

# A program written by `cp` linked as `ld` is not a toolchain's build output
# (the rule leaves those out, as "toolchain_build").
run toolname detect
drifted "toolname" "$tmp/w/payload" "$tmp/alerts" || fail "$(tail -3 "$tmp/err")"

# A program in a memfd run by the loader: mapped executable, a library not in the image.
if [ -x /lib64/ld-linux-x86-64.so.2 ]; then
  run memfd_ldso detect
  python3 - "$tmp/alerts" <<'PY' || fail "memfd_ldso: no 'Drifted library loaded' for the memfd: $(tail -3 "$tmp/err")"
import json, sys
got = [json.loads(l) for l in open(sys.argv[1])]
assert any(a.get("rule") == "Drifted library loaded" and a["output_fields"].get("fd.name") == "/memfd:payload" for a in got), \
    [(a.get("rule"), a["output"][:100]) for a in got]
PY
fi

# A file named "ls (deleted)" is that file, not a deleted ls.
run named detect
drifted "named" "$tmp/w/ls (deleted)" "$tmp/alerts" || fail "$(tail -3 "$tmp/err")"

# An image interpreter hard-linked as sshd under /usr/local/lib: no image program.
rm -f "$tmp/alerts"
"$VIGIL" run --rules="$SRC_DIR/rules/default" --alerts="file:$tmp/alerts" -- \
  sh -c "ln /usr/bin/python3.11 '$sysdir/sshd' 2>/dev/null || cp -p /usr/bin/python3.11 '$sysdir/sshd'; '$sysdir/sshd' -c 'open(\"/etc/passwd\", \"a\").close()'" \
  >"$tmp/out" 2>"$tmp/err" || fail "the sshd run failed: $(tail -3 "$tmp/err")"
python3 - "$tmp/alerts" "$sysdir/sshd" <<'PY' || fail "a hard link named sshd passed for the image's sshd"
import json, sys
got = [json.loads(l) for l in open(sys.argv[1])]
assert any(a.get("rule") == "Authentication configuration modified" and a["output_fields"].get("proc.name") == "sshd" for a in got), [(a.get("rule"), a["output"][:100]) for a in got]
assert any(a.get("rule") == "Drifted binary executed" and a["output_fields"].get("proc.exepath") == sys.argv[2] for a in got), \
    [(a.get("rule"), a["output"][:100]) for a in got]
PY
echo ok
