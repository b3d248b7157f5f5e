#!/usr/bin/env bash
# File-family events (issue 3): every syscall through libc and raw syscall(),
# dirfd-relative and normalised paths, non-UTF-8 and over-long paths, and no
# event for read-only opens.
set -euo pipefail
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/w"
timeout 120 "$VIGIL" run --events="$tmp/ev" -- "$FIXTURES/probes_file" "$tmp/w" >/dev/null
python3 - "$tmp/ev" "$tmp/w" <<'PY'
import json, os, sys
import os as _os; sys.path.insert(0, _os.environ["SRC_DIR"] + "/tests/shell"); from events_view import events, view
ev = events(sys.argv[1], "utf-8")
d = sys.argv[2]
seqs = [e["seq"] for e in ev]
assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs), "seq not strictly increasing"
files = [e for e in ev if e.get("class_uid") == 1001]
assert all(e["class_name"] == "file_system" and e["ocsf"]["device"]["hostname"] for e in files)

# aarch64 has no open, creat, mkdir, ...: libc (and the fixture) use the *at forms
AT = {"open": "openat", "creat": "openat", "rename": "renameat", "mkdir": "mkdirat", "link": "linkat",
      "symlink": "symlinkat", "chmod": "fchmodat", "chown": "fchownat", "lchown": "fchownat",
      "unlink": "unlinkat", "rmdir": "unlinkat"} if os.uname().machine == "aarch64" else {}

def find(typ, path, **kw):
    typ = AT.get(typ, typ)
    for e in ev:
        f = e.get("file", {})
        if e["type"] == typ and f.get("path") == path and all(f.get(k) == v for k, v in kw.items()):
            return e
    raise AssertionError(("no %s event for %s %s; have: %s" % (typ, path, kw,
        [(e["type"], e.get("file")) for e in ev if e["type"] == typ]))[:2000])

O_WRONLY, O_RDWR, O_CREAT, O_TRUNC, O_APPEND = 1, 2, 0o100, 0o1000, 0o2000
find("openat", d + "/lib_open", flags=O_WRONLY | O_CREAT | O_TRUNC, mode=0o640, raw_path="lib_open")
find("open", d + "/raw_open", flags=O_RDWR | O_CREAT, mode=0o600)
find("openat", d + "/sub/lib_openat", raw_path="lib_openat")              # relative to a dirfd
find("openat", d + "/raw_openat", raw_path="sub/../raw_openat")           # normalised, raw kept
find("openat2", d + "/raw_openat2", flags=O_WRONLY | O_CREAT)
find("creat", d + "/lib_creat", mode=0o644)
find("creat", d + "/raw_creat")
find("openat", d + "/bad\\xff\\xfe_name")                                  # non-UTF-8 bytes escaped
for e in ev:                                                               # read-only opens: no event
    f = e.get("file", {})
    assert not (e["type"] in ("open", "openat") and f.get("flags", 0) & 3 == 0 and not f.get("flags", 0) & O_CREAT), e
find("truncate", d + "/lib_open")
find("truncate", d + "/raw_open")
find("rename", d + "/lib_creat", target=d + "/lib_renamed")
find("renameat", d + "/raw_creat", target=d + "/sub/raw_renamed")
find("renameat2", d + "/lib_renamed", target=d + "/lib_renamed2", flags=1)
find("renameat2", d + "/lib_renamed2", target=d + "/raw_renamed2")
find("mkdir", d + "/lib_mkdir", mode=0o700)
find("mkdirat", d + "/sub/raw_mkdirat")
find("link", d + "/lib_open", target=d + "/lib_link")
find("linkat", d + "/raw_open", target=d + "/sub/raw_linkat")
find("symlink", d + "/lib_symlink", target="/etc/passwd")
find("symlinkat", d + "/sub/raw_symlinkat", target="/etc/shadow")
find("chmod", d + "/lib_open", mode=0o755)
find("fchmod", d + "/raw_open", mode=0o700)
find("fchmodat", d + "/lib_mkdir", mode=0o750)
find("fchmodat2", d + "/raw_openat", mode=0o600)
find("chown", d + "/lib_open")
find("fchown", d + "/raw_open")
find("lchown", d + "/lib_symlink")
find("fchownat", d + "/sub/lib_openat")
find("unlink", d + "/lib_link")
find("unlinkat", d + "/sub/raw_linkat")
find("rmdir", d + "/lib_mkdir")
find("unlinkat", d + "/sub/raw_mkdirat", flags=0x200)                     # AT_REMOVEDIR
m = find("mount", "none", target=d + "/sub")
assert m["args"]["fstype"] == "vigil-nofs", m
find("umount2", d + "/sub")
find("memfd_create", "memfd:lib_memfd")
find("memfd_create", "memfd:raw_memfd")
find("open_by_handle_at", d)
find("chdir", d + "/sub", raw_path="sub")
find("fchdir", d)
longp = d + "/d" * 2999 + "/L"  # the fixture writes "d/" x 2999 then "L"
find("openat", longp)                                                      # > PATH_MAX, kept whole
PY
echo ok
