#!/usr/bin/env python3
"""Validates JSON documents against the ECS RegisterTaskDefinition input shape of botocore's
service model: required members, types, enums, and no unknown members, recursively; then
botocore's own ParamValidator (lengths, ranges). Usage: validate_ecs.py FILE...
Exit 0 if every file is valid; otherwise prints one line per problem and exits 1."""
import json
import sys

import botocore.loaders
import botocore.model
import botocore.validate

PY_TYPES = {
    "string": str, "boolean": bool, "list": list, "structure": dict, "map": dict,
    "timestamp": str, "blob": str,
}


def check(shape, value, path, problems):
    t = shape.type_name
    if t in ("integer", "long"):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif t in ("float", "double"):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    else:
        ok = isinstance(value, PY_TYPES[t])
    if not ok:
        problems.append(f"{path}: expected {t}, got {type(value).__name__}")
        return
    if t == "string" and shape.enum and value not in shape.enum:
        problems.append(f"{path}: '{value}' is not one of {shape.enum}")
    elif t == "structure":
        for name in shape.required_members:
            if name not in value:
                problems.append(f"{path}: missing required member '{name}'")
        for name, v in value.items():
            if name not in shape.members:
                problems.append(f"{path}: unknown member '{name}'")
            else:
                check(shape.members[name], v, f"{path}.{name}", problems)
    elif t == "list":
        for i, v in enumerate(value):
            check(shape.member, v, f"{path}[{i}]", problems)
    elif t == "map":
        for k, v in value.items():
            check(shape.key, k, f"{path}{{key}}", problems)
            check(shape.value, v, f"{path}.{k}", problems)


def main(files):
    model = botocore.model.ServiceModel(botocore.loaders.Loader().load_service_model("ecs", "service-2"))
    shape = model.shape_for("RegisterTaskDefinitionRequest")
    failed = False
    for f in files:
        with open(f) as fh:
            doc = json.load(fh)
        problems = []
        check(shape, doc, "$", problems)
        report = botocore.validate.ParamValidator().validate(doc, shape)
        if report.has_errors():
            problems.append(report.generate_report().replace("\n", " "))
        for p in problems:
            print(f"{f}: {p}")
        failed |= bool(problems)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
