#!/usr/bin/env python3
"""Tiny DNS resolver for the probes tests: UDP and TCP on 127.0.0.1:PORT (default 53).

Answers A queries for the names given as NAME=IPV4 arguments, NOERROR with no
answer for other types of those names, NXDOMAIN for anything else. Writes
"ready" to stdout once bound; exits when stdin closes or after 300 s.
"""
import select
import socket
import struct
import sys
import time


def parse_question(msg):
    labels, i = [], 12
    while msg[i] != 0:
        n = msg[i]
        labels.append(msg[i + 1:i + 1 + n].decode("ascii", "replace"))
        i += 1 + n
    qtype, qclass = struct.unpack("!HH", msg[i + 1:i + 5])
    return ".".join(labels).lower(), qtype, msg[12:i + 5]


def answer(msg, names):
    (qid,) = struct.unpack("!H", msg[:2])
    name, qtype, question = parse_question(msg)
    ip = names.get(name)
    rcode = 0 if ip else 3
    answers = b""
    if ip and qtype == 1:
        # name as a compression pointer to the question (offset 12)
        answers = struct.pack("!HHHIH", 0xC00C, 1, 1, 60, 4) + socket.inet_aton(ip)
    flags = 0x8180 | rcode
    return struct.pack("!HHHHHH", qid, flags, 1, 1 if answers else 0, 0, 0) + question + answers


def serve_tcp(c, names):
    """Answers length-prefixed queries on one connection until it closes."""
    c.settimeout(10)
    with c:
        while True:
            head = c.recv(2, socket.MSG_WAITALL)
            if len(head) < 2:
                return
            (n,) = struct.unpack("!H", head)
            reply = answer(c.recv(n, socket.MSG_WAITALL), names)
            c.sendall(struct.pack("!H", len(reply)) + reply)


def main():
    port = 53
    names = {}
    for a in sys.argv[1:]:
        if a.startswith("--port="):
            port = int(a.split("=", 1)[1])
        else:
            n, ip = a.split("=", 1)
            names[n.lower()] = ip
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", port))
    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    t.bind(("127.0.0.1", port))
    t.listen(8)
    print("ready", flush=True)
    deadline = time.time() + 300
    while time.time() < deadline:
        r, _, _ = select.select([s, t, sys.stdin], [], [], 1.0)
        if sys.stdin in r and not sys.stdin.buffer.read1(1):
            break
        try:
            if s in r:
                msg, peer = s.recvfrom(4096)
                s.sendto(answer(msg, names), peer)
            if t in r:
                serve_tcp(t.accept()[0], names)
        except (IndexError, struct.error, OSError):
            pass  # malformed query or a client gone: ignore


if __name__ == "__main__":
    main()
