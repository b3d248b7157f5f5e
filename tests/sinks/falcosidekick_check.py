#!/usr/bin/env python3
"""Checks alert JSON lines the way falcosidekick's HTTP handler does, plus
Falco's own alert shape. Usage: falcosidekick_check.py FILE... (lines that are
not JSON objects with a "rule" are skipped). Exit 1 with one line per problem.

falcosidekick (types.FalcoPayload, handlers.go newFalcoPayload) decodes the
body into FalcoPayload (Go encoding/json: a key of the wrong JSON type is a
decode error -> HTTP 400), then answers 400 unless Check() holds:
  priority parses (case-insensitive emergency|alert|critical|error|warning|
  notice|informational|debug), rule != "", time is not zero (an RFC 3339
  string, time.Time's JSON form), len(output_fields) > 0.
Unknown top-level keys are dropped and uuid is replaced, so everything vigil
adds must live in output_fields. Falco's shape on top of that: output_fields
values typed (numbers as numbers, absent as null, never "<NA>"), evt.time an
integer of nanoseconds.
"""
import datetime
import json
import re
import sys

PRIORITIES = {"emergency", "alert", "critical", "error", "warning", "notice", "informational", "debug"}
# FalcoPayload's fields and their JSON types (Go decode errors otherwise).
PAYLOAD_TYPES = {"uuid": str, "output": str, "priority": str, "rule": str, "time": str,
                 "output_fields": dict, "source": str, "tags": list, "hostname": str}
# Go's time.Time.UnmarshalJSON: RFC 3339 with optional fraction (up to 9 digits).
RFC3339 = re.compile(r"^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(\.\d{1,9})?(Z|[+-]\d\d:\d\d)$")
# Fields Falco always types as integers, when vigil sends them.
INT_FIELDS = {"evt.time", "proc.pid", "proc.ppid", "proc.vpid", "proc.tty", "user.uid", "group.gid",
              "user.loginuid", "fd.num", "fd.sport", "fd.cport", "fd.rport", "fd.lport", "evt.res",
              "vigil.count"}


def problems(a):
    out = []
    for key, typ in PAYLOAD_TYPES.items():
        if key in a and a[key] is not None and not isinstance(a[key], typ):
            out.append(f"{key} is {type(a[key]).__name__}, FalcoPayload wants {typ.__name__} (decode error, HTTP 400)")
    if any(not isinstance(t, str) for t in a.get("tags") or []):
        out.append("tags must be strings")
    if str(a.get("priority", "")).lower() not in PRIORITIES:
        out.append(f"priority {a.get('priority')!r} is not one of falcosidekick's (Check(): 400)")
    if not a.get("rule"):
        out.append("empty rule (Check(): 400)")
    m = RFC3339.match(str(a.get("time", "")))
    if not m:
        out.append(f"time {a.get('time')!r} is not RFC 3339 (decode error, 400)")
    elif datetime.datetime(int(m[1]), int(m[2]), int(m[3])).year <= 1:
        out.append("zero time (Check(): 400)")
    f = a.get("output_fields")
    if not isinstance(f, dict) or not f:
        out.append("empty output_fields (Check(): 400)")
        return out
    for k, v in f.items():
        if v == "<NA>":
            out.append(f"output_fields[{k}] is the string <NA>, Falco sends null")
        if k in INT_FIELDS and v is not None and (not isinstance(v, int) or isinstance(v, bool)):
            out.append(f"output_fields[{k}] = {v!r} is not a number")
    if not isinstance(f.get("evt.time"), int) or f["evt.time"] <= 0:
        out.append("output_fields[evt.time] missing or not an integer of ns")
    for k in ("container.id", "vigil.action", "vigil.count"):
        if k not in f:
            out.append(f"output_fields[{k}] missing")
    if f.get("vigil.action") not in ("none", "denied", "killed"):
        out.append(f"output_fields[vigil.action] = {f.get('vigil.action')!r}")
    if isinstance(f.get("vigil.count"), int) and f["vigil.count"] < 1:
        out.append("output_fields[vigil.count] < 1")
    extra = set(a) - set(PAYLOAD_TYPES)
    if extra:
        out.append(f"top-level keys falcosidekick drops: {sorted(extra)}")
    return out


def main():
    bad = n = 0
    for path in sys.argv[1:]:
        for line in open(path, errors="replace"):
            line = line.strip()
            if not line.startswith("{"):
                continue
            try:
                a = json.loads(line)
            except ValueError:
                continue
            if "rule" not in a:
                continue
            n += 1
            for p in problems(a):
                bad += 1
                print(f"falcosidekick check: rule {a.get('rule')!r}: {p}")
    if bad:
        sys.exit(1)
    print(f"falcosidekick check: {n} alerts ok")


if __name__ == "__main__":
    main()
