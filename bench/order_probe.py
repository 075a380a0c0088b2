"""Does every member of a room see ONE order of its messages, across nodes?

bench/cluster.py runs this next to two ringchat nodes (raw /ws/{room}
sockets) and next to two Socket.IO processes with the Redis adapter
(Engine.IO 4 WebSocket, `42["pub",...]` / `42["m",...]`), /usr/bin/python3
with python3-websockets:

  order_probe.py --kind ringchat|socketio --ports P1,P2 [--room R] [--members 6]
                 [--publishers 2] [--bursts 200] [--burst 5] [--json OUT]

Members are spread round-robin over the ports; so are the publishers
(--publishers per port). Every 10 ms each publisher sends a burst of
--burst messages `P:N` (N counting up per publisher), all publishers at
the same moment, so messages published on different nodes at once race.
After the last burst and a drain, each member's sequence is compared:

- per publisher (the order a sender's messages arrive in): reorders,
  missing and duplicates, summed over members;
- across members: taking the first member's sequence as reference, each
  other member's sequence (the messages both got) is mapped to the
  reference's positions and its inversions counted (pairs the two members
  saw in opposite orders); `members_differing` is how many members saw
  an order other than the reference's. One order for the room: 0 and 0.

Prints one JSON object (also to --json). Exit 0 when the probe ran (the
verdict is data, not the exit status), 2 when it could not connect.
"""
import argparse
import asyncio
import json
import sys
import time

import websockets


def url_of(kind, port, room):
    if kind == "ringchat":
        return f"ws://127.0.0.1:{port}/ws/{room}"
    return f"ws://127.0.0.1:{port}/socket.io/?EIO=4&transport=websocket&room={room}"


class Client:
    def __init__(self, kind, port, room):
        self.kind, self.port, self.room = kind, port, room
        self.ws = None
        self.got = []

    async def open(self):
        self.ws = await websockets.connect(url_of(self.kind, self.port, self.room), max_size=None,
                                           compression=None, ping_interval=None)
        if self.kind == "socketio":
            first = await self.ws.recv()  # Engine.IO open: 0{"sid":...}
            if not first.startswith("0"):
                raise RuntimeError(f"no Engine.IO open: {first[:40]}")
            await self.ws.send("40")
            while True:
                m = await self.ws.recv()
                if m.startswith("40"):
                    break

    async def send(self, text):
        if self.kind == "socketio":
            await self.ws.send('42["pub",' + json.dumps(text) + "]")
        else:
            await self.ws.send(text)

    async def read(self):
        try:
            async for m in self.ws:
                if self.kind == "socketio":
                    if m == "2":
                        await self.ws.send("3")
                        continue
                    if not m.startswith('42["m",'):
                        continue
                    m = json.loads(m[2:])[1]
                self.got.append(m)
        except websockets.ConnectionClosed:
            pass


def inversions(seq):
    """Pairs i < j with seq[i] > seq[j] (merge sort)."""
    def sort(a):
        if len(a) <= 1:
            return a, 0
        mid = len(a) // 2
        left, x = sort(a[:mid])
        right, y = sort(a[mid:])
        out, n, i, j = [], x + y, 0, 0
        while i < len(left) and j < len(right):
            if left[i] <= right[j]:
                out.append(left[i])
                i += 1
            else:
                out.append(right[j])
                n += len(left) - i
                j += 1
        out += left[i:] + right[j:]
        return out, n
    return sort(list(seq))[1]


def analyse(members, sent):
    per_sender = {"reorders": 0, "missing": 0, "duplicates": 0}
    for m in members:
        last, seen = {}, set()
        for msg in m.got:
            if msg in seen:
                per_sender["duplicates"] += 1
                continue
            seen.add(msg)
            p, n = msg.rsplit(":", 1)
            n = int(n)
            if n < last.get(p, -1):
                per_sender["reorders"] += 1
            last[p] = max(n, last.get(p, -1))
        per_sender["missing"] += sum(1 for s in sent if s not in seen)
    ref = {msg: i for i, msg in enumerate(dict.fromkeys(members[0].got))}
    differing, total_inv, max_inv = 0, 0, 0
    for m in members[1:]:
        pos = [ref[msg] for msg in dict.fromkeys(m.got) if msg in ref]
        inv = inversions(pos)
        total_inv += inv
        max_inv = max(max_inv, inv)
        differing += 1 if inv else 0
    return per_sender, differing, total_inv, max_inv


async def probe(a):
    ports = [int(p) for p in a.ports.split(",")]
    members = [Client(a.kind, ports[i % len(ports)], a.room) for i in range(a.members)]
    pubs = [Client(a.kind, ports[i % len(ports)], a.room) for i in range(a.publishers * len(ports))]
    for c in members + pubs:
        await c.open()
    readers = [asyncio.create_task(c.read()) for c in members + pubs]
    await asyncio.sleep(0.5)  # joins reach every node (Socket.IO: the adapter's subscription)
    sent = []
    t0 = time.monotonic()
    for b in range(a.bursts):
        batch = []
        for k, p in enumerate(pubs):
            texts = [f"p{k}:{b * a.burst + j}" for j in range(a.burst)]
            sent += texts
            batch += [p.send(t) for t in texts]
        await asyncio.gather(*batch)
        await asyncio.sleep(max(0.0, t0 + (b + 1) * 0.01 - time.monotonic()))
    want = len(sent)
    end = time.monotonic() + a.drain
    while time.monotonic() < end and any(len(m.got) < want for m in members):
        await asyncio.sleep(0.05)
    for c in members + pubs:
        await c.ws.close()
    for r in readers:
        r.cancel()
    per_sender, differing, total_inv, max_inv = analyse(members, sent)
    return {
        "kind": a.kind, "ports": ports, "members": len(members), "publishers": len(pubs),
        "sent": want, "received_min": min(len(m.got) for m in members),
        "per_sender": per_sender, "members_differing": differing,
        "inversions_total": total_inv, "inversions_max": max_inv,
        "one_order": differing == 0 and per_sender["reorders"] == 0,
    }


def main():
    p = argparse.ArgumentParser(description="one order across nodes? (see the module's doc)")
    p.add_argument("--kind", choices=["ringchat", "socketio"], required=True)
    p.add_argument("--ports", required=True, help="comma-separated ports on 127.0.0.1, one per node")
    p.add_argument("--room", default=f"probe-{int(time.time())}")
    p.add_argument("--members", type=int, default=6)
    p.add_argument("--publishers", type=int, default=2, help="per port")
    p.add_argument("--bursts", type=int, default=200)
    p.add_argument("--burst", type=int, default=5)
    p.add_argument("--drain", type=float, default=5.0)
    p.add_argument("--json", default="")
    a = p.parse_args()
    try:
        r = asyncio.run(probe(a))
    except (OSError, RuntimeError, websockets.WebSocketException) as e:
        print(f"order_probe: {type(e).__name__}: {e}", file=sys.stderr)
        return 2
    text = json.dumps(r)
    print(text)
    if a.json:
        with open(a.json, "w") as f:
            f.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
