#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""udp-vlan.py - send whole Ethernet frames (AF_PACKET) carrying IPv4/UDP
inside one or two VLAN tags, with right checksums. The UDP payload looks like
a QUIC short-header packet, so that beam's XDP program steers it to AF_XDP.

  udp-vlan.py IFACE DST_MAC SRC DST PORT COUNT TAGS [VIDS]

VIDS: the VLAN ids, outer first, comma-separated (default 100, then 101).
"""
import socket
import struct
import sys


def csum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return (~total) & 0xFFFF


def main():
    if len(sys.argv) not in (8, 9):
        sys.exit(__doc__)
    ifname, dst_mac, src, dst = sys.argv[1:5]
    port, count, tags = int(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7])
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((ifname, 0))
    src_mac = s.getsockname()[4]  # (ifname, proto, pkttype, hatype, address)
    payload = bytes([0x40]) + bytes(range(1, 17)) + b"beam-vlan" * 4
    ulen = 8 + len(payload)
    sport = 41000 + port % 1000
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 17, ulen)
    udp = struct.pack("!HHHH", sport, port, ulen, 0) + payload
    uc = csum(pseudo + udp) or 0xFFFF
    udp = udp[:6] + struct.pack("!H", uc) + udp[8:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + ulen, 0, 0x4000, 64, 17, 0,
                     socket.inet_aton(src), socket.inet_aton(dst))
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    eth = bytes.fromhex(dst_mac.replace(":", "")) + src_mac
    tpids = [0x8100] if tags == 1 else [0x88A8, 0x8100]
    vids = [100 + i for i in range(len(tpids))]
    if len(sys.argv) == 9:
        vids = [int(v) for v in sys.argv[8].split(",")]
        if len(vids) != len(tpids):
            sys.exit("VIDS must name %d id(s)" % len(tpids))
    for tpid, vid in zip(tpids, vids):
        eth += struct.pack("!HH", tpid, vid)
    frame = eth + struct.pack("!H", 0x0800) + ip + udp
    for _ in range(count):
        s.send(frame)
    print("sent %d frames with %d VLAN tag(s)" % (count, len(tpids)))


if __name__ == "__main__":
    main()
