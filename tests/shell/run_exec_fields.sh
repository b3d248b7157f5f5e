#!/usr/bin/env bash
# An exec reads the caller's session and tty (/proc/PID/stat) and its
# capabilities (capget, 6.13+) only when a loaded rule reads proc.tty,
# proc.sid or thread.cap_effective, or an event sink takes events (issue 14:
# read what is needed; sensor/tracer.cpp). A rule that reads them gets the
# values of the new program's caller: here `setsid` makes the caller a
# session leader just before its exec, so proc.sid must be its own pid (the
# inherited session would be the shell's). Without such a rule and sink the
# reads are skipped (--trace=debug says so) and alerts still fire.
set -euo pipefail
: "${VIGIL:?}"
command -v setsid >/dev/null || { echo "SKIP: setsid (util-linux) not installed"; exit 77; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
cat > "$tmp/sid.yaml" <<'YAML'
- rule: true started
  desc: d
  condition: evt.type = execve and proc.name = true
  output: true started (pid=%proc.pid sid=%proc.sid tty=%proc.tty caps=%thread.cap_effective)
  priority: WARNING
YAML
cat > "$tmp/plain.yaml" <<'YAML'
- rule: true started
  desc: d
  condition: evt.type = execve and proc.name = true
  output: true started (pid=%proc.pid command=%proc.cmdline)
  priority: WARNING
YAML
app="setsid /bin/true"
for mode in detect prevent; do
  for t in sid plain; do
    "$VIGIL" run --mode=$mode --trace=debug --rules="$tmp/$t.yaml" --alerts="file:$tmp/al.$mode.$t" -- sh -c "$app" \
      2> "$tmp/log.$mode.$t" || fail "$mode $t: the run failed: $(tail -3 "$tmp/log.$mode.$t")"
  done
  grep -q 'exec: session and tty read, capabilities read' "$tmp/log.$mode.sid" || fail "$mode: a rule reads proc.sid: not read"
  grep -q 'exec: session and tty not read, capabilities not read' "$tmp/log.$mode.plain" ||
    fail "$mode: no rule reads them and no event sink: read anyway ($(grep 'exec: session' "$tmp/log.$mode.plain"))"
  python3 - "$tmp/al.$mode.sid" "$tmp/al.$mode.plain" <<'PY' || fail "$mode: alerts"
import json, sys
sid = [json.loads(l)["output_fields"] for l in open(sys.argv[1])]
sid = [f for f in sid if f.get("proc.name") == "true" or "proc.sid" in f]
assert len(sid) == 1, sid
f = sid[0]
assert f["proc.sid"] == f["proc.pid"], f  # setsid ran in the caller: it leads its own session
assert f["proc.tty"] == 0, f              # a new session has no controlling tty
assert f["thread.cap_effective"] is not None, f
plain = [json.loads(l)["output_fields"] for l in open(sys.argv[2])]
assert [p["proc.cmdline"] for p in plain if "proc.cmdline" in p] == ["true"], plain
PY
done
echo ok
