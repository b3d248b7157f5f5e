#!/usr/bin/env bash
# Alerts are capped: each string an alert carries is cut to 4096 bytes
# (docs/rules.md "Alerts"). The app execs cat with a 1.2 MB argv to read a
# secret file; the rule, like the default rules' "Password database read",
# renders %proc.cmdline (a private file: another test's read of /etc/shadow
# on this host would be seen too). The alert must reach the HTTP collector and the file sink,
# be journaled, stay under 64 KiB and say where its command line was cut.
# Before the cap: a 2.4 MB line, dropped by the HTTP sink (over --batch-max),
# not journaled (larger than the ring allows).
source "$SRC_DIR/tests/sinks/lib.sh"
echo secret >"$t/secret"
cat >"$t/rules.yaml" <<YAML
- rule: Password database read
  desc: the default rule's output, on a private file
  condition: evt.type in (open, openat) and evt.is_open_read = true and fd.name = $t/secret
  output: Shadow file read (file=%fd.name process=%proc.name command=%proc.cmdline user=%user.name)
  priority: WARNING
YAML
collector c --out "$t/col.ndjson"
port=$(cat "$t/c.port")
rc=0
timeout 120 "$VIGIL" run --rules="$t/rules.yaml" --spool-dir="$t/spool" --alerts="http://127.0.0.1:$port/" --alerts="file:$t/alerts.json" -- \
  python3 -c "import os; os.execv('/bin/cat', ['cat', '$t/secret'] + ['A' * 100000] * 12)" >/dev/null 2>"$t/err" || rc=$?
grep -av "^cat: " "$t/err" >"$out" || true  # vigil's lines, not cat's 12 complaints of 100 kB each
[ "$rc" = 1 ] || fail "exit status $rc, want cat's 1 (its 12 long arguments are no files)"
lacks "larger than the batch cap"
lacks "not journaled"
python3 - "$t/alerts.json" "$t/col.ndjson" "$t/secret" <<'PY' || fail "alert size cap"
import json, re, sys
cmd = "cat " + sys.argv[3] + (" " + "A" * 100000) * 12
def shadow(path):
    lines = [l for l in open(path, "rb").read().split(b"\n") if l.strip()]
    for l in lines:
        assert len(l) < 64 * 1024, f"{path}: a line of {len(l)} bytes"
    return [a for a in map(json.loads, lines) if a["rule"] == "Password database read"]
alerts, got = shadow(sys.argv[1]), shadow(sys.argv[2])
assert len(alerts) == 1, f"file sink: {len(alerts)} alerts for the shadow read"
assert [a["uuid"] for a in got] == [alerts[0]["uuid"]], "the collector did not get the alert the file sink got"
a = alerts[0]
v = a["output_fields"]["proc.cmdline"]
m = re.fullmatch("(cat " + re.escape(sys.argv[3]) + r" A+)\.\.\.\[(\d+) bytes cut\]", v)
assert m, f"proc.cmdline not cut with its marker: {v[:80]}...{v[-40:]}"
assert len(v.encode()) <= 4096, f"proc.cmdline: {len(v.encode())} bytes"
assert len(m[1]) + int(m[2]) == len(cmd), f"kept {len(m[1])} + cut {m[2]} != {len(cmd)}"
assert "command=" + v + " " in a["output"], "the output does not show the command line as cut"
print(f"ok: alert of {len(json.dumps(a))} bytes, proc.cmdline {len(v)} bytes, {m[2]} bytes cut")
PY
# OCSF findings repeat the output three times (finding_info.desc, message,
# unmapped.falco.output): bounded as well.
rc=0
timeout 120 "$VIGIL" run --rules="$t/rules.yaml" --spool-dir="$t/spool2" --alerts-format=ocsf --alerts="file:$t/ocsf.json" -- \
  python3 -c "import os; os.execv('/bin/cat', ['cat', '$t/secret'] + ['A' * 100000] * 12)" >/dev/null 2>"$t/err" || rc=$?
[ "$rc" = 1 ] || fail "OCSF run: exit status $rc"
python3 - "$t/ocsf.json" <<'PY' || fail "OCSF alert size cap"
import json, sys
lines = [l for l in open(sys.argv[1], "rb").read().split(b"\n") if l.strip()]
found = [f for f in map(json.loads, lines) if f["finding_info"]["title"] == "Password database read"]
assert len(found) == 1, f"{len(found)} findings for the shadow read"
assert max(map(len, lines)) < 64 * 1024, f"a line of {max(map(len, lines))} bytes"
assert found[0]["unmapped"]["falco"]["output_fields"]["proc.cmdline"].endswith(" bytes cut]")
PY
echo ok
