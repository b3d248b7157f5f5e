#!/usr/bin/env bash
# vigil hunt: a generated event set (bench/hunt/gen.py, two tasks with the same
# pids) with a planted hash, IP and domain; the indicators in a plain list, a
# CSV and a STIX bundle; events split into rotated files (one gzip'd) given
# out of order, and on stdin (plain and gzip). Checks the matching events,
# their process trees (text and --json), exit codes and error reports.
set -euo pipefail
: "${VIGIL:?}" "${SRC_DIR:?}"
command -v python3 >/dev/null || { echo "SKIP: python3 is not installed"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

hash=9a1f0c3e5b7d2e4f6a8c0b1d3e5f7a9c2b4d6e8f0a1c3e5b7d9f2a4c6e8b0d1f
ip=203.0.113.77
domain=evil-pool.example
python3 "$SRC_DIR/bench/hunt/gen.py" --events 6000 --sensors 2 --seed 7 --plant-at 0.9 \
  --hash "$hash" --ip "$ip" --domain "$domain" --out "$tmp/all.jsonl" --iocs "$tmp/decoys.txt" --decoys 300 2>/dev/null
sed -i '2,4d' "$tmp/decoys.txt"  # keep only the decoys (lines 2-4 are the planted ones)
# the generator writes what vigil writes: every record valid OCSF (tests/ocsf/validate.py)
python3 - "$tmp/all.jsonl" <<'PY' || fail "generated events are not valid OCSF"
import json, os, sys
sys.path.insert(0, os.path.join(os.environ["SRC_DIR"], "tests", "ocsf"))
from validate import validate
for n, l in enumerate(open(sys.argv[1]), 1):
    errs = validate(json.loads(l))
    assert not errs, f"line {n}: {errs}"
PY

# the planted chain, read from the data: miner exec -> its parent sh -> the app -> the entrypoint
read -r miner sh < <(python3 - "$tmp/all.jsonl" <<'PY'
import json, sys
for l in open(sys.argv[1]):
    e = json.loads(l)
    if e["unmapped"]["type"] == "exec" and e["process"]["file"]["path"] == "/tmp/.cache/kworkerd":
        print(e["process"]["pid"], e["process"]["parent_process"]["pid"]); break
PY
)
[ -n "$miner" ] || fail "generator planted no miner"

# indicator files: hash in a plain list, IP as a CIDR in CSV, domain in STIX
printf '# planted\n%s\n' "$hash" >"$tmp/hash.txt"
printf 'type,value,comment\nip-dst,203.0.113.64/26,"c2, pool"\n' >"$tmp/ip.csv"
cat >"$tmp/domain.json" <<JSON
{"type":"bundle","id":"bundle--1","objects":[
 {"type":"indicator","id":"indicator--d","pattern_type":"stix","pattern":"[domain-name:value = '$domain']"},
 {"type":"indicator","id":"indicator--and","pattern_type":"stix","pattern":"[ipv4-addr:value = '1.2.3.4' AND ipv4-addr:value = '5.6.7.8']"}]}
JSON

# rotated files: .2 (oldest) gzip'd, .1, then the live file; given newest first
mkdir "$tmp/logs"
n=$(wc -l <"$tmp/all.jsonl")
split -l $(( (n + 2) / 3 )) -d -a 1 "$tmp/all.jsonl" "$tmp/part"
mv "$tmp/part0" "$tmp/logs/events.jsonl.2" && gzip "$tmp/logs/events.jsonl.2"
mv "$tmp/part1" "$tmp/logs/events.jsonl.1"
mv "$tmp/part2" "$tmp/logs/events.jsonl"
L="$tmp/logs"
grep -q kworkerd "$L/events.jsonl" || fail "the plant should be in the newest file"

check_json() {  # FILE EXPECTED_EVENTS
  python3 - "$1" "$2" "$miner" "$sh" "$hash" <<'PY' || fail "--json output: see above"
import json, sys
out, want, miner, sh, h = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
recs = [json.loads(l) for l in open(out)]
assert len(recs) == want, f"{len(recs)} matches, want {want}"
for r in recs:
    ev, tree = r["event"], r["process_tree"]
    subject = ev["process"] if ev["unmapped"]["type"] == "exec" else ev["actor"]["process"]
    assert subject["pid"] == miner, ev
    pids = [t["pid"] for t in tree]
    exes = [t["exe"] for t in tree]
    assert exes == ["/usr/bin/dash", "/usr/bin/python3.11", "/usr/bin/dash", "/tmp/.cache/kworkerd"], exes
    assert pids[0] == 7 and pids[2] == sh and pids[3] == miner, pids
    assert tree[0]["cmd_line"] == "/bin/sh /app/start.sh" and tree[2]["cmd_line"].startswith("sh -c curl"), tree
    for t in tree[1:]:
        assert t["ppid"] == pids[pids.index(t["pid"]) - 1], tree
    assert r["file"].endswith("events.jsonl") or r["file"] == "(stdin)", r["file"]
    assert isinstance(r["line"], int) and r["line"] > 0
    for hit in r["hits"]:
        assert hit["type"] in ("sha256", "ip", "domain"), hit
        assert hit["source"] and hit["field"] and hit["value"], hit
PY
}

# each indicator alone: the hash marks all 5 events of the miner (exec, DNS query
# and answer, connect, write); the IP the DNS answer and the connect; the domain
# the query, the answer and the connect (remote_name)
for spec in "hash.txt 5" "ip.csv 2" "domain.json 3"; do
  set -- $spec
  "$VIGIL" hunt --ioc "$tmp/$1" --json "$L/events.jsonl" "$L/events.jsonl.1" "$L/events.jsonl.2.gz" \
    >"$tmp/out.json" 2>"$tmp/err" || fail "hunt --ioc $1 exited $?: $(cat "$tmp/err")"
  check_json "$tmp/out.json" "$2"
done
grep -q "skipped: $tmp/domain.json: indicator--and: unsupported pattern" "$tmp/err" || fail "unsupported STIX not reported: $(cat "$tmp/err")"

# all three plus 300 decoys, text output
"$VIGIL" hunt --ioc "$tmp/hash.txt" --ioc "$tmp/ip.csv" --ioc "$tmp/domain.json" --ioc "$tmp/decoys.txt" \
  "$L"/events.jsonl* >"$tmp/out.txt" 2>"$tmp/err" || fail "hunt exited $?: $(cat "$tmp/err")"
[ "$(grep -c '<- this event' "$tmp/out.txt")" = 5 ] || fail "want 5 matching events: $(cat "$tmp/out.txt")"
grep -qF "ioc   sha256 $hash ($tmp/hash.txt:2) at process.file.hashes[].value = $hash" "$tmp/out.txt" \
  || fail "no hash hit line (exec)"
grep -qF "ioc   sha256 $hash ($tmp/hash.txt:2) at actor.process.file.hashes[].value = $hash" "$tmp/out.txt" \
  || fail "no hash hit line (the miner's calls)"
grep -q "ioc   ip 203.0.113.64/26 ($tmp/ip.csv:2) at dst_endpoint.ip = $ip" "$tmp/out.txt" || fail "no IP hit line"
grep -q "ioc   ip 203.0.113.64/26 ($tmp/ip.csv:2) at answers\[\].rdata = $ip" "$tmp/out.txt" || fail "no DNS answer hit"
grep -q "ioc   domain $domain ($tmp/domain.json: indicator--d) at dst_endpoint.hostname = pool.$domain" "$tmp/out.txt" \
  || fail "no domain hit line"
grep -q "^  tree  7 /usr/bin/dash  /bin/sh /app/start.sh$" "$tmp/out.txt" || fail "tree root: $(cat "$tmp/out.txt")"
grep -q "^           └─ $sh /usr/bin/dash  sh -c curl" "$tmp/out.txt" || fail "tree: no sh $sh: $(head -20 "$tmp/out.txt")"
grep -q "^              └─ $miner /tmp/.cache/kworkerd  /tmp/.cache/kworkerd -o pool.$domain:3333   <- this event$" \
  "$tmp/out.txt" || fail "tree: no miner line"
grep -q "^$L/events.jsonl:[0-9]*  .*  connect  $ip:3333 (pool.$domain)  host=" "$tmp/out.txt" || fail "no connect header"
grep -q "5 matching events" "$tmp/err" || fail "summary: $(cat "$tmp/err")"

# stdin, plain and gzip'd: the same
"$VIGIL" hunt --ioc "$tmp/hash.txt" --json - <"$tmp/all.jsonl" >"$tmp/stdin.json" 2>"$tmp/err" || fail "stdin: $(cat "$tmp/err")"
check_json "$tmp/stdin.json" 5
gzip -c "$tmp/all.jsonl" | "$VIGIL" hunt --ioc "$tmp/hash.txt" --json - >"$tmp/stdin.json" 2>"$tmp/err" \
  || fail "gzip stdin: $(cat "$tmp/err")"
check_json "$tmp/stdin.json" 5
grep -q '"file":"(stdin)"' "$tmp/stdin.json" || fail "stdin not named (stdin)"

# the fork/exec lines that build the tree are scanned when they are what
# vigil writes and parsed by nlohmann otherwise: the same tree when the
# shell's exec has escapes and non-ASCII text (\" and \u00e9, keys reordered), gzip'd
python3 - "$tmp/all.jsonl" "$sh" "$tmp/odd.jsonl" <<'PY'
import json, sys
src, sh, out = sys.argv[1], int(sys.argv[2]), open(sys.argv[3], "w")
for l in open(src):
    e = json.loads(l)
    if e["unmapped"]["type"] in ("exec", "fork") and e["process"]["pid"] == sh:
        e["process"]["cmd_line"] = 'sh -c "caf\u00e9 \\ x"'
        l = json.dumps(dict(reversed(list(e.items()))), separators=(",", ":")) + "\n"
    out.write(l)
PY
gzip "$tmp/odd.jsonl"
"$VIGIL" hunt --ioc "$tmp/hash.txt" --json "$tmp/odd.jsonl.gz" >"$tmp/odd.json" 2>"$tmp/err" || fail "odd: $(cat "$tmp/err")"
python3 - "$tmp/odd.json" "$sh" "$miner" <<'PY' || fail "tree with escaped cmd_line: $(head -c 2000 "$tmp/odd.json")"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
assert len(recs) == 5, len(recs)
for r in recs:
    tree = {t["pid"]: t for t in r["process_tree"]}
    if int(sys.argv[3]) in tree:
        assert tree[int(sys.argv[2])]["cmd_line"] == 'sh -c "caf\u00e9 \\ x"', tree
        break
else:
    raise SystemExit("no tree with the miner")
PY

# only the decoys: no match, exit 1
set +e
"$VIGIL" hunt --ioc "$tmp/decoys.txt" "$tmp/all.jsonl" >"$tmp/out" 2>"$tmp/err"; rc=$?
[ $rc = 1 ] && [ ! -s "$tmp/out" ] || fail "decoys only: exit $rc, want 1 and no output"
# time bounds: the plant is at 90% of the stream
last=$(tail -1 "$tmp/all.jsonl" | python3 -c 'import json,sys; print(json.load(sys.stdin)["time_dt"])')
"$VIGIL" hunt --ioc "$tmp/hash.txt" --since "$last" "$tmp/all.jsonl" >/dev/null 2>&1; rc=$?
[ $rc = 1 ] || fail "--since after the plant: exit $rc, want 1"
"$VIGIL" hunt --ioc "$tmp/hash.txt" --until 2026-01-01 "$tmp/all.jsonl" >/dev/null 2>&1; rc=$?
[ $rc = 1 ] || fail "--until before the plant: exit $rc, want 1"
"$VIGIL" hunt --ioc "$tmp/hash.txt" --since 2026-01-01 --until 2030-01-01 "$tmp/all.jsonl" >/dev/null 2>&1; rc=$?
[ $rc = 0 ] || fail "bounds around the plant: exit $rc, want 0"

# malformed event lines: counted and reported with file:line, fatal only with --strict
{ head -3 "$tmp/all.jsonl"; echo '{"truncated":'; echo 'garbage'; tail -n +4 "$tmp/all.jsonl"; } >"$tmp/bad.jsonl"
"$VIGIL" hunt --ioc "$tmp/hash.txt" "$tmp/bad.jsonl" >/dev/null 2>"$tmp/err"; rc=$?
[ $rc = 0 ] || fail "malformed lines without --strict: exit $rc, want 0"
grep -q "2 malformed line(s) skipped" "$tmp/err" && grep -q "$tmp/bad.jsonl:4: not a JSON object on one line" "$tmp/err" \
  && grep -q "$tmp/bad.jsonl:5:" "$tmp/err" || fail "malformed report: $(cat "$tmp/err")"
"$VIGIL" hunt --strict --ioc "$tmp/hash.txt" "$tmp/bad.jsonl" >/dev/null 2>&1; rc=$?
[ $rc = 2 ] || fail "--strict with malformed lines: exit $rc, want 2"
{ head -3 "$tmp/all.jsonl"; echo '{"a":}'; } >"$tmp/bad2.jsonl"
"$VIGIL" hunt --strict --ioc "$tmp/hash.txt" "$tmp/bad2.jsonl" >/dev/null 2>"$tmp/err"; rc=$?
[ $rc = 2 ] && grep -q "bad2.jsonl:4: not valid JSON" "$tmp/err" || fail "--strict parses every line: $rc $(cat "$tmp/err")"
"$VIGIL" hunt --strict --ioc "$tmp/domain.json" "$tmp/all.jsonl" >/dev/null 2>"$tmp/err"; rc=$?
[ $rc = 2 ] && grep -q "error: .*indicator--and" "$tmp/err" || fail "--strict with an unsupported STIX pattern: $rc"

# a line over 16 MiB is skipped and reported, the rest of the file is still searched
{ python3 -c 'print("{\"a\":\"" + "x" * (17 << 20) + "\"}")'; cat "$tmp/all.jsonl"; } >"$tmp/big.jsonl"
"$VIGIL" hunt --ioc "$tmp/hash.txt" --json "$tmp/big.jsonl" >"$tmp/big.json" 2>"$tmp/err"; rc=$?
[ $rc = 0 ] && grep -q "big.jsonl:1: longer than 16 MiB, skipped" "$tmp/err" || fail "oversized line: $rc $(cat "$tmp/err")"
[ "$(wc -l <"$tmp/big.json")" = 5 ] || fail "oversized line: the matches after it were not all found"

# a matching line split by the 1 MiB read buffer: at its first bytes, inside the hash, at its end
python3 - "$tmp/all.jsonl" "$hash" "$tmp" <<'PY'
import sys
src, h, d = sys.argv[1:]
line = next(l for l in open(src) if h in l)
at = line.index(h)
for i, split in enumerate([1, at + 10, at + 64, len(line) - 2]):
    pad = (1 << 20) - split - 1  # the planted line starts `split` bytes before the buffer's end
    with open(f"{d}/split{i}.jsonl", "w") as out:
        out.write('{"a":"' + "x" * (pad - 9) + '"}\n' + line)
PY
for i in 0 1 2 3; do
  "$VIGIL" hunt --ioc "$tmp/hash.txt" --json "$tmp/split$i.jsonl" >"$tmp/split.json" 2>"$tmp/err" || fail "split line $i: $(cat "$tmp/err")"
  [ "$(wc -l <"$tmp/split.json")" = 1 ] || fail "a line across the read buffer's end (split $i) not matched"
done

# text output never passes terminal control sequences from event contents
cat >"$tmp/esc.jsonl" <<JSON
{"metadata":{"uid":"s:1"},"unmapped":{"type":"openat"},"time":1795000000000,"time_dt":"2026-11-18T11:00:00Z","actor":{"process":{"pid":9,"parent_process":{"pid":1},"file":{"path":"/x","hashes":[{"algorithm_id":3,"value":"$hash"}]},"cmd_line":"a\\u001b]0;owned\\u0007b\\u009bc"}}}
{"id":"s:2","type":"openat","time":"2026-11-18T11:00:00Z","process":{"pid":9,"ppid":1,"exe":"/x","cmd_line":"d\\u001b]0;owned\\u0007e","sha256":"$hash"}}
{"id":"s:3","type":"openat","time":"2026-11-18T11:00:00Z","process":{"pid":9,"ppid":1,"exe":"/x","cmd_line":"f\\u202eg\\\\x07h","sha256":"$hash"}}
JSON
"$VIGIL" hunt --ioc "$tmp/hash.txt" "$tmp/esc.jsonl" >"$tmp/esc.txt" 2>&1 || fail "escape event not matched: $(cat "$tmp/esc.txt")"
if LC_ALL=C grep -q $'[\x01-\x08\x0b-\x1f\x7f]\|\xc2[\x80-\x9f]' "$tmp/esc.txt"; then fail "control characters in text output"; fi
grep -q 'a\\x1b\]0;owned\\x07b\\xc2\\x9bc' "$tmp/esc.txt" || fail "control characters not shown as \\xNN: $(cat "$tmp/esc.txt")"
grep -q 'd\\x1b\]0;owned\\x07e' "$tmp/esc.txt" || fail "vigil's former layout (process.sha256) not matched: $(cat "$tmp/esc.txt")"
# a bidi control (U+202E reverses what follows on screen) and a backslash the
# name itself holds: shown as \xNN and \\, so a name cannot pass for an escape
grep -qF 'f\xe2\x80\xaeg\\x07h' "$tmp/esc.txt" || fail "bidi control or backslash not escaped: $(cat "$tmp/esc.txt")"

# events vigil itself wrote: a path the app wrote and the hash of a program it ran, with their trees
truebin=$(readlink -f /bin/true)
"$VIGIL" run --events="$tmp/real.jsonl" -- sh -c "echo x > $tmp/dropped; $truebin; exit 0" || fail "vigil run failed"
printf '%s\n%s\n' "$tmp/dropped" "$(sha256sum "$truebin" | cut -d' ' -f1)" >"$tmp/real.txt"
"$VIGIL" hunt --ioc "$tmp/real.txt" --json "$tmp/real.jsonl" >"$tmp/real.json" 2>"$tmp/err" || fail "real events: $(cat "$tmp/err")"
python3 - "$tmp/real.json" "$tmp/dropped" "$truebin" <<'PY' || fail "hunt over vigil's own events: $(cat "$tmp/real.json")"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
by = {(r["event"]["unmapped"]["type"], h["field"]): r for r in recs for h in r["hits"]}
w = by[("openat", "file.path")]  # the shell's write: the shell alone in its tree
assert w["hits"][0]["value"] == sys.argv[2] and [t["exe"] for t in w["process_tree"]] == [w["event"]["actor"]["process"]["file"]["path"]], w
for key in (("exec", "process.file.hashes[].value"), ("exit", "actor.process.file.hashes[].value")):
    tree = by[key]["process_tree"]  # true, forked by the shell: its exec and its exit
    assert [t["exe"] for t in tree] == [w["process_tree"][0]["exe"], sys.argv[3]], (key, tree)
    assert tree[1]["ppid"] == tree[0]["pid"], (key, tree)
PY

# usage and input errors: exit 2 with what and where
printf '203.0.113.5\nnonsense here\n' >"$tmp/badioc.txt"
"$VIGIL" hunt --ioc "$tmp/badioc.txt" "$tmp/all.jsonl" >/dev/null 2>"$tmp/err"; rc=$?
[ $rc = 2 ] && grep -q "$tmp/badioc.txt:2: cannot tell the type of 'nonsense here'" "$tmp/err" || fail "bad IoC line: $rc $(cat "$tmp/err")"
"$VIGIL" hunt "$tmp/all.jsonl" >/dev/null 2>&1; [ $? = 2 ] || fail "no --ioc should exit 2"
"$VIGIL" hunt --ioc "$tmp/hash.txt" >/dev/null 2>&1; [ $? = 2 ] || fail "no EVENTS should exit 2"
"$VIGIL" hunt --ioc "$tmp/hash.txt" --frob "$tmp/all.jsonl" >/dev/null 2>&1; [ $? = 2 ] || fail "unknown option should exit 2"
"$VIGIL" hunt --ioc "$tmp/hash.txt" --since soon "$tmp/all.jsonl" >/dev/null 2>&1; [ $? = 2 ] || fail "bad --since should exit 2"
"$VIGIL" hunt --ioc "$tmp/hash.txt" "$tmp/missing.jsonl" "$tmp/all.jsonl" >/dev/null 2>"$tmp/err"; rc=$?
[ $rc = 2 ] && grep -q "missing.jsonl: cannot open" "$tmp/err" || fail "missing input: exit $rc $(cat "$tmp/err")"
head -c 3000 "$L/events.jsonl.2.gz" >"$tmp/trunc.gz"
"$VIGIL" hunt --ioc "$tmp/hash.txt" "$tmp/trunc.gz" >/dev/null 2>"$tmp/err"; rc=$?
[ $rc = 2 ] || fail "truncated gzip: exit $rc, want 2 ($(cat "$tmp/err"))"
set -e
echo "hunt: ok"
