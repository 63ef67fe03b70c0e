#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""http_svc.py - helpers for the http and udp tunnel tests.

  http_svc.py server PORT NAME       HTTP/1.1 (keep-alive) service on 127.0.0.1:PORT:
                                     GET /who -> "NAME PEERPORT HOST", POST -> sha256 of the body
  http_svc.py raw HOST PORT FILE     send FILE's bytes as they are, print the status line back
  http_svc.py many-get HOST PORT HOSTNAME N  N connections open at once, one GET each;
                                     prints "OK/N answered 200"
  http_svc.py udp-echo PORT          UDP service on 127.0.0.1:PORT: answers "echo:" + datagram
  http_svc.py udp-clients HOST PORT N  N clients at once, each sends its own datagrams and
                                     checks every answer is its own; prints "ok N"
  http_svc.py udp-send HOST PORT SIZE  send one datagram of SIZE bytes, print what comes back
  http_svc.py udp-mix HOST PORT SECS BIG SMALL RATE  alternate BIG- and SMALL-byte datagrams,
                                     RATE a second; print "big SENT GOT small SENT GOT"
  http_svc.py udp-burst HOST PORT N ROUNDS  N clients send one 64-byte datagram each at once,
                                     ROUNDS times; prints "sent S answered A"
  http_svc.py udp-blast HOST PORT N  one client sends N 64-byte datagrams as fast as it can
"""
import hashlib
import http.server
import select
import socket
import sys
import threading
import time


def server(port, name):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # one write per response: no Nagle and delayed-ACK stall between
        # the head and the body of keep-alive answers
        wbufsize = 1 << 16

        def reply(self, body):
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            if self.path.startswith("/big/"):
                n = int(self.path[5:])
                self.send_response(200)
                self.send_header("Content-Length", str(n))
                self.end_headers()
                block = hashlib.sha256(b"seed").digest() * 2048  # 64 KiB, reproducible
                while n:
                    k = min(n, len(block))
                    self.wfile.write(block[:k])
                    n -= k
                return
            host = self.headers.get("Host", "")
            self.reply(f"{name} {self.client_address[1]} {host}\n".encode())

        def do_POST(self):
            n = int(self.headers.get("Content-Length", "0"))
            h = hashlib.sha256()
            while n:
                chunk = self.rfile.read(min(n, 1 << 16))
                if not chunk:
                    break
                h.update(chunk)
                n -= len(chunk)
            self.reply((h.hexdigest() + "\n").encode())

        def log_message(self, fmt, *args):
            pass

    http.server.ThreadingHTTPServer.allow_reuse_address = True
    http.server.ThreadingHTTPServer.request_queue_size = 4096  # not 5: bursts of clients
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    srv.serve_forever()


def recv_until(s, end):
    """Bytes from socket s until they hold end, or the peer closes."""
    got = b""
    while end not in got:
        chunk = s.recv(4096)
        if not chunk:
            break
        got += chunk
    return got


def raw(host, port, path):
    data = open(path, "rb").read()
    s = socket.create_connection((host, port), timeout=10)
    s.sendall(data)
    got = recv_until(s, b"\r\n")
    print(got.split(b"\r\n", 1)[0].decode(errors="replace"))


def many_get(host, port, hostname, n):
    socks, ok = [], 0
    for _ in range(n):
        s = socket.create_connection((host, port), timeout=30)
        socks.append(s)
        s.sendall(f"GET /who HTTP/1.1\r\nHost: {hostname}\r\n\r\n".encode())
    for s in socks:
        ok += recv_until(s, b"\r\n\r\n").startswith(b"HTTP/1.1 200")
    print(f"{ok}/{n} answered 200")


def udp_echo(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:  # a burst of clients must not overflow the service itself (33: SO_RCVBUFFORCE)
        s.setsockopt(socket.SOL_SOCKET, 33, 8 << 20)
    except OSError:
        pass
    s.bind(("127.0.0.1", port))
    while True:
        data, addr = s.recvfrom(65535)
        s.sendto(b"echo:" + data, addr)


def udp_socket(host):
    return socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM)


def udp_clients(host, port, n, count=50):
    bad = []

    def one(i):
        s = udp_socket(host)
        s.settimeout(0.5)
        ok = 0
        for k in range(count):
            msg = f"client{i}-msg{k}".encode()
            for _ in range(4):  # datagrams may be lost: retry
                s.sendto(msg, (host, port))
                try:
                    while True:
                        data, _ = s.recvfrom(65535)
                        if data == b"echo:" + msg:
                            ok += 1
                            break
                        if not data.startswith(f"echo:client{i}-".encode()):
                            bad.append(f"client {i} got {data[:40]!r}")
                    break
                except socket.timeout:
                    continue
        if ok < count:
            bad.append(f"client {i}: {ok}/{count} answered")

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if bad:
        print("\n".join(bad))
        sys.exit(1)
    print(f"ok {n}")


def udp_burst(host, port, n, rounds):
    sent = answered = 0
    for r in range(rounds):
        socks = [udp_socket(host) for _ in range(n)]
        for i, s in enumerate(socks):
            s.setblocking(False)
            s.sendto(f"r{r}c{i}".encode().ljust(64, b"."), (host, port))
        sent += n
        waiting = {s.fileno(): (i, s) for i, s in enumerate(socks)}
        deadline = time.monotonic() + 3
        while waiting and time.monotonic() < deadline:
            ready, _, _ = select.select(list(waiting), [], [], 0.2)
            for fd in ready:
                i, s = waiting.pop(fd)
                data = s.recv(65535)
                answered += data == b"echo:" + f"r{r}c{i}".encode().ljust(64, b".")
        for s in socks:
            s.close()
    print(f"sent {sent} answered {answered}")


def udp_blast(host, port, n):
    s = udp_socket(host)
    sent = 0
    for _ in range(n):
        try:
            s.sendto(b"b" * 64, (host, port))
            sent += 1
        except BlockingIOError:
            pass
    print(f"sent {sent}")


def udp_mix(host, port, secs, big, small, rate):
    """Alternate BIG- and SMALL-byte datagrams at RATE a second for SECS, count
    the answers of each size (answers a second late still count)."""
    s = udp_socket(host)
    sent = {big: 0, small: 0}
    got = {big: 0, small: 0}
    mid = (big + small) // 2
    t0 = time.monotonic()
    end = t0 + secs
    n = 0
    while True:
        now = time.monotonic()
        if now >= end + 1:
            break
        if now < end and now >= t0 + n / rate:
            size = big if n % 2 == 0 else small
            s.sendto(b"x" * size, (host, port))
            sent[size] += 1
            n += 1
            continue
        nxt = t0 + n / rate if now < end else end + 1
        r, _, _ = select.select([s], [], [], max(0, min(nxt, end + 1) - now))
        if r:
            data, _ = s.recvfrom(65535)
            got[big if len(data) > mid else small] += 1
    print(f"big {sent[big]} {got[big]} small {sent[small]} {got[small]}")


def udp_send(host, port, size):
    s = udp_socket(host)
    s.settimeout(2)
    s.sendto(b"x" * size, (host, port))
    try:
        data, _ = s.recvfrom(65535)
        print(f"answer {len(data)}")
    except socket.timeout:
        print("no answer")


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "server":
        server(int(args[0]), args[1])
    elif cmd == "raw":
        raw(args[0], int(args[1]), args[2])
    elif cmd == "many-get":
        many_get(args[0], int(args[1]), args[2], int(args[3]))
    elif cmd == "udp-echo":
        udp_echo(int(args[0]))
    elif cmd == "udp-clients":
        udp_clients(args[0], int(args[1]), int(args[2]))
    elif cmd == "udp-burst":
        udp_burst(args[0], int(args[1]), int(args[2]), int(args[3]))
    elif cmd == "udp-blast":
        udp_blast(args[0], int(args[1]), int(args[2]))
    elif cmd == "udp-mix":
        udp_mix(args[0], int(args[1]), float(args[2]), int(args[3]), int(args[4]), float(args[5]))
    elif cmd == "udp-send":
        udp_send(args[0], int(args[1]), int(args[2]))
    else:
        sys.exit(f"unknown command {cmd}")


if __name__ == "__main__":
    main()
