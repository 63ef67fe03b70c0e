#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
#
# udp-echo-check.py - send N datagrams to an echo server and check that each
# answer comes back byte for byte from the address it was sent to.
#
#   udp-echo-check.py HOST PORT N [--min 17] [--max 1400] [--seed S]
#
# Payloads start with a byte of the form 01xxxxxx, so beam's XDP program
# reads them as QUIC short-header packets (>= 17 bytes) and steers them.
# Prints "# echoed OK of N" and exits 0 only when all N came back intact.
import argparse
import os
import random
import socket
import sys

ap = argparse.ArgumentParser()
ap.add_argument("host")
ap.add_argument("port", type=int)
ap.add_argument("n", type=int)
ap.add_argument("--min", type=int, default=17)
ap.add_argument("--max", type=int, default=1400)
ap.add_argument("--seed", type=int, default=1)
ap.add_argument("--timeout", type=float, default=2.0)
ap.add_argument("--copies", type=int, default=1,
                help="each answer comes as this many datagrams, each the payload")
ap.add_argument("--flood", type=int, default=0,
                help="first send this many datagrams without waiting, then drain the answers")
args = ap.parse_args()

info = socket.getaddrinfo(args.host, args.port, type=socket.SOCK_DGRAM)[0]
s = socket.socket(info[0], socket.SOCK_DGRAM)
s.settimeout(args.timeout)
dst = info[4]
rnd = random.Random(args.seed)
if args.flood:
    blob = bytes([0x41]) + os.urandom(1199)
    for i in range(args.flood):
        try:
            s.sendto(blob, dst)
        except BlockingIOError:
            pass
    s.settimeout(0.5)
    answered = 0
    try:
        while True:
            if s.recv(65535) == blob:
                answered += 1
    except socket.timeout:
        pass
    print(f"# flood: sent {args.flood}, answered {answered}")
    s.settimeout(args.timeout)
ok = 0
for i in range(args.n):
    size = rnd.randint(args.min, args.max)
    payload = bytes([0x40 | rnd.randint(0, 63)]) + os.urandom(size - 1)
    s.sendto(payload, dst)
    try:
        good = 0
        while good < args.copies:
            data, src = s.recvfrom(65535)
            if data == payload and src[:2] == dst[:2]:
                good += 1
                continue
            print(f"# datagram {i}: got {len(data)} bytes from {src}, want {size}", file=sys.stderr)
        ok += 1
    except socket.timeout:
        print(f"# datagram {i} ({size} bytes): no answer", file=sys.stderr)
print(f"# echoed {ok} of {args.n}")
sys.exit(0 if ok == args.n else 1)
