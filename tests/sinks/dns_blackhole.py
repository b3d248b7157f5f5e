#!/usr/bin/env python3
"""A DNS server on 127.0.0.1:53 that never answers (the VPC resolver that is
unreachable). Meant for a fresh network namespace: brings lo up first, then
writes --ready and reads queries for --lifetime seconds."""
import argparse, fcntl, socket, struct, time

ap = argparse.ArgumentParser()
ap.add_argument("--ready", required=True)
ap.add_argument("--lifetime", type=float, default=60)
args = ap.parse_args()
SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1
with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
    ifr = fcntl.ioctl(s, SIOCGIFFLAGS, struct.pack("16sh14x", b"lo", 0))
    flags = struct.unpack("16sh14x", ifr)[1]
    fcntl.ioctl(s, SIOCSIFFLAGS, struct.pack("16sh14x", b"lo", flags | IFF_UP))
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
udp.bind(("127.0.0.1", 53))
udp.settimeout(0.5)
open(args.ready, "w").close()
end = time.time() + args.lifetime
while time.time() < end:
    try:
        udp.recvfrom(4096)
    except socket.timeout:
        pass
