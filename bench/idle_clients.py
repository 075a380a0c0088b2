"""Opens N idle WebSocket connections to /ws/<room> and holds them.

A stand-in for `ringload --mode idle` (bench/idle_memory.sh prefers ringload
when it is built). Raw asyncio streams, no WebSocket library, so the client
costs little: it does the RFC 6455 handshake, then only answers pings and
otherwise sends nothing. Prints `CONNECTED ok failed` once every attempt is
done, then holds until --hold seconds pass or SIGTERM.

  /usr/bin/python3 bench/idle_clients.py --port 8080 -n 10000 [--rooms 100]
      [--src-ips 127.0.0.1,127.0.0.2] [--hold 60] [--parallel 256]
"""
import argparse
import asyncio
import base64
import os
import resource
import signal
import struct
import sys


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("-n", type=int, default=10000, help="connections")
    p.add_argument("--rooms", type=int, default=100, help="rooms the connections spread over")
    p.add_argument("--room-prefix", default="idle")
    p.add_argument("--src-ips", default="", help="comma-separated source addresses, round-robin")
    p.add_argument("--hold", type=float, default=60.0, help="seconds to hold after connecting")
    p.add_argument("--parallel", type=int, default=256, help="handshakes in flight at once")
    p.add_argument("--connect-timeout", type=float, default=10.0)
    return p.parse_args()


async def pong_loop(reader, writer):
    """Answers pings (masked pong, same payload) until close or EOF."""
    while True:
        b0, b1 = await reader.readexactly(2)
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack("!H", await reader.readexactly(2))[0]
        elif n == 127:
            n = struct.unpack("!Q", await reader.readexactly(8))[0]
        payload = await reader.readexactly(n)
        op = b0 & 0x0F
        if op == 0x9 and n <= 125:
            mask = os.urandom(4)
            writer.write(bytes([0x8A, 0x80 | n]) + mask +
                         bytes(c ^ mask[i % 4] for i, c in enumerate(payload)))
        elif op == 0x8:
            return


async def one(i, args, ips, gate, stats, holders):
    room = f"{args.room_prefix}-{i % args.rooms}"
    key = base64.b64encode(os.urandom(16)).decode()
    req = (f"GET /ws/{room} HTTP/1.1\r\nHost: {args.host}:{args.port}\r\n"
           f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
           "Sec-WebSocket-Version: 13\r\n\r\n").encode()
    async with gate:
        try:
            local = (ips[i % len(ips)], 0) if ips else None
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(args.host, args.port, local_addr=local),
                args.connect_timeout)
            writer.write(req)
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), args.connect_timeout)
            if not head.startswith(b"HTTP/1.1 101"):
                raise ConnectionError(head.split(b"\r\n")[0].decode(errors="replace"))
        except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError,
                asyncio.LimitOverrunError, ConnectionError) as e:
            stats["failed"] += 1
            if stats["failed"] <= 5:
                print(f"connect {i} failed: {type(e).__name__}: {e}", file=sys.stderr)
            return
    stats["ok"] += 1
    holders.append(writer)
    try:
        await pong_loop(reader, writer)
    except (OSError, asyncio.IncompleteReadError):
        pass


async def main():
    args = parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if args.n + 64 > hard:
        sys.exit(f"idle_clients: {args.n} connections exceed this process's fd limit {hard}")
    ips = [s for s in args.src_ips.split(",") if s]
    gate = asyncio.Semaphore(args.parallel)
    stats = {"ok": 0, "failed": 0}
    holders = []
    tasks = [asyncio.create_task(one(i, args, ips, gate, stats, holders)) for i in range(args.n)]
    while stats["ok"] + stats["failed"] < args.n:
        await asyncio.sleep(0.2)
    print(f"CONNECTED {stats['ok']} {stats['failed']}", flush=True)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    try:
        await asyncio.wait_for(stop.wait(), args.hold)
    except asyncio.TimeoutError:
        pass
    for w in holders:
        w.transport.abort()
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


if __name__ == "__main__":
    asyncio.run(main())
