#!/usr/bin/env bash
# vigil's journal and spool (--spool-dir) are vigil's, whatever the rules: an
# app (root) that truncates the journal, a file vigil maps, cut its
# durability (it killed vigil with SIGBUS until 2026-12-07), and one that writes the
# journal or the spool forges the records vigil delivers. Every way tried
# (open O_TRUNC, truncate(2), a hard link of the journal made first, a new
# file in the spool) is refused with a Critical "Sensor tamper attempt", in
# detect and prevent mode, with no rules and with the default rules; vigil
# and the app live on. A truncation vigil does not see (a writer outside the
# task) no longer kills vigil either: a Critical alert says so.
set -euo pipefail
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/app.py" <<'PY'
import os, sys
spool, other = sys.argv[1], sys.argv[2]
journal = os.path.join(spool, "journal")
def attempt(name, fn):
    try:
        fn()
        print(f"{name} ok", flush=True)
    except OSError as e:
        print(f"{name} errno={e.errno}", flush=True)
attempt("open-trunc", lambda: os.close(os.open(journal, os.O_WRONLY | os.O_TRUNC)))
attempt("open-write", lambda: os.close(os.open(journal, os.O_RDWR)))
attempt("truncate", lambda: os.truncate(journal, 0))
# A hard link outside the spool (the link itself may be trapped or not), then a write-open of it.
try:
    os.link(journal, os.path.join(other, "alias"))
    attempt("alias-trunc", lambda: os.close(os.open(os.path.join(other, "alias"), os.O_WRONLY | os.O_TRUNC)))
except OSError as e:
    print(f"alias-trunc errno={e.errno} (link refused)", flush=True)
# A record forged into a sink's spool segment directory (delivered as vigil's own).
segdir = [os.path.join(spool, d) for d in os.listdir(spool) if d.startswith("file-")][0]
attempt("forge-segment", lambda: os.close(os.open(os.path.join(segdir, "forged"), os.O_WRONLY | os.O_CREAT, 0o600)))
# The spool directory itself is not vigil's to keep: other names there are the app's business.
os.close(os.open(os.path.join(spool, "not-vigils"), os.O_WRONLY | os.O_CREAT, 0o600))
print(f"journal-size={os.stat(journal).st_size}", flush=True)
PY
for rules in /dev/null "$SRC_DIR/rules/default"; do
  for mode in detect prevent; do
    rm -rf "$tmp/spool" "$tmp/other" "$tmp/alerts"; mkdir -p "$tmp/other"
    "$VIGIL" run --mode=$mode --rules="$rules" --spool-dir="$tmp/spool" --alerts=file:$tmp/alerts -- \
      python3 "$tmp/app.py" "$tmp/spool" "$tmp/other" >"$tmp/out" 2>"$tmp/err" \
      || { cat "$tmp/out" "$tmp/err"; echo "FAIL ($mode, $rules): vigil or the app died"; exit 1; }
    holes=$(grep -E ' ok$' "$tmp/out" || true)
    [ -z "$holes" ] || { cat "$tmp/out"; echo "FAIL ($mode, $rules): reached vigil's journal or spool: $holes"; exit 1; }
    [ "$(grep -c ' errno=' "$tmp/out")" -eq 5 ] || { cat "$tmp/out"; echo "FAIL ($mode, $rules): attempts missing"; exit 1; }
    grep -qE '^journal-size=[1-9]' "$tmp/out" || { cat "$tmp/out"; echo "FAIL ($mode, $rules): the journal was emptied"; exit 1; }
    ! ls "$tmp"/spool/file-*/forged >/dev/null 2>&1 || { echo "FAIL ($mode, $rules): a record was forged in the spool"; exit 1; }
    n=$(python3 -c '
import json, sys
print(sum(1 for l in open(sys.argv[1]) if json.loads(l).get("rule") == "Sensor tamper attempt"))' "$tmp/alerts")
    [ "$n" -ge 4 ] || { cat "$tmp/out" "$tmp/alerts"; echo "FAIL ($mode, $rules): $n tamper alerts"; exit 1; }
  done
done
# A writer vigil's guard does not see (outside the task: here this script;
# inside, an open that raced the check in detect mode) truncates the journal
# while vigil runs: vigil lives on (before: SIGBUS, and the app killed), says so
# once with a Critical tamper alert, and the app's later alerts are delivered.
rm -rf "$tmp/spool" "$tmp/alerts"
"$VIGIL" run --rules="$SRC_DIR/rules/default" --spool-dir="$tmp/spool" --alerts=file:$tmp/alerts --   sh -c 'while [ ! -e "$0/go" ]; do sleep 0.05; done; for i in 1 2 3; do cat /etc/shadow >/dev/null; done; echo done' "$tmp"   >"$tmp/out" 2>"$tmp/err" &
vpid=$!
for _ in $(seq 200); do [ -s "$tmp/spool/journal" ] && break; sleep 0.05; done
sleep 0.3
truncate -s 0 "$tmp/spool/journal"
touch "$tmp/go"
wait $vpid || { cat "$tmp/out" "$tmp/err"; echo "FAIL (outside truncation): vigil or the app died"; exit 1; }
grep -qx done "$tmp/out" || { cat "$tmp/out" "$tmp/err"; echo "FAIL (outside truncation): the app did not finish"; exit 1; }
python3 - "$tmp/alerts" <<'PY'
import json, sys
al = [json.loads(l) for l in open(sys.argv[1])]
cut = [a for a in al if a["rule"] == "Sensor tamper attempt" and "truncated" in a["output"]]
assert len(cut) == 1 and cut[0]["priority"] == "Critical", al
assert any("shadow" in a["output"] for a in al), [a["rule"] for a in al]  # the app's alerts after the truncation
PY
rm -f "$tmp/go"
# --spool-dir through a symlink (TMPDIR=/var/tmp, say): a segment named by its real path is vigil's too.
rm -rf "$tmp/spool" "$tmp/other" "$tmp/alerts"; mkdir -p "$tmp/other" "$tmp/real"; ln -s "$tmp/real" "$tmp/link"
"$VIGIL" run --rules=/dev/null --spool-dir="$tmp/link/spool" --alerts=file:$tmp/alerts -- \
  python3 "$tmp/app.py" "$tmp/real/spool" "$tmp/other" >"$tmp/out" 2>"$tmp/err" \
  || { cat "$tmp/out" "$tmp/err"; echo "FAIL (symlinked spool): vigil or the app died"; exit 1; }
! grep -E ' ok$' "$tmp/out" || { cat "$tmp/out"; echo "FAIL (symlinked spool): reached vigil's journal or spool"; exit 1; }
echo ok
