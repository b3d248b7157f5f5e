#!/usr/bin/env bash
# vigil run + rules engine: a bad rules file stops vigil before the app starts
# (one line, exit 2); the default rules of the build tree load (--trace=info
# counts them); repeated alerts are rate limited and flushed with their count.
set -euo pipefail
: "${VIGIL:?}" "${SRC_DIR:?}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

printf -- '- rule: Broken\n  desc: x\n  condition: evt.type = openat and\n  output: x\n  priority: WARNING\n' >"$tmp/bad.yaml"
rc=0
"$VIGIL" run --rules="$tmp/bad.yaml" -- /bin/touch "$tmp/started" 2>"$tmp/err" || rc=$?
[ "$rc" = 2 ] || fail "bad rules: exit $rc, want 2"
[ ! -e "$tmp/started" ] || fail "bad rules: the app was started"
[ "$(wc -l <"$tmp/err")" = 1 ] || fail "bad rules: want one line, got: $(cat "$tmp/err")"
grep -q "^vigil run: rules: .*bad.yaml:3:" "$tmp/err" || fail "bad rules: unclear error: $(cat "$tmp/err")"
"$VIGIL" run --rules="$tmp/missing.yaml" -- /bin/true 2>"$tmp/err" && fail "missing rules file accepted"
grep -q "missing.yaml" "$tmp/err" || fail "missing rules file: unclear error: $(cat "$tmp/err")"

# default rules (the source tree's rules/default for a build-tree binary), counted at info
"$VIGIL" run --trace=info -- /bin/true 2>"$tmp/err" || fail "run failed: $(cat "$tmp/err")"
grep -Eq "info: rules: [1-9][0-9]* active, 0 not active, mode detect" "$tmp/err" || fail "no rules count: $(cat "$tmp/err")"

# six setuid chmods by one process: one alert at once, the 5 repeats flushed at exit
# with their count; user.name filled
cp /bin/true "$tmp/f"
"$VIGIL" run --alerts="file:$tmp/alerts" -- /usr/bin/python3 -c 'import os, sys
for i in range(6): os.chmod(sys.argv[1], 0o4755); os.chmod(sys.argv[1], 0o755)' "$tmp/f" 2>"$tmp/err" || fail "chmod run failed"
/usr/bin/python3 - "$tmp/alerts" <<'PY' || { cat "$tmp/alerts"; fail "rate limiting"; }
import json, sys
alerts = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
counts = [a["output_fields"]["vigil.count"] for a in alerts if a["rule"] == "Setuid or setgid bit set"]
assert counts == [1, 5], counts  # the first, then the 5 repeats (docs/rules.md "Alerts")
import os, pwd  # user.name comes from /etc/passwd, read by vigil itself
names = {a["output_fields"].get("user.name") for a in alerts if a["rule"] == "Setuid or setgid bit set"}
assert names == {pwd.getpwuid(os.geteuid()).pw_name}, names
PY
python3 "$SRC_DIR/tests/sinks/falcosidekick_check.py" "$tmp/alerts" || fail "falcosidekick checks"
echo ok
