#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""tunnel_svc.py - small TCP services and clients for the tunnel tests.

  tunnel_svc.py halfclose-server PORT       read to EOF, answer with length+sha, then close
  tunnel_svc.py halfclose-client HOST PORT N  send N bytes, shut the write side, read the answer
  tunnel_svc.py echo-server PORT            asyncio echo server
  tunnel_svc.py many HOST PORT N            N concurrent connections, each echoes 1 KiB
  tunnel_svc.py expect-reset HOST PORT      connect, send, expect a reset (or EOF) within 5 s
  tunnel_svc.py sink-server PORT            accept one connection, never read (backpressure)
  tunnel_svc.py zero-server PORT            write zeros forever to each client
  tunnel_svc.py slow-reader HOST PORT SECS  connect, read nothing for SECS, then read 64 MiB fast
  tunnel_svc.py fast-writer HOST PORT SECS  write as fast as possible for SECS, print bytes sent
  tunnel_svc.py paced-reader HOST PORT SECS  read about 8 MiB/s for SECS: "read N", or "reset after N"
"""
import asyncio
import hashlib
import socket
import sys
import time


def halfclose_server(port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(16)
    while True:
        c, _ = s.accept()
        h, n = hashlib.sha256(), 0
        while True:
            d = c.recv(65536)
            if not d:
                break
            h.update(d)
            n += len(d)
        body = b"x" * 200000
        c.sendall(b"len=%d sha=%s tail=%d\n" % (n, h.hexdigest().encode(), len(body)) + body)
        c.close()


def halfclose_client(host, port, n):
    data = bytes((i * 7) & 0xff for i in range(n))
    c = socket.create_connection((host, port), timeout=20)
    c.sendall(data)
    c.shutdown(socket.SHUT_WR)
    got = b""
    while True:
        d = c.recv(65536)
        if not d:
            break
        got += d
    line, _, body = got.partition(b"\n")
    want = b"len=%d sha=%s tail=200000" % (n, hashlib.sha256(data).hexdigest().encode())
    if line != want or len(body) != 200000:
        print("bad answer: %r (body %d)" % (line[:200], len(body)))
        sys.exit(1)
    print("ok")


async def echo(reader, writer):
    try:
        while True:
            d = await reader.read(65536)
            if not d:
                break
            writer.write(d)
            await writer.drain()
    finally:
        writer.close()


def echo_server(port):
    async def main():
        srv = await asyncio.start_server(echo, "127.0.0.1", port, backlog=4096)
        async with srv:
            await srv.serve_forever()
    asyncio.run(main())


def many(host, port, n):
    async def one(i, opened, go):
        r, w = await asyncio.wait_for(asyncio.open_connection(host, port), 30)
        opened.append(i)
        await go.wait()           # every connection is open at the same time
        msg = (b"%06d" % i) * 170
        w.write(msg)
        await w.drain()
        got = await asyncio.wait_for(r.readexactly(len(msg)), 60)
        w.close()
        return got == msg

    async def main():
        opened, go = [], asyncio.Event()
        tasks = [asyncio.create_task(one(i, opened, go)) for i in range(n)]
        while len(opened) < n and not any(t.done() for t in tasks):
            await asyncio.sleep(0.05)
        print("open at once: %d" % len(opened))
        go.set()
        res = await asyncio.gather(*tasks, return_exceptions=True)
        ok = sum(1 for x in res if x is True)
        print("completed: %d of %d" % (ok, n))
        for x in res:
            if x is not True:
                print("first failure: %r" % (x,))
                break
        return ok == n

    sys.exit(0 if asyncio.run(main()) else 1)


def expect_reset(host, port):
    t0 = time.monotonic()
    try:
        # the reset can beat connect() itself
        c = socket.create_connection((host, port), timeout=5)
        c.sendall(b"GET / HTTP/1.0\r\n\r\n")
        d = c.recv(100)
        if d:
            print("unexpected data %r" % d)
            sys.exit(1)
        print("eof after %.3f s" % (time.monotonic() - t0))
    except ConnectionResetError:
        print("reset after %.3f s" % (time.monotonic() - t0))


def sink_server(port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    s.bind(("127.0.0.1", port))
    s.listen(4)
    conns = []
    while True:
        c, _ = s.accept()
        conns.append(c)    # hold it open, read nothing


def zero_server(port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(4)
    buf = bytes(65536)
    while True:
        c, _ = s.accept()
        try:
            while True:
                c.sendall(buf)
        except OSError:
            c.close()


def slow_reader(host, port, secs):
    c = socket.socket()
    c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    c.connect((host, port))
    time.sleep(secs)
    n = 0
    while n < 64 << 20:
        d = c.recv(1 << 20)
        if not d:
            break
        n += len(d)
    print("read %d" % n)
    sys.exit(0 if n >= 64 << 20 else 1)


def fast_writer(host, port, secs):
    c = socket.create_connection((host, port))
    c.setblocking(False)
    buf, n, end = bytes(65536), 0, time.monotonic() + secs
    while time.monotonic() < end:
        try:
            n += c.send(buf)
        except BlockingIOError:
            time.sleep(0.01)
    print("sent %d" % n)


def paced_reader(host, port, secs):
    c = socket.create_connection((host, port))
    n, end = 0, time.monotonic() + secs
    try:
        while time.monotonic() < end:
            d = c.recv(81920)
            if not d:
                print("eof after %d" % n)
                sys.exit(1)
            n += len(d)
            time.sleep(0.01)
    except OSError as e:
        print("reset after %d: %s" % (n, e))
        sys.exit(1)
    print("read %d" % n)


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "halfclose-server":
        halfclose_server(int(args[0]))
    elif cmd == "halfclose-client":
        halfclose_client(args[0], int(args[1]), int(args[2]))
    elif cmd == "echo-server":
        echo_server(int(args[0]))
    elif cmd == "many":
        many(args[0], int(args[1]), int(args[2]))
    elif cmd == "expect-reset":
        expect_reset(args[0], int(args[1]))
    elif cmd == "sink-server":
        sink_server(int(args[0]))
    elif cmd == "zero-server":
        zero_server(int(args[0]))
    elif cmd == "slow-reader":
        slow_reader(args[0], int(args[1]), float(args[2]))
    elif cmd == "fast-writer":
        fast_writer(args[0], int(args[1]), float(args[2]))
    elif cmd == "paced-reader":
        paced_reader(args[0], int(args[1]), float(args[2]))
    else:
        sys.exit("unknown command " + cmd)
