#!/usr/bin/env bash
# Exec verification where nothing can block the exec (docs/design.md, "Exec
# verification", "Otherwise"): the check of the image that runs is made when
# the loop is awake anyway, and the loop wakes up for it by itself only from
# 64 ms after the exec (a short-lived program costs no wake-up). A program
# that makes no trapped call afterwards is still checked: here vigil cannot
# open what the exec names (/proc/self/cwd/../x: vigil's own lexical ".."
# does not resolve as the kernel's), so only the check reports what ran.
# The rules trap execs only (adaptive filter): `sleeper` (a copy of sleep)
# makes no trapped call; it runs 0.5 s (less than any other periodic wake-up
# of the sensor: 1 s), then the shell waits for it.
set -euo pipefail
: "${VIGIL:?}"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
mkdir -p "$tmp/d/sub"
cp "$(command -v sleep)" "$tmp/d/sleeper"
cat > "$tmp/rules.yaml" <<'YAML'
- rule: sleeper started
  desc: d
  condition: evt.type = execve and proc.name = sleeper
  output: sleeper started (exe=%proc.exepath command=%proc.cmdline)
  priority: WARNING
YAML
for mode in detect prevent; do
  rm -f "$tmp/al"
  (cd "$tmp/d/sub" && "$VIGIL" run --mode=$mode --rules="$tmp/rules.yaml" --alerts="file:$tmp/al" --trace=info -- \
    sh -c '/proc/self/cwd/../sleeper 0.5; echo done') > "$tmp/out" 2> "$tmp/err" || fail "$mode: the run failed: $(cat "$tmp/err")"
  grep -q '^done$' "$tmp/out" || fail "$mode: sleeper did not run: $(cat "$tmp/out" "$tmp/err")"
  # Only execs and the guard's rows are trapped (write-opens among them, which
  # sleeper makes none of): the check cannot come from a later notification of sleeper.
  grep -q 'trapped.*mmap\|trapped.*unlink' "$tmp/err" && fail "$mode: more than execs trapped: $(grep trapped "$tmp/err")"
  python3 - "$tmp/al" "$tmp/d/sleeper" <<'PY' || fail "$mode: alerts: $(cat "$tmp/al" 2>/dev/null)"
import json, sys
al = [json.loads(l) for l in open(sys.argv[1])]
hits = [a for a in al if a["rule"] == "sleeper started"]
assert len(hits) == 1 and hits[0]["output_fields"]["proc.exepath"] == sys.argv[2], hits
PY
done
echo ok
