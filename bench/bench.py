#!/usr/bin/env python3
"""vigil bench harness (driven by bench/run.sh; see docs/bench.md).

Runs every workload natively, under `vigil run --` twice (as on Linux 6.6+,
and with VIGIL_NO_SYNC_WAKE_UP=1 as on kernels before 6.6 such as Fargate's
6.1) and optionally under a reference tracer (strace), interleaved (the order
reversed every repetition) so machine drift cancels, and reports per workload
the median of each column and the median of the paired throughput ratios. Writes <results>/<stamp>.md and .json with the
machine description.
"""
import argparse
import datetime
import json
import os
import platform
import resource
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

DEFAULT_COMPARE = ("strace -f --seccomp-bpf -qq -o /dev/null "
                   "-e trace=%process,open,openat,connect,accept,accept4,bind,listen")
RUN_TIMEOUT = 900  # seconds; a hung run is killed and reported as an error


class RunError(Exception):
    pass


# ---------------------------------------------------------------- running ---

class RssSampler(threading.Thread):
    """Samples VmHWM (peak RSS) of one process, and of its direct children
    running the same executable, every 50 ms until stopped."""

    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid, self.peak_kb, self.stop = pid, 0, threading.Event()

    @staticmethod
    def _hwm(pid):
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        return int(line.split()[1])
        except OSError:
            pass
        return 0

    def _pids(self):
        pids = [self.pid]
        try:
            exe = os.readlink(f"/proc/{self.pid}/exe")
            with open(f"/proc/{self.pid}/task/{self.pid}/children") as f:
                for child in f.read().split():
                    if os.readlink(f"/proc/{child}/exe") == exe:
                        pids.append(int(child))
        except OSError:
            pass
        return pids

    def run(self):
        while not self.stop.wait(0.05):
            for pid in self._pids():
                self.peak_kb = max(self.peak_kb, self._hwm(pid))


def run_cmd(argv, cwd=None, timeout=RUN_TIMEOUT, sample_rss=False, env=None):
    """Runs argv in its own session; returns (stdout, seconds, peak_rss_kb)."""
    t0 = time.perf_counter()
    p = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         start_new_session=True, env=env)
    sampler = RssSampler(p.pid) if sample_rss else None
    if sampler:
        sampler.start()
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.communicate()
        raise RunError(f"timed out after {timeout} s: {shlex.join(argv)}")
    finally:
        if sampler:
            sampler.stop.set()
            sampler.join()
    secs = time.perf_counter() - t0
    if p.returncode != 0:
        tail = " | ".join(err.strip().splitlines()[-3:])
        raise RunError(f"exit {p.returncode}: {shlex.join(argv)}: {tail}")
    return out, secs, (sampler.peak_kb if sampler else 0)


def last_json(out):
    for line in reversed(out.splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    raise RunError("workload printed no result line")


# -------------------------------------------------------------- workloads ---
# Each workload: measure(prefix, env) -> (throughput, shown value, rss_kb): the
# workload run under the prefix command with environment env (None: inherited).
# Throughput is what ratios are computed on (higher is better).

# The columns: key -> table heading. "vigil" and "nosync" differ only in
# VIGIL_NO_SYNC_WAKE_UP (sensor/tracer.cpp: the SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP flag).
HEADINGS = {"vigil": "6.6+", "nosync": "without SYNC_WAKE_UP (Fargate 6.1)", "ref": "ref",
            "floor": "floor 6.6+", "floor_nosync": "floor 6.1"}

class Workload:
    unit = "ops/s"
    osbench = False  # the reference tracer column is run on OSBench items only

    def __init__(self, name, target, ctx):
        self.name, self.target, self.ctx = name, target, ctx

    def prepare(self):
        pass

    def warmup(self):
        self.measure([], None)


class OsBench(Workload):
    osbench = True

    def __init__(self, name, target, ctx, full_n, quick_n):
        super().__init__(name, target, ctx)
        self.n = quick_n if ctx.quick else full_n

    def argv(self):
        return [os.path.join(self.ctx.bench_bin, self.name), str(self.n)]

    def measure(self, prefix, env):
        out, _, rss = run_cmd(prefix + self.argv(), sample_rss=bool(prefix), env=env)
        r = last_json(out)
        ops = r["ops"] / r["seconds"]
        return ops, ops, rss


class CreateFiles(OsBench):
    """Files go to tmpfs (/dev/shm) when possible: the syscalls are measured,
    not the disk, which other tenants of a shared machine make very noisy."""

    def argv(self):
        return super().argv() + ["/dev/shm" if os.access("/dev/shm", os.W_OK) else self.ctx.workdir]


class Startup(Workload):
    """Added latency of starting a program under the sensor: launch_programs of
    `/bin/true` vs `PREFIX /bin/true`, per launch; shown in ms."""
    unit = "ms per start"
    osbench = True

    def measure(self, prefix, env):
        n = 5 if self.ctx.quick else 200
        argv = [os.path.join(self.ctx.bench_bin, "launch_programs"), str(n)] + prefix + ["/bin/true"]
        if prefix:
            argv[2] = shutil.which(argv[2]) or argv[2]  # posix_spawn needs a path
        # CPU per start too: on a task of one vCPU or less every thread's CPU
        # is on the start's path (user + system of launch_programs and every
        # process it waited for: vigil and the app, not the keeper, which
        # outlives vigil; launch_programs' own loop is a few us per start).
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        out, _, _ = run_cmd(argv, env=env)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        r = last_json(out)
        ms = 1000.0 * r["seconds"] / r["ops"]
        cpu_ms = 1000.0 * ((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)) / r["ops"]
        return 1.0 / ms, ms, 0, cpu_ms


class Build(Workload):
    """`make -j2` from clean of a generated multi-file C project."""
    unit = "s"

    def prepare(self):
        self.files = 4 if self.ctx.quick else 200
        self.dir = os.path.join(self.ctx.workdir, f"build_project_{self.files}")
        os.makedirs(self.dir, exist_ok=True)
        calls = []
        for i in range(self.files):
            with open(os.path.join(self.dir, f"unit{i}.c"), "w") as f:
                f.write(f"""#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "project.h"
struct item{i} {{ int key; double weight; char name[32]; }};
static int cmp{i}(const void* a, const void* b) {{
  return ((const struct item{i}*)a)->key - ((const struct item{i}*)b)->key;
}}
long unit{i}(int n) {{
  struct item{i}* v = calloc((size_t)n, sizeof *v);
  long sum = 0;
  for (int k = 0; k < n; k++) {{ v[k].key = (k * {i + 7}) % 97; v[k].weight = k / 3.0;
    snprintf(v[k].name, sizeof v[k].name, "item-%d-%d", {i}, k); }}
  qsort(v, (size_t)n, sizeof *v, cmp{i});
  for (int k = 0; k < n; k++) sum += v[k].key + (long)strlen(v[k].name) + (long)v[k].weight;
  free(v);
  return sum;
}}
""")
            calls.append(f"  total += unit{i}(100);")
        with open(os.path.join(self.dir, "project.h"), "w") as f:
            f.write("".join(f"long unit{i}(int n);\n" for i in range(self.files)))
        with open(os.path.join(self.dir, "main.c"), "w") as f:
            f.write('#include <stdio.h>\n#include "project.h"\nint main(void) {\n  long total = 0;\n'
                    + "\n".join(calls) + '\n  printf("%ld\\n", total);\n  return 0;\n}\n')
        with open(os.path.join(self.dir, "Makefile"), "w") as f:
            f.write("CFLAGS = -O2 -Wall\nSRC = $(wildcard *.c)\nOBJ = $(SRC:.c=.o)\n"
                    "app: $(OBJ)\n\t$(CC) -o $@ $(OBJ)\n%.o: %.c project.h\n\t$(CC) $(CFLAGS) -c $<\n"
                    "clean:\n\trm -f app $(OBJ)\n")

    def measure(self, prefix, env):
        run_cmd(["make", "-s", "clean"], cwd=self.dir)
        _, secs, rss = run_cmd(prefix + ["make", "-s", "-j2"], cwd=self.dir, sample_rss=bool(prefix), env=env)
        out, _, _ = run_cmd(["./app"], cwd=self.dir)
        if not out.strip().isdigit():
            raise RunError("the built program printed no result")
        return 1.0 / secs, secs, rss


class GitGrep(Workload):
    """`git grep` over a generated tree committed to a git repository."""
    unit = "s"

    def prepare(self):
        self.files = 200 if self.ctx.quick else 20000
        self.dir = os.path.join(self.ctx.workdir, f"grep_tree_{self.files}")
        if os.path.exists(os.path.join(self.dir, ".complete")):
            return
        shutil.rmtree(self.dir, ignore_errors=True)
        lines = "".join(f"static int value_{k} = {k}; /* filler text for the grep bench */\n" for k in range(40))
        for i in range(self.files):
            d = os.path.join(self.dir, f"dir{i % 200:03d}")
            os.makedirs(d, exist_ok=True)
            with open(os.path.join(d, f"file{i}.c"), "w") as f:
                f.write(lines + (f"int needle_{i} = {i};\n" if i % 50 == 0 else ""))
        git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@localhost", "-c", "init.defaultBranch=main"]
        run_cmd(git + ["init", "-q"], cwd=self.dir)
        run_cmd(git + ["add", "-A"], cwd=self.dir)
        run_cmd(git + ["commit", "-q", "-m", "tree"], cwd=self.dir)
        open(os.path.join(self.dir, ".complete"), "w").close()

    def measure(self, prefix, env):
        out, secs, rss = run_cmd(prefix + ["git", "grep", "-c", "-e", "needle_"], cwd=self.dir,
                                 sample_rss=bool(prefix), env=env)
        if len(out.splitlines()) != (self.files + 49) // 50:
            raise RunError("git grep found the wrong number of files")
        return 1.0 / secs, secs, rss


class Http(Workload):
    """Static HTTP server under the prefix, wrk (native) on loopback."""
    unit = "req/s"

    def prepare(self):
        if not shutil.which("wrk"):
            raise RunError("wrk is not installed (bash scripts/deps.sh installs it)")
        self.root = os.path.join(self.ctx.workdir, "http_root")
        os.makedirs(self.root, exist_ok=True)
        with open(os.path.join(self.root, "index.html"), "w") as f:
            f.write("<html><body>" + "vigil bench " * 340 + "</body></html>\n")  # ~4 KiB

    def measure(self, prefix, env):
        duration = 1 if self.ctx.quick else 5
        with tempfile.TemporaryDirectory() as tmp:
            portfile = os.path.join(tmp, "port")
            server = subprocess.Popen(prefix + [os.path.join(self.ctx.bench_bin, "http_server"), self.root, portfile,
                                                "120"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                      start_new_session=True, env=env)
            sampler = RssSampler(server.pid) if prefix else None
            if sampler:
                sampler.start()
            try:
                deadline = time.monotonic() + 60
                while not os.path.exists(portfile):
                    if server.poll() is not None or time.monotonic() > deadline:
                        raise RunError(f"http_server did not start: {server.stderr.read().strip()[-300:]}")
                    time.sleep(0.02)
                url = f"http://127.0.0.1:{open(portfile).read().strip()}"
                out, _, _ = run_cmd(["wrk", "-t1", "-c8", f"-d{duration}s", url + "/index.html"], timeout=120)
                rps = next(float(l.split()[1]) for l in out.splitlines() if l.startswith("Requests/sec:"))
                if "Non-2xx" in out or "Socket errors" in out:
                    raise RunError(f"wrk reported errors: {out.strip()[-300:]}")
                urllib.request.urlopen(url + "/quit", timeout=30).read()
                server.wait(timeout=30)
            finally:
                if sampler:
                    sampler.stop.set()
                    sampler.join()
                if server.poll() is None:
                    os.killpg(server.pid, signal.SIGKILL)
                    server.wait()
                server.stderr.close()
        return rps, rps, (sampler.peak_kb if sampler else 0)


def make_workloads(ctx):
    # Targets: issue 14 (both columns; create_files with alerts only and the default rules).
    return [
        OsBench("create_threads", 0.95, ctx, 20000, 200),
        OsBench("create_processes", 0.85, ctx, 5000, 100),
        OsBench("launch_programs", 0.80, ctx, 2000, 50),
        CreateFiles("create_files", 0.50, ctx, 20000, 200),
        OsBench("malloc", None, ctx, 20000000, 100000),
        Build("build", 0.90, ctx),
        GitGrep("git_grep", 0.90, ctx),
        Http("http", 0.95, ctx),
        Startup("startup", 10.0, ctx),
    ]


# ---------------------------------------------------------------- machine ---

def read_first(path, key, sep=":"):
    try:
        with open(path) as f:
            for line in f:
                if line.startswith(key + sep) or line.startswith(key + "\t"):
                    return line.split(sep, 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def machine():
    virt = "unknown"
    if shutil.which("systemd-detect-virt"):
        virt = subprocess.run(["systemd-detect-virt"], capture_output=True, text=True).stdout.strip() or virt
    flags = read_first("/proc/cpuinfo", "flags").split()
    if "hypervisor" in flags:
        virt += " (hypervisor flag set: a virtual machine)"
    return {
        "nproc": os.cpu_count(),
        "model": read_first("/proc/cpuinfo", "model name"),
        "kernel": platform.release(),
        "memory": f"{int(read_first('/proc/meminfo', 'MemTotal').split()[0]) / 1048576:.1f} GiB",
        "virtualization": virt,
        "os": read_first("/etc/os-release", "PRETTY_NAME", "=").strip('"'),
        "loadavg_start": open("/proc/loadavg").read().split()[:3],
    }


# ------------------------------------------------------------------- main ---

def probe_prefix(prefix, env=None):
    """Returns None if `prefix /bin/true` works, else why it does not."""
    try:
        run_cmd(prefix + ["/bin/true"], timeout=60, env=env)
        return None
    except (RunError, OSError) as e:
        return str(e)[-200:]


def probe_sync_wake_up(launcher, env):
    """Returns None if vigil sets SYNC_WAKE_UP on this kernel, else why not."""
    p = subprocess.run(launcher + ["run", "--trace=debug", "--", "/bin/true"], capture_output=True, text=True,
                       env=env, timeout=60)
    if "SYNC_WAKE_UP, Linux 6.6+" in p.stderr:
        return None
    return f"this kernel ({platform.release()}) has no SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP: it would equal the other column"


def summarize(w, cols, res, errors):
    row = {"name": w.name, "unit": w.unit, "target": w.target, "columns": {}}
    for col in cols:
        shown = [r[1] for r in res[col]]
        row["columns"][col] = {"values": shown, "median": statistics.median(shown) if shown else None,
                               "error": errors.get(col), "peak_rss_kb": max((r[2] for r in res[col]), default=0)}
        if res[col] and len(res[col][0]) > 3:  # the startup's CPU per start (ms)
            row["columns"][col]["cpu_median"] = statistics.median(r[3] for r in res[col])
    for col in cols[1:]:
        pairs = list(zip(res["native"], res[col]))
        if not pairs or errors.get(col):
            continue
        if isinstance(w, Startup):  # added ms per start: paired differences (wall, and CPU)
            row["columns"][col]["delta_ms"] = statistics.median(b[1] - a[1] for a, b in pairs)
            row["columns"][col]["cpu_delta_ms"] = statistics.median(b[3] - a[3] for a, b in pairs)
        else:
            ratios = [b[0] / a[0] for a, b in pairs]
            row["columns"][col].update(ratio=statistics.median(ratios), ratio_min=min(ratios), ratio_max=max(ratios))
    return row


def fmt(v):
    if v is None:
        return "n/a"
    return f"{v:.0f}" if v >= 100 else f"{v:.3g}"


def verdict(row, col, quick):
    c = row["columns"].get(col, {})
    if quick or row["target"] is None or ("ratio" not in c and "delta_ms" not in c):
        return "-"
    ok = c["delta_ms"] <= row["target"] if "delta_ms" in c else c["ratio"] >= row["target"]
    return "pass" if ok else "FAIL"


def markdown(report, cols):
    m = report["machine"]
    lines = [f"# vigil bench, {report['date']}", "",
             f"Machine: {m['nproc']} CPUs ({m['model']}), {m['memory']} memory, kernel {m['kernel']}, "
             f"{m['os']}, virtualization: {m['virtualization']}; load average at start "
             f"{' '.join(m['loadavg_start'])}, at end {' '.join(m['loadavg_end'])}.",
             f"vigil: `{report['vigil']}` ({report['vigil_version']}); repetitions: {report['reps']} interleaved pairs"
             + (" (quick mode: tiny sizes, figures meaningless)" if report["quick"] else "") + ".", ""]
    for col, why in report["unavailable"].items():
        lines.append(f"Column {HEADINGS.get(col, col)} n/a: {why}")
    head = ["workload", "unit", "native", "vigil " + HEADINGS["vigil"], "ratio (min-max)",
            "vigil " + HEADINGS["nosync"], "ratio (min-max)", "target", "result 6.6+", "result 6.1"]
    floors = [c for c in ("floor", "floor_nosync") if c in cols]
    head += [HEADINGS[c] for c in floors]
    if "ref" in cols:
        head += ["ref", "ref ratio"]
    lines += ["", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in report["workloads"]:
        c = row["columns"]
        target = "-" if row["target"] is None else (f"<= +{row['target']:.0f} ms" if row["name"] == "startup"
                                                    else f">= {row['target']:.2f}x")

        def ratio(col):
            x = c.get(col, {})
            if x.get("error"):
                return "error"
            if "delta_ms" in x:
                return f"+{x['delta_ms']:.2f} ms"
            if "ratio" in x:
                return f"{x['ratio']:.2f}x ({x['ratio_min']:.2f}-{x['ratio_max']:.2f})"
            return "n/a"

        cells = [row["name"], row["unit"], fmt(c["native"]["median"]),
                 fmt(c.get("vigil", {}).get("median")), ratio("vigil"),
                 fmt(c.get("nosync", {}).get("median")), ratio("nosync"),
                 target, verdict(row, "vigil", report["quick"]), verdict(row, "nosync", report["quick"])]
        cells += [ratio(col) for col in floors]
        if "ref" in cols:
            cells += [fmt(c["ref"]["median"]) if "ref" in c else "-", ratio("ref") if "ref" in c else "-"]
        lines.append("| " + " | ".join(cells) + " |")
    for row in report["workloads"]:
        c = row["columns"]
        if row["name"] != "startup" or "cpu_median" not in c.get("native", {}):
            continue
        parts = [f"native {c['native']['cpu_median']:.2f} ms"]
        for col in ("vigil", "nosync", "floor", "floor_nosync"):
            if "cpu_median" in c.get(col, {}) and "cpu_delta_ms" in c[col]:
                parts.append(f"{HEADINGS[col]} {c[col]['cpu_median']:.2f} ms (+{c[col]['cpu_delta_ms']:.2f} ms)")
        lines += ["", "Startup CPU per start (user + system of every process waited for, medians; added: paired "
                  "differences): " + "; ".join(parts) + ". On a task of one vCPU or less, every thread's CPU is on "
                  "the start's path."]
    rss = report["sensor_rss_kb"]
    peaks = [f"{HEADINGS[col]}: {rss[col] / 1024:.1f} MB during {rss[col + '_workload']} "
             f"(target <= 15 MB: {'pass' if rss[col] <= 15 * 1024 else 'FAIL'})"
             for col in ("vigil", "nosync") if rss.get(col)]
    lines += ["", "Sensor peak RSS (VmHWM of the vigil process, sampled every 50 ms during every vigil run): "
              + ("; ".join(peaks) or "n/a")
              + (f"; reference tracer: {rss['ref'] / 1024:.1f} MB during {rss['ref_workload']}" if rss.get("ref") else "") + ".",
              f"Columns: `{HEADINGS['vigil']}` is vigil as it runs on Linux 6.6+ (notifications with "
              "SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP); `" + HEADINGS["nosync"] + "` is the same binary with "
              "VIGIL_NO_SYNC_WAKE_UP=1, i.e. the notification cost of a kernel before 6.6 such as Fargate's 6.1."]
    if floors:
        lines.append("Floor columns: the workload under vigil's own seccomp filter (`vigil syscalls --bpf`), each "
                     "notification answered CONTINUE at once after one read of its first pointer argument "
                     "(bench/micro/notify_floor.c), with and without SYNC_WAKE_UP: what any notification-based "
                     "sensor trapping the same calls pays at least; no decoding, rules or events.")
    if "ref" in cols:
        lines.append(f"Reference column: `{report['compare']}`.")
    for e in report["errors"]:
        lines.append(f"ERROR: {e}")
    return "\n".join(lines) + "\n"


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(prog="bench/run.sh", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="tiny sizes, one pair, no reference column (smoke test)")
    ap.add_argument("--only", default="", help="comma-separated workload names")
    ap.add_argument("--vigil", default=os.path.join(os.path.dirname(here), "build", "vigil"), help="vigil binary")
    ap.add_argument("--rootfs", default=None,
                    help="start vigil as deployed: DIR/lib64/ld-linux-x86-64.so.2 --library-path DIR/lib64 "
                         "DIR/bin/vigil (DIR: a vigil rootfs, e.g. build/rootfs)")
    ap.add_argument("--vigil-opts", default="", help="options inserted after `vigil run`")
    ap.add_argument("--compare", default=None,
                    help=f"reference tracer prefix, 'none' to skip (default in a full run: '{DEFAULT_COMPARE}')".replace('%', '%%'))
    ap.add_argument("--floor", action="store_true",
                    help="two more columns: each workload under vigil's own filter answered at once (bench/micro/"
                         "notify_floor with `vigil syscalls --bpf`), with and without SYNC_WAKE_UP: the floor")
    ap.add_argument("--reps", type=int, default=None, help="interleaved pairs per workload (default 5, quick 1)")
    ap.add_argument("--bench-bin", required=True, help="directory of the built bench programs")
    ap.add_argument("--workdir", default=None, help="generated trees and temp files (default <build>/bench-work)")
    ap.add_argument("--results", default=os.path.join(here, "results"), help="where <stamp>.md/.json go")
    ctx = ap.parse_args()

    def fail(msg):
        print(f"bench: {msg}", file=sys.stderr)
        sys.exit(2)

    if not os.access(ctx.vigil, os.X_OK):
        fail(f"vigil binary '{ctx.vigil}' not found or not executable (build it: scripts/build.sh, or pass --vigil PATH)")
    ctx.vigil = os.path.abspath(ctx.vigil)
    if ctx.reps is None:
        ctx.reps = 1 if ctx.quick else 5
    if ctx.reps < 1:
        fail("--reps must be at least 1")
    ctx.workdir = os.path.abspath(ctx.workdir or os.path.join(os.path.dirname(ctx.bench_bin), "bench-work"))
    os.makedirs(ctx.workdir, exist_ok=True)
    compare = ctx.compare if ctx.compare is not None else ("none" if ctx.quick else DEFAULT_COMPARE)
    if compare != "none" and not shutil.which(shlex.split(compare)[0]):
        fail(f"--compare: '{shlex.split(compare)[0]}' is not installed (install strace, or pass --compare none)")

    workloads = make_workloads(ctx)
    names = [w.name for w in workloads]
    only = [n for n in ctx.only.split(",") if n]
    for n in only:
        if n not in names:
            fail(f"--only: unknown workload '{n}' (known: {', '.join(names)})")
    workloads = [w for w in workloads if not only or w.name in only]

    launcher = [ctx.vigil]
    if ctx.rootfs:
        rootfs = os.path.abspath(ctx.rootfs)
        launcher = [f"{rootfs}/lib64/ld-linux-x86-64.so.2", "--library-path", f"{rootfs}/lib64", f"{rootfs}/bin/vigil"]
        if not all(os.access(p, os.X_OK) for p in (launcher[0], launcher[3])):
            fail(f"--rootfs: '{rootfs}' has no lib64/ld-linux-x86-64.so.2 or bin/vigil (build it: scripts/build.sh)")
    vigil_prefix = launcher + ["run"] + shlex.split(ctx.vigil_opts) + ["--"]
    prefixes = {"native": [], "vigil": vigil_prefix, "nosync": vigil_prefix}
    env_on = {k: v for k, v in os.environ.items() if k != "VIGIL_NO_SYNC_WAKE_UP"}
    envs = {"vigil": env_on, "nosync": dict(env_on, VIGIL_NO_SYNC_WAKE_UP="1")}
    if compare != "none":
        prefixes["ref"] = shlex.split(compare)
    if ctx.floor:
        # The floor: the filter `vigil run` with these options loads, every
        # notification answered CONTINUE after one read (docs/bench.md).
        bpf = os.path.join(ctx.workdir, "vigil-filter.bpf")
        made = subprocess.run(launcher + ["syscalls", "--bpf=" + bpf] + shlex.split(ctx.vigil_opts),
                              capture_output=True, text=True)
        if made.returncode != 0:
            fail(f"--floor: vigil syscalls --bpf failed: {made.stderr.strip()}")
        prefixes["floor"] = prefixes["floor_nosync"] = [os.path.join(ctx.bench_bin, "notify_floor")]
        envs["floor"] = dict(env_on, NOTIFY_FLOOR_BPF=bpf)
        envs["floor_nosync"] = dict(envs["floor"], VIGIL_NO_SYNC_WAKE_UP="1")
    unavailable = {}
    no_sync = None  # why this kernel has no SYNC_WAKE_UP (asked once, for the vigil and floor columns)
    for col in list(prefixes)[1:]:
        why = probe_prefix(prefixes[col], envs.get(col))
        if not why and col in ("vigil", "floor"):
            if no_sync is None:
                no_sync = probe_sync_wake_up(launcher, env_on) or ""
            why = no_sync
        if why:
            unavailable[col] = why
            print(f"bench: column {col} n/a: {why}", file=sys.stderr)
    cols = [c for c in prefixes if c not in unavailable]

    report = {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
              "machine": machine(), "vigil": shlex.join(prefixes["vigil"]), "quick": ctx.quick, "reps": ctx.reps,
              "compare": compare, "unavailable": unavailable, "workloads": [], "errors": [], "sensor_rss_kb": {}}
    report["vigil_version"] = subprocess.run(launcher + ["--version"], capture_output=True, text=True).stdout.strip()
    for w in workloads:
        wcols = [c for c in cols if c != "ref" or w.osbench]
        res, errors = {c: [] for c in wcols}, {}
        print(f"bench: {w.name} ({', '.join(wcols)}; {ctx.reps} pairs)", file=sys.stderr, flush=True)
        try:
            w.prepare()
            if not ctx.quick:
                w.warmup()
        except (RunError, OSError, ValueError, StopIteration) as e:
            report["errors"].append(f"{w.name}: {e}")
            continue
        for rep in range(ctx.reps):
            for col in (wcols if rep % 2 == 0 else wcols[::-1]):
                if col in errors:
                    continue
                try:
                    value = w.measure(prefixes[col], envs.get(col))
                except (RunError, OSError, ValueError, StopIteration) as e:
                    errors[col] = str(e)
                    report["errors"].append(f"{w.name} [{col}]: {e}")
                    continue
                res[col].append(value)
                if value[2] > report["sensor_rss_kb"].get(col, 0):
                    report["sensor_rss_kb"][col] = value[2]
                    report["sensor_rss_kb"][col + "_workload"] = w.name
        if res["native"]:
            report["workloads"].append(summarize(w, wcols, res, errors))
    report["machine"]["loadavg_end"] = open("/proc/loadavg").read().split()[:3]

    md = markdown(report, cols)
    print(md)
    os.makedirs(ctx.results, exist_ok=True)
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H%MZ") + ("-quick" if ctx.quick else "")
    with open(os.path.join(ctx.results, stamp + ".md"), "w") as f:
        f.write(md)
    with open(os.path.join(ctx.results, stamp + ".json"), "w") as f:
        json.dump(report, f, indent=1)
    print(f"bench: wrote {os.path.join(ctx.results, stamp)}.md and .json", file=sys.stderr)
    return 1 if report["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
