#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""fault_svc.py - services and clients for the fault tests.

  fault_svc.py stall-echo-server PORT     a connection that starts with b"stall" is held,
                                          never read again; every other one is echoed
  fault_svc.py stall-client HOST PORT N   open a stalled connection and fill it, then
                                          N echo round trips of 1 MiB on fresh connections;
                                          prints "ok N stalled-sent BYTES"
  fault_svc.py hold HOST PORT             open two connections: one reading a stream, one
                                          idle; print "held" and wait to be killed
  fault_svc.py read-until-close HOST PORT read until EOF or reset; print how it ended
  fault_svc.py conns HOST PORT N EXTRA    N echo connections, each checked; with EXTRA
                                          "reset", one more that must be refused, then
                                          the N checked again; print "ok", then hold them
  fault_svc.py stall-hold HOST PORT       open a stalled connection, fill it, hold it
  fault_svc.py pause-read HOST PORT N S   read N bytes, stop reading for S seconds, read to
                                          EOF; print "eof BYTES SHA256" or "reset BYTES"
"""
import hashlib
import os
import socket
import sys
import threading
import time


def stall_echo_server(port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(64)
    held = []

    def serve(c):
        first = c.recv(5)
        if first == b"stall":
            held.append(c)  # never read again: the sender must be held back
            return
        try:
            c.sendall(first)
            while True:
                d = c.recv(65536)
                if not d:
                    break
                c.sendall(d)
            c.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        c.close()

    while True:
        c, _ = s.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()


def stall_open(host, port):
    """A connection to the stalling service, filled for 2 s: the socket and what it sent."""
    st = socket.create_connection((host, port))
    st.sendall(b"stall")
    st.setblocking(False)
    sent, end = 0, time.monotonic() + 2
    buf = bytes(65536)
    while time.monotonic() < end:
        try:
            sent += st.send(buf)
        except BlockingIOError:
            time.sleep(0.01)
    return st, sent


def stall_client(host, port, n):
    st, sent = stall_open(host, port)
    data = os.urandom(1 << 20)
    want = hashlib.sha256(data).digest()
    for i in range(n):
        c = socket.create_connection((host, port), timeout=20)
        got = bytearray()

        def reader():
            while True:
                d = c.recv(1 << 16)
                if not d:
                    return
                got.extend(d)

        t = threading.Thread(target=reader)
        t.start()
        c.sendall(data)
        c.shutdown(socket.SHUT_WR)
        t.join(30)
        c.close()
        if hashlib.sha256(got).digest() != want:
            print("echo %d: got %d bytes, not the 1 MiB sent" % (i, len(got)))
            sys.exit(1)
    print("ok %d stalled-sent %d" % (n, sent))
    st.close()


def hold(host, port):
    a = socket.create_connection((host, port))
    b = socket.create_connection((host, port))
    a.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    print("held", flush=True)
    while True:
        a.recv(4096)  # slowly: the sender side stays busy
        time.sleep(0.05)


def pause_read(host, port, first, pause):
    c = socket.socket()
    c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)  # the window closes soon
    c.connect((host, port))
    h = hashlib.sha256()
    n = 0
    paused = False
    try:
        while True:
            if not paused and n >= first:
                time.sleep(pause)
                paused = True
            d = c.recv(1 << 16)
            if not d:
                print("eof %d %s" % (n, h.hexdigest()))
                return
            h.update(d)
            n += len(d)
    except ConnectionResetError:
        print("reset %d" % n)


def read_until_close(host, port):
    c = socket.create_connection((host, port))
    n = 0
    try:
        while True:
            d = c.recv(1 << 16)
            if not d:
                print("eof %d" % n)
                return
            n += len(d)
    except ConnectionResetError:
        print("reset %d" % n)


def echo_ok(c):
    c.sendall(b"ping")
    got = b""
    while len(got) < 4:
        d = c.recv(4 - len(got))
        if not d:
            return False
        got += d
    return got == b"ping"


def refused(host, port):
    try:
        c = socket.create_connection((host, port), timeout=5)
        c.settimeout(5)
        c.sendall(b"ping")
        d = c.recv(4)
        return not d
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False


def conns(host, port, n, extra):
    held = [socket.create_connection((host, port), timeout=10) for _ in range(n)]
    for i, c in enumerate(held):
        if not echo_ok(c):
            print("connection %d does not echo" % i, flush=True)
            sys.exit(1)
    if extra == "reset" and not refused(host, port):
        print("connection %d was admitted" % (n + 1), flush=True)
        sys.exit(1)
    for i, c in enumerate(held):
        if not echo_ok(c):
            print("connection %d broke after the refusal" % i, flush=True)
            sys.exit(1)
    print("ok", flush=True)
    while True:
        time.sleep(1)


def stall_hold(host, port):
    st, sent = stall_open(host, port)
    print("stalled %d" % sent, flush=True)
    while True:
        time.sleep(1)


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "stall-echo-server":
        stall_echo_server(int(args[0]))
    elif cmd == "stall-client":
        stall_client(args[0], int(args[1]), int(args[2]))
    elif cmd == "hold":
        hold(args[0], int(args[1]))
    elif cmd == "read-until-close":
        read_until_close(args[0], int(args[1]))
    elif cmd == "conns":
        conns(args[0], int(args[1]), int(args[2]), args[3])
    elif cmd == "pause-read":
        pause_read(args[0], int(args[1]), int(args[2]), float(args[3]))
    elif cmd == "stall-hold":
        stall_hold(args[0], int(args[1]))
    else:
        sys.exit("unknown command " + cmd)
