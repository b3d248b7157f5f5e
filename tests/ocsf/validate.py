#!/usr/bin/env python3
"""Validates JSON lines against the OCSF schema files vendored in
tests/ocsf/schema (OCSF 1.5.0, Apache-2.0, see schema/LICENSE and README.md).

Usage: validate.py FILE... ; records without a class_uid, or with class_uid 0
(vigil's stats records), are skipped. Exit 1 with one line per problem.

Checked, for every record and every object in it, the way the OCSF server's
validator does: required attributes (class chain base_event -> category class
-> class, objects through `extends`, profiles listed in metadata.profiles),
at_least_one / just_one constraints, no unknown attribute (so a wrong name
such as `exe` for `file.path` fails), JSON types of the dictionary types,
enum values of *_id attributes, type_uid = class_uid * 100 + activity_id,
category_uid of the class, metadata.version = the schema version.
"""
import json
import os
import sys

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "schema")
VERSION = "1.5.0"
CLASSES = {1001: "events/system/file_activity.json", 1007: "events/system/process_activity.json",
           4001: "events/network/network_activity.json", 4003: "events/network/dns_activity.json",
           2004: "events/findings/detection_finding.json"}
BY_NAME = {"base_event": "events/base_event.json", "system": "events/system/system.json",
           "network": "events/network/network.json", "finding": "events/findings/finding.json"}


def load(rel):
    with open(os.path.join(HERE, rel)) as f:
        return json.load(f)


DICT = load("dictionary.json")
ATTRS = DICT["attributes"]
TYPES = DICT["types"]["attributes"]
CATEGORIES = load("categories.json")["attributes"]


def merge(into, attrs, profiles):
    for name, spec in attrs.items():
        if name == "$include":
            for inc in spec:
                prof = load(inc)
                pname = prof.get("name")
                # a profile's attributes exist only when the record declares it
                merge(into, {k: dict(v, _profile=pname) for k, v in prof["attributes"].items()}, profiles)
            continue
        merged = dict(into.get(name, {}), **spec)
        if "enum" in spec and "enum" in into.get(name, {}):  # a class adds to base_event's 0/99
            merged["enum"] = dict(into[name]["enum"], **spec["enum"])
        into[name] = merged


def class_attrs(rel):
    chain, d = [], load(rel)
    while True:
        chain.append(d)
        if not d.get("extends"):
            break
        d = load(BY_NAME[d["extends"]])
    out = {}
    for d in reversed(chain):
        merge(out, d.get("attributes", {}), None)
    return chain[0], chain, out


def object_def(name):
    chain, n = [], name
    while n and n != "object":
        d = load(f"objects/{n}.json")
        chain.append(d)
        n = d.get("extends")
    attrs, constraints = {}, {}
    for d in reversed(chain):
        merge(attrs, d.get("attributes", {}), None)
        constraints.update(d.get("constraints") or {})
    return attrs, constraints


def base_type(t):
    while t in TYPES and TYPES[t].get("type"):
        t = TYPES[t]["type"]
    return t


def check_value(path, name, spec, v, profiles, errs):
    d = dict(ATTRS.get(name, {}), **{k: x for k, x in spec.items() if k != "_profile"})
    t = d.get("type")
    if t is None:
        return errs.append(f"{path}: no type for {name} in the dictionary")
    if d.get("is_array"):
        if not isinstance(v, list):
            return errs.append(f"{path}: expected an array")
        for i, x in enumerate(v):
            check_scalar(f"{path}[{i}]", name, t, d, x, profiles, errs)
    else:
        check_scalar(path, name, t, d, v, profiles, errs)


def check_scalar(path, name, t, d, v, profiles, errs):
    if t == "object_t" or (t not in TYPES and t != "object"):
        if not isinstance(v, dict):
            return errs.append(f"{path}: expected a {t} object")
        if t != "object_t":
            check_object(path, t, v, profiles, errs)
        return
    if t == "object" or t == "json_t":
        return
    b = base_type(t)
    ok = {"string_t": lambda x: isinstance(x, str), "integer_t": lambda x: isinstance(x, int) and not isinstance(x, bool),
          "long_t": lambda x: isinstance(x, int) and not isinstance(x, bool), "boolean_t": lambda x: isinstance(x, bool),
          "float_t": lambda x: isinstance(x, (int, float)) and not isinstance(x, bool)}.get(b, lambda x: True)
    if not ok(v):
        return errs.append(f"{path}: {v!r} is not a {t}")
    if name.endswith("_id") and "enum" in d and str(v) not in d["enum"]:
        errs.append(f"{path}: {v} is not in the enum of {name} ({sorted(d['enum'], key=int)})")


def check_attrs(path, attrs, rec, profiles, errs, dt_ok):
    for name, spec in attrs.items():
        if spec.get("requirement") == "required" and (spec.get("_profile") is None or spec["_profile"] in profiles):
            if rec.get(name) is None:
                errs.append(f"{path}: required attribute {name} missing")
    for name, v in rec.items():
        spec = attrs.get(name)
        if spec is None and dt_ok and name.endswith("_dt"):
            base = attrs.get(name[:-3])
            if base is not None and base_type(dict(ATTRS.get(name[:-3], {}), **base).get("type", "")) == "long_t":
                if not isinstance(v, str):
                    errs.append(f"{path}.{name}: expected an RFC 3339 string")
                continue
        if spec is None:
            errs.append(f"{path}: unknown attribute {name}")
            continue
        if spec.get("_profile") and spec["_profile"] not in profiles:
            errs.append(f"{path}: attribute {name} needs profile {spec['_profile']} in metadata.profiles")
        if v is not None:
            check_value(f"{path}.{name}", name, spec, v, profiles, errs)


def check_object(path, oname, rec, profiles, errs):
    attrs, constraints = object_def(oname)
    check_attrs(path, attrs, rec, profiles, errs, "datetime" in profiles)
    if "at_least_one" in constraints and not any(rec.get(a) is not None for a in constraints["at_least_one"]):
        errs.append(f"{path}: needs at least one of {constraints['at_least_one']}")
    if "just_one" in constraints and sum(rec.get(a) is not None for a in constraints["just_one"]) != 1:
        errs.append(f"{path}: needs exactly one of {constraints['just_one']}")


def validate(rec):
    errs = []
    uid = rec.get("class_uid")
    if uid not in CLASSES:
        return [f"class_uid {uid} is not one vigil emits"]
    cls, chain, attrs = class_attrs(CLASSES[uid])
    profiles = set((rec.get("metadata") or {}).get("profiles") or [])
    category = next(d["category"] for d in chain if "category" in d)  # inherited from the category class
    cat = CATEGORIES[category]
    if rec.get("category_uid") != cat["uid"]:
        errs.append(f"category_uid {rec.get('category_uid')} != {cat['uid']} ({category})")
    if uid != cat["uid"] * 1000 + cls["uid"]:
        errs.append(f"class_uid {uid} does not match the schema's {cat['uid'] * 1000 + cls['uid']}")
    if rec.get("type_uid") != uid * 100 + (rec.get("activity_id") or 0):
        errs.append(f"type_uid {rec.get('type_uid')} != class_uid * 100 + activity_id")
    if (rec.get("metadata") or {}).get("version") != VERSION:
        errs.append(f"metadata.version is not {VERSION}")
    check_attrs(f"{cls['name']}", attrs, rec, profiles, errs, "datetime" in profiles)
    return errs


def main():
    bad = n = 0
    seen = {}
    for path in sys.argv[1:]:
        for line in open(path, errors="replace"):
            line = line.strip()
            if not line.startswith("{"):
                continue
            rec = json.loads(line)
            if not rec.get("class_uid"):
                continue
            n += 1
            key = (rec["class_uid"], rec.get("activity_id"), (rec.get("unmapped") or {}).get("type"))
            seen[key] = seen.get(key, 0) + 1
            for e in validate(rec):
                bad += 1
                print(f"OCSF: {(rec.get('metadata') or {}).get('uid')} ({rec.get('class_name')}, "
                      f"{(rec.get('unmapped') or {}).get('type', '')}): {e}")
    if bad:
        sys.exit(1)
    print(f"OCSF {VERSION}: {n} records valid; classes/activities/types: "
          + ", ".join(f"{c}/{a}/{t}" for c, a, t in sorted(seen, key=str)))


if __name__ == "__main__":
    main()
