"""Reads vigil's event stream for the shell tests.

events(path) validates every record against the OCSF schema (tests/ocsf/
validate.py: each probe test thereby checks the real events it causes) and
returns them in a flat view of what the probes saw, so the probe tests assert
behaviour, not the encoding:

  type, seq, id, class_uid, class_name (process, file_system, ...), action, res, exit, child_pid, args (unmapped.*),
  process  = the subject: `process` for exec/exit, else `actor.process`, in
             vigil's names (pid, tid, ppid, name, exe, cmd_line, args, cwd,
             user, sha256, tty, sid, script, parent {pid, name, exe})
  file     = unmapped.file (path, raw_path, target, flags, mode, fd) + sha256
  network  = unmapped.network (domain, type, protocol, local, remote, remote_name, fd)
  dns      = qname, qtype, answers
"""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "ocsf"))
from validate import validate  # noqa: E402


OLD_CLASS = {1007: "process", 1001: "file_system", 4001: "network", 4003: "dns"}


def _process(p, extra):
    if not p:
        return None
    out = {"pid": p.get("pid"), "name": p.get("name"), "cmd_line": p.get("cmd_line"),
           "exe": (p.get("file") or {}).get("path", ""), "cwd": p.get("working_directory", "")}
    if "tid" in p:
        out["tid"] = p["tid"]
    hashes = (p.get("file") or {}).get("hashes") or []
    if hashes:
        out["sha256"] = hashes[0]["value"]
    parent = p.get("parent_process")
    if parent and "name" in parent:
        out["parent"] = {"pid": parent["pid"], "name": parent.get("name"), "exe": (parent.get("file") or {}).get("path", "")}
    out.update(extra or {})
    return out


def view(rec):
    un = rec.get("unmapped") or {}
    t = un.get("type")
    e = {"type": t, "seq": rec["metadata"].get("sequence"), "id": rec["metadata"].get("uid"),
         "class_uid": rec.get("class_uid"), "class_name": OLD_CLASS.get(rec.get("class_uid")), "ocsf": rec}
    for k in ("res", "exit", "child_pid", "args", "action", "file", "network"):
        if k in un:
            e[k] = dict(un[k]) if isinstance(un[k], dict) else un[k]
    subject = rec.get("process") if t in ("exec", "exit") else (rec.get("actor") or {}).get("process")
    p = _process(subject, un.get("process"))
    if p:
        e["process"] = p
    if "file" in e:
        hashes = (rec.get("file") or {}).get("hashes") or []
        if hashes:
            e["file"]["sha256"] = hashes[0]["value"]
    if "network" in e:
        for side in ("local", "remote"):
            if side in e["network"] and not e["network"][side].get("port"):
                e["network"][side].pop("port", None)
    if "query" in rec:
        e["dns"] = {"qname": rec["query"]["hostname"], "qtype": (un.get("dns") or {}).get("qtype"),
                    "answers": [a["rdata"] for a in rec.get("answers") or []]}
    return e


def events(path, encoding=None):
    out = []
    for line in open(path, encoding=encoding):
        if not line.strip():
            continue
        rec = json.loads(line)
        if not rec.get("class_uid"):
            continue  # stats records
        errs = validate(rec)
        assert not errs, f"not valid OCSF: {errs}: {line}"
        out.append(view(rec))
    return out
