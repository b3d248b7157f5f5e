#!/usr/bin/env python3
"""E2E: tests/e2e/run-taskdef runs ECS task definitions with podman.
1. taskdef-features.json: volumes, dependsOn (START, COMPLETE, SUCCESS, HEALTHY,
   and a SUCCESS that fails), entryPoint+command, environment, user,
   readonlyRootFilesystem, capabilities, essential semantics (SIGTERM to the rest).
2. tests/patcher/ecs/seed-before.json (a copy of the reference seed task) as is, images mapped to local ones.
3. The same seed patched by `vigil patch ecs` (the sensor image's own binary):
   the init container fills the volume, the app runs sensored, events come out.
Images come from tests/e2e/run.sh. Exit 0 pass, 1 fail, 77 skipped."""
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from e2elib import APP_PREFIX, SENSOR_IMAGE, Checks, exec_events, not_implemented, podman, short, split_stderr  # noqa: E402

SRC = os.path.dirname(os.path.dirname(HERE))
SEED = os.path.join(os.environ.get("SRC_DIR", SRC), "tests", "patcher", "ecs", "seed-before.json")
SEED_IMAGE = "123456789012.dkr.ecr.ap-northeast-1.amazonaws.com/web:1.4.2"
HELLO_OUT = "Hello, World from python\nchild says hi\n"


def run_taskdef(path, logs, *maps):
    cmd = [os.path.join(HERE, "run-taskdef"), "--logs", logs, "--timeout", "240"]
    for m in maps:
        cmd += ["--image-map", m]
    p = subprocess.run(cmd + [path], stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=600)
    try:
        summary = json.loads(p.stdout)
    except ValueError:
        summary = {"containers": []}
    by = {x["name"]: x for x in summary.get("containers", [])}
    return p, summary, by


def read(logs, name, stream):
    try:
        with open(os.path.join(logs, f"{name}.{stream}")) as f:
            return f.read()
    except OSError:
        return None


def features(c, tmp):
    logs = os.path.join(tmp, "features")
    p, s, by = run_taskdef(os.path.join(HERE, "taskdef-features.json"), logs, f"example.invalid/busybox:1={APP_PREFIX}/busybox")
    c.equal("features: run-taskdef exit (essential app exited 0)", p.returncode, 0)
    if not c.check("features: summary lists every container", len(by) == 6, short(p.stdout + p.stderr)):
        return
    c.equal("features: stopped because the essential container exited", s.get("stoppedReason"), "essential container app exited")
    c.equal("features: app output (env, user, SUCCESS dep + volume, read-only root, caps)", read(logs, "app", "stdout"),
            "hi there\n1000\nready-from-setup\nroot-ro\nCapBnd:\t0000000000000400\n")
    c.equal("features: exit codes", {n: by[n]["exitCode"] for n in by},
            {"setup": 0, "db": 137, "once": 3, "never": None, "app": 0, "sidecar": 7})
    c.equal("features: db became HEALTHY before app started", by["db"]["health"], "HEALTHY")
    c.check("features: a failed SUCCESS dependency keeps 'never' from starting",
            not by["never"]["started"] and "dependency failed" in (by["never"]["reason"] or ""), json.dumps(by["never"]))
    c.equal("features: sidecar got SIGTERM when the essential app exited", read(logs, "sidecar", "stdout"),
            "sidecar up\nsidecar got TERM\n")


def errors(c, tmp):
    """Bad task definitions: exit 2 with one line naming the problem, nothing left behind."""
    cases = {
        "unknown dependsOn": ({"containerDefinitions": [{"name": "a", "image": "x", "dependsOn": [
            {"containerName": "b", "condition": "START"}]}]}, "dependsOn names unknown container 'b'"),
        "no essential container": ({"containerDefinitions": [{"name": "a", "image": "x", "essential": False}]},
                                   "at least one container must be essential"),
        "image not local": ({"containerDefinitions": [{"name": "a", "image": "example.invalid/nope:1"}]},
                            "--image-map example.invalid/nope:1=LOCAL_IMAGE"),
    }
    # An entrypoint that does not exist: the task stops, run-taskdef says why (exit 1, not a crash).
    path = os.path.join(tmp, "nostart.json")
    with open(path, "w") as f:
        json.dump({"containerDefinitions": [{"name": "a", "image": f"{APP_PREFIX}/busybox", "entryPoint": ["/nonexistent"]}]}, f)
    p, s, by = run_taskdef(path, os.path.join(tmp, "nostart-logs"))
    c.check("errors: missing entrypoint stops the task with the reason", p.returncode == 1 and
            "could not start: failed to start" in (s.get("stoppedReason") or "") and "/nonexistent" in s["stoppedReason"],
            short(p.stdout + p.stderr))
    for name, (td, want) in cases.items():
        path = os.path.join(tmp, "bad.json")
        with open(path, "w") as f:
            json.dump(td, f)
        p, _, _ = run_taskdef(path, os.path.join(tmp, "bad-logs"))
        lines = p.stderr.strip().splitlines()
        c.check(f"errors: {name}: exit 2, one line", p.returncode == 2 and len(lines) == 1 and want in lines[0],
                f"exit {p.returncode}: {short(p.stderr)}")


def seed(c, tmp):
    logs = os.path.join(tmp, "seed")
    p, s, by = run_taskdef(SEED, logs, f"{SEED_IMAGE}={APP_PREFIX}/debian")
    c.equal("seed (unpatched): run-taskdef exit", p.returncode, 0)
    c.equal("seed (unpatched): web output", read(logs, "web", "stdout"), HELLO_OUT)


def patched(c, tmp):
    if os.environ.get("VIGIL_E2E_NO_SENSOR"):
        return c.skip("patched seed task", os.environ["VIGIL_E2E_NO_SENSOR"])
    out = os.path.join(tmp, "patched.json")
    # The patcher of the sensor image itself, as a user would run it.
    p = podman("run", "--rm", "--network=none", "-v", f"{os.path.dirname(os.path.abspath(SEED))}:/in:ro", "-v", f"{tmp}:/out",
               "--entrypoint", json.dumps(["/vigil-rootfs/bin/vigil-launch", "patch", "ecs", "--in", "/in/seed-before.json",
                                           "--out", "/out/patched.json", "--image", SENSOR_IMAGE, "--opts", "--events=stderr"]),
               SENSOR_IMAGE)
    if p.returncode != 0 and not_implemented(p.stderr, "patch"):
        return c.skip("patched seed task", "`vigil patch` is not implemented yet")
    if not c.equal("patched: vigil patch ecs exit", p.returncode, 0):
        print(short(p.stderr))
        return
    logs = os.path.join(tmp, "patched")
    r, s, by = run_taskdef(out, logs, f"{SEED_IMAGE}={APP_PREFIX}/debian")
    init = by.get("vigil-init") or {}
    if init.get("exitCode") not in (None, 0) and not_implemented(read(logs, "vigil-init", "stderr") or "", "init"):
        return c.skip("patched seed task", "`vigil init` is not implemented yet")
    c.equal("patched: vigil-init exit", init.get("exitCode"), 0)
    err = read(logs, "web", "stderr") or ""
    if by.get("web", {}).get("exitCode") != 0 and not_implemented(err, "run"):
        return c.skip("patched seed task: web sensored", "`vigil run` is not implemented yet")
    c.equal("patched: run-taskdef exit", r.returncode, 0)
    c.equal("patched: web output unchanged under the sensor", read(logs, "web", "stdout"), HELLO_OUT)
    events, alerts, other = split_stderr(err)
    c.check("patched: exec event of python /tmp/helloworld.py", exec_events(events, None, "/tmp/helloworld.py"), short(err))
    c.check("patched: exec event of the subprocess", exec_events(events, "/usr/local/bin/app", "child"), short(err))


def main():
    c = Checks("e2e taskdef")
    with tempfile.TemporaryDirectory(prefix="vigil-e2e-taskdef-") as tmp:
        features(c, tmp)
        errors(c, tmp)
        if not c.check("the reference seed task definition exists", os.path.isfile(SEED),
                       f"{SEED} is missing"):
            return c.finish()
        seed(c, tmp)
        patched(c, tmp)
    return c.finish()


if __name__ == "__main__":
    sys.exit(main())
