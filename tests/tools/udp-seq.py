#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""udp-seq.py - send or receive numbered UDP datagrams, to measure what a
link lost and reordered.

  udp-seq.py send HOST PORT COUNT [SIZE]
  udp-seq.py recv PORT COUNT TIMEOUT_S   -> prints "received N inversions M"
"""
import socket
import struct
import sys
import time


def send(host, port, count, size=200):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    pad = b"x" * max(0, size - 4)
    for i in range(count):
        s.sendto(struct.pack("!I", i) + pad, (host, port))
        if i % 64 == 63:
            time.sleep(0.001)  # stay under the receiver's socket buffer


def recv(port, count, timeout):
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    s.bind(("::", port))
    print("ready", flush=True)
    seen, inversions, highest = set(), 0, -1
    deadline = None
    while len(seen) < count:
        s.settimeout(timeout if deadline is None else max(0.01, deadline - time.time()))
        try:
            data = s.recv(65536)
        except socket.timeout:
            break
        if deadline is None:
            deadline = time.time() + timeout
        if len(data) < 4:
            continue
        (n,) = struct.unpack("!I", data[:4])
        if n < highest:
            inversions += 1
        highest = max(highest, n)
        seen.add(n)
    print("received %d inversions %d" % (len(seen), inversions), flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "send":
        send(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]),
             int(sys.argv[5]) if len(sys.argv) > 5 else 200)
    else:
        recv(int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]))
