#!/usr/bin/env bash
# evt.type of an exec is the syscall that made it: a rule on evt.type=execveat
# matches fexecve (execveat, AT_EMPTY_PATH) and not execve, and the other way
# round; in prevent mode a block rule on execveat fails only that exec (EPERM).
set -euo pipefail
: "${VIGIL:?}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

cat >"$tmp/rules.yaml" <<'YAML'
- rule: true by execveat
  desc: d
  condition: evt.type = execveat and proc.name = true
  output: execveat (command=%proc.cmdline)
  priority: WARNING
  action: block
- rule: true by execve
  desc: d
  condition: evt.type = execve and proc.name = true
  output: execve (command=%proc.cmdline)
  priority: WARNING
YAML
fexecve='import os; fd = os.open("/bin/true", os.O_RDONLY); os.execve(fd, ["true"], {})'
execve='import os; os.execv("/bin/true", ["true"])'
rules() { /usr/bin/python3 -c 'import json, sys
print(" ".join(sorted(json.loads(l)["rule"].split()[-1] + ":" + json.loads(l)["output_fields"]["vigil.action"] for l in open(sys.argv[1]))))' "$1"; }

"$VIGIL" run --rules="$tmp/rules.yaml" --alerts="file:$tmp/a1" -- /usr/bin/python3 -c "$fexecve" || fail "fexecve run failed"
[ "$(rules "$tmp/a1")" = "execveat:none" ] || fail "fexecve: alerts $(rules "$tmp/a1"), want execveat:none"
"$VIGIL" run --rules="$tmp/rules.yaml" --alerts="file:$tmp/a2" -- /usr/bin/python3 -c "$execve" || fail "execve run failed"
[ "$(rules "$tmp/a2")" = "execve:none" ] || fail "execve: alerts $(rules "$tmp/a2"), want execve:none"

# prevent: the execveat is denied (python sees EPERM), the execve is not
rc=0
"$VIGIL" run --mode=prevent --rules="$tmp/rules.yaml" --alerts="file:$tmp/a3" -- /usr/bin/python3 -c "$fexecve" 2>"$tmp/err" || rc=$?
[ "$rc" != 0 ] && grep -q PermissionError "$tmp/err" || fail "prevent: fexecve not denied (exit $rc): $(cat "$tmp/err")"
[ "$(rules "$tmp/a3")" = "execveat:denied" ] || fail "prevent: alerts $(rules "$tmp/a3"), want execveat:denied"
"$VIGIL" run --mode=prevent --rules="$tmp/rules.yaml" --alerts="file:$tmp/a4" -- /usr/bin/python3 -c "$execve" || fail "prevent: execve denied"
echo ok
