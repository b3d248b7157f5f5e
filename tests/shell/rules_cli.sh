#!/usr/bin/env bash
# vigil rules validate|list: exit codes, precise errors, the default ruleset,
# Falco's reference file, and the rootfs default directory.
set -euo pipefail
: "${VIGIL:?}" "${SRC_DIR:?}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# the shipped ruleset validates strictly
"$VIGIL" rules validate --strict "$SRC_DIR/rules/default" >"$tmp/out" 2>&1 || { cat "$tmp/out"; fail "default ruleset does not validate"; }
grep -q "0 skipped" "$tmp/out" || fail "default ruleset has skipped rules: $(cat "$tmp/out")"

# Falco's rules load unmodified; two rules are skipped with a warning naming the field
# (tests/reference/falco/: a copy of the shared reference file, checked against it when beside us)
falco="$SRC_DIR/tests/reference/falco/falco_rules.yaml"
shared="$SRC_DIR/../shared/reference/falco/falco_rules.yaml"
if [ -f "$shared" ] && ! cmp -s "$falco" "$shared"; then
  fail "$falco differs from $shared: copy it again"
fi
"$VIGIL" rules list "$falco" >"$tmp/list" 2>"$tmp/err" || fail "falco_rules.yaml does not load: $(cat "$tmp/err")"
grep -q "^25 rules: 23 active, 2 skipped" "$tmp/list" || fail "unexpected Falco summary: $(tail -1 "$tmp/list")"
grep -q "skipping rule 'Debugfs Launched in Privileged Container': field 'container.privileged'" "$tmp/err" \
  || fail "missing skip warning: $(cat "$tmp/err")"

# a syntax error: exit 1, one line with file:line:col and what was expected
cat >"$tmp/bad.yaml" <<'YAML'
- rule: Broken
  desc: missing value
  condition: evt.type = openat and fd.name startswith
  output: x
  priority: WARNING
YAML
if "$VIGIL" rules validate "$tmp/bad.yaml" >"$tmp/out" 2>"$tmp/err"; then fail "bad file validated"; fi
grep -q "bad.yaml:3:54: rule 'Broken': condition column 41: expected a value after 'startswith', got end of condition" "$tmp/err" \
  || fail "imprecise error: $(cat "$tmp/err")"

# usage errors exit 2
set +e
"$VIGIL" rules frobnicate >/dev/null 2>&1; [ $? -eq 2 ] || fail "unknown action should exit 2"
"$VIGIL" rules validate >/dev/null 2>&1; [ $? -eq 2 ] || fail "validate without files should exit 2"
set -e

# rootfs layout: <root>/bin/vigil lists <root>/etc/vigil/rules/ by default
mkdir -p "$tmp/root/bin" "$tmp/root/etc/vigil/rules"
cp "$VIGIL" "$tmp/root/bin/vigil"
cp "$SRC_DIR"/rules/default/*.yaml "$tmp/root/etc/vigil/rules/"
"$tmp/root/bin/vigil" rules list >"$tmp/list" 2>&1 || fail "rules list in rootfs layout: $(cat "$tmp/list")"
grep -q "active    Critical      kill   Reverse shell" "$tmp/list" || fail "default rules not listed: $(head -3 "$tmp/list")"
# the built rootfs (when the build made one): started through its own loader,
# as `vigil run` is in a task, it finds its etc/vigil/rules/
root="${BUILD_DIR:-}/rootfs"
if [ -x "$root/lib64/ld-linux-x86-64.so.2" ] && [ -d "$root/etc/vigil/rules" ]; then
  "$root/lib64/ld-linux-x86-64.so.2" --library-path "$root/lib64" "$root/bin/vigil" rules list >"$tmp/list" 2>&1 \
    || fail "rules list in the built rootfs: $(tail -3 "$tmp/list")"
  grep -q " 0 skipped" "$tmp/list" || fail "built rootfs rules: $(tail -1 "$tmp/list")"
fi
echo "ok"
