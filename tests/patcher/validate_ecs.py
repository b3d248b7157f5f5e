#!/usr/bin/env python3
"""Validates JSON documents against the ECS RegisterTaskDefinition input shape of botocore's
service model: required members, types, enums, and no unknown members, recursively; then
botocore's own ParamValidator (lengths, ranges). Usage: validate_ecs.py [--cfn] FILE...
With --cfn, FILE is a CloudFormation JSON template: the Properties of each
AWS::ECS::TaskDefinition are checked the same way with PascalCase member names (the API name
with its first letter upper-cased); intrinsic functions stand for any value.
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


def intrinsic(value):
    return isinstance(value, dict) and len(value) == 1 and (
        next(iter(value)) in ("Ref", "Condition") or next(iter(value)).startswith("Fn::"))


def check(shape, value, path, problems, pascal=False):
    if pascal and intrinsic(value):
        return
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
        members = {(m[0].upper() + m[1:] if pascal else m): m for m in shape.members}
        for name in members:
            if members[name] in shape.required_members and name not in value:
                problems.append(f"{path}: missing required member '{name}'")
        for name, v in value.items():
            if name not in members:
                problems.append(f"{path}: unknown member '{name}'")
            else:
                check(shape.members[members[name]], v, f"{path}.{name}", problems, pascal)
    elif t == "list":
        for i, v in enumerate(value):
            check(shape.member, v, f"{path}[{i}]", problems, pascal)
    elif t == "map":
        for k, v in value.items():
            check(shape.key, k, f"{path}{{key}}", problems, pascal)
            check(shape.value, v, f"{path}.{k}", problems, pascal)


def main(args):
    cfn = args[:1] == ["--cfn"]
    files = args[1:] if cfn else args
    model = botocore.model.ServiceModel(botocore.loaders.Loader().load_service_model("ecs", "service-2"))
    shape = model.shape_for("RegisterTaskDefinitionRequest")
    failed = False
    for f in files:
        with open(f) as fh:
            doc = json.load(fh)
        problems = []
        if cfn:
            tasks = {name: r.get("Properties", {}) for name, r in doc.get("Resources", {}).items()
                     if r.get("Type") == "AWS::ECS::TaskDefinition"}
            if not tasks:
                problems.append("no AWS::ECS::TaskDefinition resource")
            for name, props in tasks.items():
                props = dict(props, Family=props.get("Family", "x"))  # optional in CloudFormation
                check(shape, props, f"Resources.{name}.Properties", problems, pascal=True)
        else:
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
