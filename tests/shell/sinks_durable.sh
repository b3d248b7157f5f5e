#!/usr/bin/env bash
# Records outlive a SIGKILL of vigil (docs/sinks.md "Durability"): the app
# raises alerts (about 30 attacks on the sensor: kill, tgkill, prlimit, ...
# of vigil's pid; and a command line with the metadata address), then vigil is SIGKILLed from
# outside right after. Sinks: a file, and an HTTP sink whose receiver is down.
# 1. vigil not PID 1: the keeper writes every alert the sinks lacked (file:
#    appended; HTTP: on stderr, "recovered":true) and a Critical "Sensor died".
# 2. vigil PID 1 of its pid namespace (the keeper dies with it): the next
#    start with the same --spool-dir delivers them from the journal, and says
#    that run died.
# Each alert raised before the kill is found exactly once in the file and
# once on stderr, valid JSON; as many of each rule as in a run not killed.
# Events (--events, the same two sinks) likewise: each exactly once in the
# event file and once recovered on stderr, byte for byte what the file sink
# wrote (plus "recovered":true), the app's last event before the kill (the
# open of the fifo) among them, the attacks' events as in a run not killed.
# 3. A full journal (--journal-size=4k, sinks not delivering) does not stall
#    the app: the records not journaled are counted.
set -euo pipefail
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
A="$FIXTURES/guard_attack"
unshare -pf --mount-proc true 2>/dev/null || { echo "SKIP: needs pid namespaces (unshare -pf)"; exit 77; }
http="http://127.0.0.1:$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')/"
# The app: the attacks, then "done" into the fifo when $1 is stop, then waits
# to be killed. $2 = pid1: vigil is PID 1, whose group's kill(0, SIGKILL) is
# let through (the kernel keeps it from PID 1): the attacks run in a group of
# their own and end there.
cat >"$tmp/app.sh" <<EOF
trap '' USR1  # the attacks' SIGUSR1 to vigil is forwarded here
GUARD_ATTACK_VIGIL=\$PPID \${2:+setsid} '$A' calls >'$tmp/out'
/bin/echo http://169.254.169.254/latest/meta-data/ >/dev/null
[ "\${1:-}" != stop ] || { echo done >'$tmp/fifo'; exec sleep 60; }
EOF
run_opts() {
  echo "--alerts=file:$tmp/$1/alerts --alerts=$http --events=file:$tmp/$1/events --events=$http" \
    "--spool-dir=$tmp/$1/spool --flush-timeout=1s"
}

check() {  # check NAME ALERTS STDERR REF MIN [MAXDIED]: every alert once in ALERTS and once recovered in STDERR, as many per rule as REF
  python3 - "$@" <<'PY'
import collections, json, sys
name, alerts, err, ref, least = sys.argv[1:6]
max_died = int(sys.argv[6]) if len(sys.argv) > 6 else 1
def lines(path, only_json=False):
    out = []
    for l in open(path):
        if only_json and not l.startswith("{"):
            continue  # vigil's log lines
        out.append(json.loads(l))  # every record: valid JSON
    return out
fa, ea, ra = lines(alerts), [a for a in lines(err, True) if "rule" in a], lines(ref)
died = [a for a in fa if a["rule"] == "Sensor died"]
assert 1 <= len(died) <= max_died and all(d["priority"] == "Critical" for d in died), f"{name}: 'Sensor died' alerts in the file: {died}"
fa = [a for a in fa if a["rule"] != "Sensor died"]
ea = [a for a in ea if a.get("rule") != "Sensor died"]
ids = [a["uuid"] for a in fa]
assert len(ids) == len(set(ids)), f"{name}: alerts twice in the file: {[i for i, n in collections.Counter(ids).items() if n > 1]}"
eids = [a["uuid"] for a in ea]
assert len(eids) == len(set(eids)), f"{name}: alerts twice on stderr"
assert all(a.get("recovered") is True for a in ea), f"{name}: stderr records not marked recovered"
assert set(ids) == set(eids), f"{name}: file and stderr (the HTTP sink's records) differ: {set(ids) ^ set(eids)}"
# (repeats a rule holds back in its rate-limit window come out at a clean exit only)
by_rule = lambda l: collections.Counter(a["rule"] for a in l)
assert set(by_rule(fa)) == set(by_rule(ra)), f"{name}: rules {by_rule(fa)}, a run not killed raised {by_rule(ra)}"
tamper = by_rule(fa)["Sensor tamper attempt"]
assert tamper == by_rule(ra)["Sensor tamper attempt"], f"{name}: {tamper} tamper alerts, a run not killed raised {by_rule(ra)}"
assert tamper >= int(least), f"{name}: only {tamper} tamper alerts"
print(f"{name}: {len(fa)} alerts ({tamper} tamper attempts) once in the file and once recovered on stderr, "
      f"{sum(1 for a in fa if a.get('recovered'))} of them recovered into the file")
PY
}

check_events() {  # check_events NAME EVENTS STDERR REF FIFO: the killed run's events once in EVENTS and once recovered in STDERR
  python3 - "$@" <<'PY'
import collections, json, sys
name, events, err, ref, fifo = sys.argv[1:6]
def records(path):  # (raw line, parsed) of every event record; each must be valid JSON
    out = []
    for l in open(path):
        if l.startswith("{"):
            j = json.loads(l)
            if "class_uid" in j and ":stats:" not in j["metadata"]["uid"]:  # (stats records are not journaled)
                out.append((l.rstrip("\n"), j))
    return out
uid = lambda j: j["metadata"]["uid"]
fe, ee, re_ = records(events), records(err), records(ref)
assert fe, f"{name}: no events in the file"
sensor = uid(fe[0][1]).rsplit(":", 1)[0]  # the killed run's (a next start adds its own)
fe = [r for r in fe if uid(r[1]).startswith(sensor + ":")]
ee = [r for r in ee if uid(r[1]).startswith(sensor + ":")]
mark = ',"recovered":true}'
base = lambda l: l[:-len(mark)] + "}" if l.endswith(mark) else l  # the line a sink writes
# (ids are not unique: events vigil makes itself, outside the call sequence, have seq 0)
for what, recs in (("the file", fe), ("stderr", ee)):
    lines = collections.Counter(base(l) for l, _ in recs)
    twice = [l for l, n in lines.items() if n > 1]
    assert not twice, f"{name}: events twice in {what}: {twice[:3]}"
assert all(j.get("recovered") is True for _, j in ee), f"{name}: stderr events not marked recovered"
# Byte for byte what the file sink wrote (or the keeper, for records the file lacked), each of them.
diff = {base(l) for l, _ in fe} ^ {base(l) for l, _ in ee}
assert not diff, f"{name}: the file and stderr (the HTTP sink's events) differ: {sorted(diff)[:4]}"
fifo_open = [j for _, j in ee if j.get("unmapped", {}).get("file", {}).get("path") == fifo]
assert fifo_open, f"{name}: the app's open of {fifo} just before the kill was not recovered"
key = lambda j: (j["class_uid"], j["activity_id"], j["unmapped"]["type"], j.get("disposition", ""))
attacks = lambda recs: collections.Counter(key(j) for _, j in recs
                                           if j.get("actor", {}).get("process", {}).get("name") == "guard_attack")
assert attacks(fe) == attacks(re_), f"{name}: the attacks' events {attacks(fe)}, a run not killed: {attacks(re_)}"
print(f"{name}: {len(fe)} events once in the file and once recovered on stderr (identical to the sink's lines), "
      f"{sum(1 for _, j in fe if j.get('recovered'))} of them recovered into the file; "
      f"{sum(attacks(fe).values())} attack events as in a run not killed")
PY
}

# --- 1. vigil not PID 1 (a shell is PID 1 of the namespace) -----------------
mkdir -p "$tmp/ref1" "$tmp/k1"
unshare -pf --mount-proc setsid sh -c "'$VIGIL' run $(run_opts ref1) -- sh '$tmp/app.sh'" 2>"$tmp/ref1/err" \
  || { cat "$tmp/ref1/err"; echo "FAIL: reference run"; exit 1; }
mkfifo "$tmp/fifo"
unshare -pf --mount-proc setsid sh -c "
  '$VIGIL' run $(run_opts k1) -- sh '$tmp/app.sh' stop 2>'$tmp/k1/err' &
  vp=\$!
  timeout 120 head -n1 '$tmp/fifo' >/dev/null || { echo 'the app did not finish its attacks'; exit 1; }
  kill -KILL \$vp
  # the keeper kills the app and writes what vigil had not delivered
  for i in \$(seq 100); do pgrep -x vigil-keeper >/dev/null || exit 0; sleep 0.1; done
  echo 'keeper still running'; exit 1" || { cat "$tmp/k1/err"; echo "FAIL: not PID 1: run"; exit 1; }
grep -q "the sensor died: killing the app" "$tmp/k1/err" || { cat "$tmp/k1/err"; echo "FAIL: the keeper did not act"; exit 1; }
check "not PID 1" "$tmp/k1/alerts" "$tmp/k1/err" "$tmp/ref1/alerts" 20 || { echo "FAIL: not PID 1"; exit 1; }
check_events "not PID 1" "$tmp/k1/events" "$tmp/k1/err" "$tmp/ref1/events" "$tmp/fifo" \
  || { echo "FAIL: not PID 1: events"; exit 1; }

# --- 2. vigil PID 1 of its pid namespace -----------------------------------
mkdir -p "$tmp/ref2" "$tmp/k2"
unshare -pf --mount-proc setsid "$VIGIL" run $(run_opts ref2) -- sh "$tmp/app.sh" run pid1 2>"$tmp/ref2/err" \
  || { cat "$tmp/ref2/err"; echo "FAIL: reference run as PID 1"; exit 1; }
unshare -pf --mount-proc setsid "$VIGIL" run $(run_opts k2) -- sh "$tmp/app.sh" stop pid1 2>"$tmp/k2/err0" &
up=$!
timeout 120 head -n1 "$tmp/fifo" >/dev/null || { cat "$tmp/k2/err0"; echo "FAIL: PID 1: the app did not finish its attacks"; exit 1; }
vp=$(pgrep -P "$up")
kill -KILL "$vp"
set +e; wait "$up"; set -e
[ -s "$tmp/k2/spool/journal" ] || { echo "FAIL: PID 1: no journal file"; exit 1; }
# The next start, same spool and file sinks, without the HTTP sink: its records come out on stderr.
"$VIGIL" run --alerts=file:"$tmp/k2/alerts" --events=file:"$tmp/k2/events" --spool-dir="$tmp/k2/spool" -- true \
  2>"$tmp/k2/err" \
  || { cat "$tmp/k2/err"; echo "FAIL: PID 1: the next start"; exit 1; }
# Usually the keeper dies with the namespace and the next start recovers. The
# keeper can also see vigil's death first and recover (all, or part before the
# namespace's SIGKILL reaches it): its stderr is err0, the next start's err.
grep '"rule":"Sensor died"' "$tmp/k2/alerts" | grep -q "earlier run\|without standing its keeper down" \
  || { cat "$tmp/k2/alerts"; echo "FAIL: PID 1: no alert that the earlier run died"; exit 1; }
cat "$tmp/k2/err0" "$tmp/k2/err" >"$tmp/k2/err_all"
check "PID 1" "$tmp/k2/alerts" "$tmp/k2/err_all" "$tmp/ref2/alerts" 5 2 || { echo "FAIL: PID 1"; exit 1; }
check_events "PID 1" "$tmp/k2/events" "$tmp/k2/err_all" "$tmp/ref2/events" "$tmp/fifo" || { echo "FAIL: PID 1: events"; exit 1; }

# --- 3. a full journal does not stall the app --------------------------------
mkdir -p "$tmp/full"
start=$(date +%s)
unshare -pf --mount-proc setsid sh -c "'$VIGIL' run $(run_opts full) --journal-size=4k -- '$A' calls >/dev/null; echo status=\$?" \
  >"$tmp/full/out" 2>"$tmp/full/err"
grep -q '^status=0$' "$tmp/full/out" || { cat "$tmp/full/out" "$tmp/full/err"; echo "FAIL: full journal: vigil or the app failed"; exit 1; }
took=$(( $(date +%s) - start ))
[ "$took" -lt 30 ] || { echo "FAIL: full journal: the run took ${took}s"; exit 1; }
grep -qE "journal .*: [0-9]+ records not journaled so far" "$tmp/full/err" \
  || { cat "$tmp/full/err"; echo "FAIL: full journal: the loss was not reported"; exit 1; }
grep -qE "delivery summary: .*, [0-9]+ not journaled" "$tmp/full/err" \
  || { cat "$tmp/full/err"; echo "FAIL: full journal: not counted in the summary"; exit 1; }
echo "full journal: app done in ${took}s, $(grep -oE '[0-9]+ not journaled' "$tmp/full/err")"
echo ok
