#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""tcp-many.py - many concurrent TCP connections, each checked byte for byte.

  tcp-many.py serve PORT [--bind ADDR]     echo server: reads to EOF, sends it all
                                           back, closes; prints "ready"
  tcp-many.py run HOST PORT N [--max B]    N connections at once, each sends 1..B
                                           random bytes, half-closes, and must get
                                           the same bytes back; prints "# ok K of N"
"""
import argparse
import asyncio
import os
import random
import sys


async def handle(reader, writer):
    data = await reader.read()
    writer.write(data)
    await writer.drain()
    writer.close()


async def serve(args):
    srv = await asyncio.start_server(handle, args.bind, args.port, backlog=4096)
    print("ready", flush=True)
    async with srv:
        await srv.serve_forever()


async def one(args, i, sem):
    size = random.Random(i).randint(1, args.max)
    payload = os.urandom(size)
    async with sem:
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(args.host, args.port), args.timeout)
            writer.write(payload)
            await writer.drain()
            writer.write_eof()
            got = await asyncio.wait_for(reader.read(), args.timeout)
            writer.close()
        except (OSError, asyncio.TimeoutError) as e:
            print(f"# connection {i}: {e!r}", file=sys.stderr)
            return False
    if got != payload:
        print(f"# connection {i}: got {len(got)} bytes, want {size}", file=sys.stderr)
    return got == payload


async def run(args):
    sem = asyncio.Semaphore(args.parallel)
    res = await asyncio.gather(*(one(args, i, sem) for i in range(args.n)))
    ok = sum(res)
    print(f"# ok {ok} of {args.n}")
    return ok == args.n


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve")
    s.add_argument("port", type=int)
    s.add_argument("--bind", default="127.0.0.1")
    r = sub.add_parser("run")
    r.add_argument("host")
    r.add_argument("port", type=int)
    r.add_argument("n", type=int)
    r.add_argument("--max", type=int, default=16384)
    r.add_argument("--parallel", type=int, default=1000)
    r.add_argument("--timeout", type=float, default=60)
    args = ap.parse_args()
    if args.cmd == "serve":
        asyncio.run(serve(args))
        return 0
    return 0 if asyncio.run(run(args)) else 1


sys.exit(main())
