#!/usr/bin/env bash
# Reads of files a rule names are seen by inotify (read-opens are not
# trapped), and their process is found by its fd, or, when the reader closed
# the file before that look, guessed: a process whose argv names the file
# (alive, or among the last exited). The guess must never hide an alert: a
# decoy whose argv names the file and whom the rule trusts (here a program
# named `decoy`; with the default rules, `unix_chkpwd /etc/shadow`, an image
# admin program) exits, then another process reads the file at once and
# closes it. The rule's exception is for the decoy; the read must still
# alert (as nobody's, the reader being unknown). Before: no alert at all.
# And the guess still serves its purpose: `cat FILE` alone is attributed to
# cat; but not a read made 3 s after cat exited (by a process whose argv
# does not name the file): before, any of the last 64 exited processes
# stood for every later read.
set -euo pipefail
: "${VIGIL:?}"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
echo secret >"$tmp/secret"
cp /bin/true "$tmp/decoy"
cat >"$tmp/rules.yaml" <<YAML
- rule: secret read
  desc: d
  condition: evt.type in (open, openat) and evt.is_open_read = true and fd.name = $tmp/secret and not proc.name = decoy
  output: secret read (file=%fd.name process=%proc.name attributed=%evt.arg.attributed_by)
  priority: WARNING
YAML
"$VIGIL" run --rules="$tmp/rules.yaml" --alerts="file:$tmp/alerts" --events="file:$tmp/events" -- \
  sh -c '"$0/decoy" "$0/secret"; python3 -c "open(\"$0/secret\").read()"; sleep 0.5' "$tmp" 2>"$tmp/err" ||
  fail "the run failed: $(tail -3 "$tmp/err")"
python3 - "$tmp/alerts" "$tmp/events" "$tmp/secret" <<'PY' || fail "a read hidden behind a decoy's argv"
import json, os, sys
sys.path.insert(0, os.environ["SRC_DIR"] + "/tests/shell"); from events_view import events
alerts = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
reads = [e for e in events(sys.argv[2]) if (e.get("file") or {}).get("path") == sys.argv[3] and e["args"].get("source") == "inotify"]
assert reads, "no inotify read of the secret: the test proves nothing"
hits = [a for a in alerts if a["rule"] == "secret read"]
assert hits, "no alert (reads: %s)" % [((e.get("process") or {}).get("name"), e["args"]) for e in reads]
PY
# cat alone: the guess names it.
rm -f "$tmp/alerts"
"$VIGIL" run --rules="$tmp/rules.yaml" --alerts="file:$tmp/alerts" -- sh -c 'cat "$0/secret" >/dev/null; sleep 0.5' "$tmp" \
  2>"$tmp/err" || fail "the cat run failed: $(tail -3 "$tmp/err")"
python3 - "$tmp/alerts" <<'PY' || fail "cat's read not attributed to cat"
import json, sys
hits = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
hits = [a for a in hits if a["rule"] == "secret read"]
assert len(hits) == 1 and hits[0]["output_fields"]["proc.name"] == "cat", [a["output"] for a in hits]
PY
rm -f "$tmp/events"
"$VIGIL" run --rules="$tmp/rules.yaml" --events="file:$tmp/events" --alerts="file:$tmp/alerts2" -- \
  sh -c 'cat "$0/secret" >/dev/null; sleep 3; python3 -c "open(\"$0/secret\").read()"; sleep 0.5' "$tmp" 2>"$tmp/err" ||
  fail "the late read run failed: $(tail -3 "$tmp/err")"
python3 - "$tmp/events" "$tmp/secret" <<'PY' || fail "a read 3 s after cat's exit given to cat"
import os, sys
sys.path.insert(0, os.environ["SRC_DIR"] + "/tests/shell"); from events_view import events
reads = [e for e in events(sys.argv[1]) if (e.get("file") or {}).get("path") == sys.argv[2] and e["args"].get("source") == "inotify"]
assert len(reads) >= 2, reads
last = reads[-1]
assert (last.get("process") or {}).get("name") != "cat", (last.get("process") or {}).get("name")
PY
echo ok
