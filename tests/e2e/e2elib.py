"""Helpers shared by the e2e test scripts (containers.py, taskdef.py)."""
import json
import os as _os
import sys as _sys
_sys.path.insert(0, _os.path.join(_os.path.dirname(_os.path.abspath(__file__)), "..", "shell"))
from events_view import validate, view  # noqa: E402
_sys.path.insert(0, _os.path.join(_os.path.dirname(_os.path.abspath(__file__)), "..", "sinks"))
from falcosidekick_check import problems as falcosidekick_problems  # noqa: E402
import os
import subprocess
import sys

SENSOR_IMAGE = os.environ.get("VIGIL_E2E_IMAGE", "localhost/vigil:e2e")
APP_PREFIX = os.environ.get("VIGIL_E2E_APP_PREFIX", "localhost/vigil-e2e")
# The patched entrypoint prefix (the contract of `vigil patch ecs`, volume at /vigil).
WRAP = ["/vigil/rootfs/bin/vigil-launch", "run", "--"]
SKIP = 77


def podman(*args, timeout=300, check=False):
    p = subprocess.run(["podman", *args], stdin=subprocess.DEVNULL, capture_output=True, text=True,
                       timeout=timeout)
    if check and p.returncode != 0:
        raise RuntimeError(f"podman {' '.join(args)} failed ({p.returncode}): {p.stderr.strip()}")
    return p


def not_implemented(stderr, what):
    """True when stderr says that subcommand WHAT is a stub (the skeleton's message)."""
    return any("not implemented" in l and what in l for l in stderr.splitlines())


def split_stderr(text):
    """Splits a sensored container's stderr into (events, alerts, other lines)."""
    events, alerts, other = [], [], []
    for line in text.splitlines():
        if not line.strip():
            continue  # the empty line before each alert (docs/sinks.md, "stderr is the app's too")
        try:
            obj = json.loads(line) if line.startswith("{") else None
        except ValueError:
            obj = None
        if isinstance(obj, dict) and obj.get("class_uid"):
            errs = validate(obj)  # every event of the e2e runs is valid OCSF
            assert not errs, f"not valid OCSF: {errs}: {line}"
            events.append(view(obj))  # the flat view the checks use (tests/shell/events_view.py)
        elif isinstance(obj, dict) and "class_uid" in obj:
            pass  # stats records
        elif isinstance(obj, dict) and "rule" in obj:
            errs = falcosidekick_problems(obj)  # every alert passes falcosidekick's checks, in Falco's shape
            assert not errs, f"alert falcosidekick would refuse: {errs}: {line}"
            alerts.append(obj)
        else:
            other.append(line)
    return events, alerts, other


class Checks:
    """Counts named checks and prints one line per failure; closes with 'N passed, N failed'."""

    def __init__(self, suite):
        self.suite, self.passed, self.failed, self.skipped = suite, 0, 0, 0

    def check(self, name, ok, detail=""):
        if ok:
            self.passed += 1
            print(f"  ok   {name}")
        else:
            self.failed += 1
            print(f"  FAIL {name}" + (f"\n       {detail}" if detail else ""))
        return ok

    def skip(self, name, why):
        self.skipped += 1
        print(f"  skip {name}: {why}")

    def equal(self, name, got, want):
        return self.check(name, got == want, f"got {got!r}, want {want!r}")

    def finish(self):
        """1 if a check failed, else 77 (skipped) if a check needed a missing piece, else 0."""
        print(f"{self.suite}: {self.passed} passed, {self.failed} failed, {self.skipped} skipped")
        sys.stdout.flush()
        return 1 if self.failed else SKIP if self.skipped else 0


def exec_events(events, exe_suffix=None, arg=None):
    out = []
    for e in events:
        p = e.get("process") or {}
        if e.get("type") != "exec":
            continue
        if exe_suffix and not (p.get("exe") or "").endswith(exe_suffix):
            continue
        if arg is not None and arg not in (p.get("args") or []):
            continue
        out.append(e)
    return out


def exit_events(events, exe_suffix):
    return [e for e in events if e.get("type") == "exit" and (e.get("process") or {}).get("exe", "").endswith(exe_suffix)]


def alerts_about(alerts, needle):
    return [a for a in alerts if needle in json.dumps(a)]


def short(text, n=600):
    return text if len(text) <= n else text[:n] + f"... ({len(text)} chars)"
