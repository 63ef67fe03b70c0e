#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""udp-bad-csum.py - send UDP datagrams whose checksum is wrong, through a
raw IPv4 socket (the kernel writes the IP header, the UDP header is ours).
The payload looks like a QUIC short-header packet, so that beam's XDP program
steers it to AF_XDP, where beamd must refuse it for its checksum.

  udp-bad-csum.py SRC DST PORT COUNT
"""
import socket
import struct
import sys


def fold(total):
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return total


def sum16(data):
    if len(data) % 2:
        data += b"\0"
    return sum(struct.unpack("!%dH" % (len(data) // 2), data))


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    src, dst, port, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    sport = 40000 + port % 1000
    # fixed bit set, long-header bit clear; then a 16-byte DCID and some bytes
    payload = bytes([0x40]) + bytes(range(1, 17)) + b"beam-bad-checksum" * 3
    ulen = 8 + len(payload)
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 17, ulen)
    hdr0 = struct.pack("!HHHH", sport, port, ulen, 0)
    good = (~fold(sum16(pseudo + hdr0 + payload))) & 0xFFFF
    partial = fold(sum16(pseudo))
    # wrong, and neither the right value, the pseudo-header sum a sender
    # leaving the checksum to hardware writes, nor 0 (no checksum)
    bad = good ^ 0x5A5A
    while bad in (good, partial, 0, 0xFFFF):
        bad = (bad + 1) & 0xFFFF
    pkt = struct.pack("!HHHH", sport, port, ulen, bad) + payload
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_UDP)
    s.bind((src, 0))
    for _ in range(count):
        s.sendto(pkt, (dst, 0))
    print("sent %d datagrams with checksum 0x%04x (right: 0x%04x)" % (count, bad, good))


if __name__ == "__main__":
    main()
