#!/usr/bin/python3
"""Cluster mode (docs/CLUSTER.md) with the real binary: three ringchat
processes over a real redis-server, seen by Python websockets (Debian
python3-websockets), raw HTTP and SSE.

    /usr/bin/python3 tests/e2e/cluster_test.py RINGCHAT [REDIS_SERVER]

Starts redis-server (appendonly, fsync always; its own dir and config, a
free 127.0.0.1 port) and three nodes (--threads 2 --redis ...):

  spread    on every node a JSON socket, an SSE stream and a raw socket are
            members of one room; JSON `pub`s on node 0, HTTP publishes on
            node 1 and raw frames on node 2, interleaved: every JSON and
            SSE member gets seqs 1..N, the same data under each; every raw
            member the same payloads in the same order.
  kill      JSON members on node 2 while HTTP publishes go to nodes 0 and 1;
            node 2 is killed (SIGKILL) midway: its members resume on node 0
            with `since` and end with 1..N, nothing missing or twice; a
            member on node 1 never noticed.
  redis     HTTP publishes to nodes 0 and 1 while redis-server is killed
            (SIGKILL) and restarted: publishes meanwhile are answered 503
            `unavailable` and /readyz says 503; the 201s' seqs are exactly
            1..M (none half-applied), and members on both nodes get 1..M in
            order.

Each check prints PASS/FAIL; exit status 1 if anything failed. About 20 s;
only 127.0.0.1; servers are killed when this script ends, however it ends.
"""
import asyncio
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import websockets

from testlib import Checks, new_room, short

checks = Checks("cluster")
RINGCHAT = sys.argv[1]
REDIS_SERVER = sys.argv[2] if len(sys.argv) > 2 else "/usr/bin/redis-server"
procs = []


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Redis:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="ringchat-redis-")
        self.port = free_port()
        self.proc = None

    def start(self):
        conf = os.path.join(self.dir, "redis.conf")
        with open(conf, "w") as f:
            f.write(f"port {self.port}\nbind 127.0.0.1\ndir {self.dir}\nsave \"\"\n"
                    "appendonly yes\nappendfsync always\ndaemonize no\nlogfile redis.log\n")
        self.proc = subprocess.Popen([REDIS_SERVER, conf], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        procs.append(self.proc)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def kill(self):
        self.proc.kill()
        self.proc.wait()

    def url(self):
        return f"redis://127.0.0.1:{self.port}"


class Node:
    def __init__(self, redis):
        self.log = tempfile.NamedTemporaryFile(prefix="ringchat-node-", suffix=".log")
        self.proc = subprocess.Popen(
            [RINGCHAT, "--port", "0", "--bind", "127.0.0.1", "--threads", "2", "--redis",
             redis.url(), "--redis-timeout", "1000", "--pub-rate", "0"],
            stdout=self.log, stderr=subprocess.STDOUT)
        procs.append(self.proc)
        deadline = time.monotonic() + 20
        self.port = None
        while self.port is None and time.monotonic() < deadline:
            m = re.search(rb"listening on 127\.0\.0\.1:(\d+)", open(self.log.name, "rb").read())
            if m:
                self.port = int(m.group(1))
            elif self.proc.poll() is not None:
                raise RuntimeError("ringchat exited: " + open(self.log.name).read()[-2000:])
            else:
                time.sleep(0.05)

    def ws(self, path):
        return websockets.connect(f"ws://127.0.0.1:{self.port}{path}", max_size=None,
                                  open_timeout=10)


async def http(port, method, path, body=b"", timeout=10):
    """One request on a fresh connection: (status, body)."""
    r, w = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), timeout)
    try:
        w.write(f"{method} {path} HTTP/1.1\r\nHost: t\r\nContent-Length: {len(body)}\r\n"
                "Connection: close\r\n\r\n".encode() + body)
        await w.drain()
        data = await asyncio.wait_for(r.read(), timeout)
    finally:
        w.close()
    head, _, rest = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ")[1]) if head.startswith(b"HTTP/1.1 ") else 0
    return status, rest


async def wait_ready(port, want=200, seconds=10):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            status, _ = await http(port, "GET", "/readyz", timeout=2)
            if status == want:
                return True
        except OSError:
            pass
        await asyncio.sleep(0.05)
    return False


async def json_member(node, room, since=None):
    ws = await node.ws("/ws")
    op = {"type": "join", "room": room}
    if since:
        op["since"] = since
    await ws.send(json.dumps(op))
    while True:
        m = json.loads(await asyncio.wait_for(ws.recv(), 10))
        if m["type"] == "joined":
            return ws, m


async def read_msgs(ws, n, got, seconds=15, others=None):
    """Appends (seq, data) of `msg`s to `got` until it has n (the other
    messages to `others`, if given)."""
    deadline = time.monotonic() + seconds
    while len(got) < n:
        m = json.loads(await asyncio.wait_for(ws.recv(), max(0.1, deadline - time.monotonic())))
        if m["type"] == "msg":
            got.append((m["seq"], m["data"]))
        elif others is not None:
            others.append(m)


async def sse_events(port, room, n, seconds=15):
    """The first n message events of GET /sse/{room}: [(seq, data)]."""
    r, w = await asyncio.open_connection("127.0.0.1", port)
    w.write(f"GET /sse/{room} HTTP/1.1\r\nHost: t\r\n\r\n".encode())
    await w.drain()
    got, event, eid, data = [], None, None, []
    deadline = time.monotonic() + seconds
    try:
        while len(got) < n:
            line = (await asyncio.wait_for(r.readline(), max(0.1, deadline - time.monotonic())))
            line = line.decode().rstrip("\r\n")
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("id: "):
                eid = line[4:]
            elif line.startswith("data: "):
                data.append(line[6:])
            elif line == "" and eid is not None:
                if event is None:
                    got.append((int(eid.split(":")[1]), "\n".join(data)))
                event, eid, data = None, None, []
    finally:
        w.close()
    return got


async def test_spread(nodes):
    room = new_room("spread")
    members = [await json_member(n, room) for n in nodes]
    raws = [await n.ws(f"/ws/{room}").__aenter__() for n in nodes]
    sse = [asyncio.create_task(sse_events(n.port, room, 90)) for n in nodes]
    await asyncio.sleep(0.3)  # the streams are joined
    pub_ws = members[0][0]
    for i in range(30):
        await pub_ws.send(json.dumps({"type": "pub", "room": room, "data": f"json-{i}"}))
        status, body = await http(nodes[1].port, "POST", f"/rooms/{room}/messages",
                                  f"http-{i}".encode())
        if status != 201:
            raise RuntimeError(f"publish answered {status} {body!r}")
        await raws[2].send(f"raw-{i}")
    want = list(range(1, 91))
    firsts = None
    for k, (ws, _) in enumerate(members):
        got = []
        await read_msgs(ws, 90, got)
        checks.report(f"spread: JSON member on node {k} gets seqs 1..90", [s for s, _ in got] == want,
                      short([s for s, _ in got]))
        if firsts is None:
            firsts = got
        else:
            checks.report(f"spread: JSON member on node {k} has the same data per seq", got == firsts,
                          short(got))
    texts = [d for _, d in firsts]
    checks.report("spread: each publish once", sorted(texts) == sorted(
        [f"{p}-{i}" for p in ("json", "http", "raw") for i in range(30)]), short(texts))
    # SSE and raw sockets carry a JSON `pub`'s data as its JSON text.
    wire = [json.dumps(d) if d.startswith("json-") else d for d in texts]
    for k, t in enumerate(sse):
        got = await t
        checks.report(f"spread: SSE stream on node {k} gets 1..90 in order, same payloads",
                      [s for s, _ in got] == want and [d for _, d in got] == wire, short(got))
    for k, ws in enumerate(raws):
        got = []
        while len(got) < 90:
            got.append(await asyncio.wait_for(ws.recv(), 10))
        checks.report(f"spread: raw member on node {k} gets the same order", got == wire,
                      short(got))
        await ws.close()
    for ws, _ in members:
        await ws.close()


async def publisher(port, room, count, acked, refused, pace=0.005):
    for i in range(count):
        try:
            status, body = await http(port, "POST", f"/rooms/{room}/messages", f"p{port}-{i}".encode())
        except OSError:
            status, body = 0, b""
        if status == 201:
            acked.append(json.loads(body)["seq"])
        else:
            refused.append((status, body))
        await asyncio.sleep(pace)


async def presence_nodes(ws, room, others=None):
    """The node part of each member id in the room's presence: {node: count}
    (the messages before the answer to `others`, if given)."""
    await ws.send(json.dumps({"type": "presence", "room": room, "id": "p"}))
    while True:
        m = json.loads(await asyncio.wait_for(ws.recv(), 10))
        if others is not None and m["type"] != "presence":
            others.append(m)
        if m["type"] == "presence":
            out = {}
            for member in m["members"]:
                node = member["id"].split("-")[0]
                out[node] = out.get(node, 0) + 1
            return out


async def test_kill(nodes, redis):
    room = new_room("kill")
    victims = [await json_member(nodes[2], room) for _ in range(5)]
    witness, _ = await json_member(nodes[1], room)
    before = await presence_nodes(witness, room)
    dead = [n for n, count in before.items() if count == 5]
    acked, refused = [], []
    pubs = [asyncio.create_task(publisher(nodes[i].port, room, 100, acked, refused)) for i in (0, 1)]
    got = [[] for _ in victims]
    epoch = victims[0][1]["epoch"]

    async def follow(k):
        ws = victims[k][0]
        try:
            await read_msgs(ws, 10**9, got[k], seconds=30)
        except (websockets.ConnectionClosed, asyncio.TimeoutError):
            pass
        # The node is gone: resume on node 0 from the last seq this one has.
        last = got[k][-1][0] if got[k] else victims[k][1]["seq"]
        ws, joined = await json_member(nodes[0], room, since=f"{epoch}:{last}")
        if not joined["recovered"]:
            raise RuntimeError(f"resume not recovered: {joined}")
        await read_msgs(ws, 200, got[k])
        await ws.close()

    followers = [asyncio.create_task(follow(k)) for k in range(len(victims))]
    await asyncio.sleep(0.4)
    nodes[2].proc.kill()
    nodes[2].proc.wait()
    await asyncio.gather(*pubs)
    checks.report("kill: every publish to the surviving nodes acked", len(acked) == 200 and
                  not refused, short(refused))
    await asyncio.gather(*followers)
    want = list(range(1, 201))
    for k, g in enumerate(got):
        checks.report(f"kill: member {k} of the killed node resumed elsewhere with 1..200 once",
                      [s for s, _ in g] == want, short([s for s, _ in g]))
    w, heard = [], []
    await read_msgs(witness, 200, w, others=heard)
    checks.report("kill: a member of another node got 1..200", [s for s, _ in w] == want,
                  short([s for s, _ in w]))
    # The killed node's heartbeat ran out (2 x --redis-timeout): its members
    # are gone from presence (the resumed ones have left node 0 too).
    await asyncio.sleep(2.5)
    after = await presence_nodes(witness, room, others=heard)
    checks.report("kill: presence lists no ghost of the killed node",
                  len(dead) == 1 and dead[0] not in after and sum(after.values()) == 1,
                  short((before, after)))

    # ...and each of them left, once, heard by the member of another node.
    def leaves():
        return [m["member"]["id"] for m in heard if m["type"] == "leave" and dead and
                m["member"]["id"].split("-")[0] == dead[0]]
    deadline = time.monotonic() + 3
    while len(leaves()) < 5 and time.monotonic() < deadline:
        try:
            heard.append(json.loads(await asyncio.wait_for(witness.recv(), 0.5)))
        except asyncio.TimeoutError:
            pass
    checks.report("kill: the killed node's 5 members each left once",
                  len(leaves()) == 5 and len(set(leaves())) == 5, short(leaves()))
    await witness.close()


async def test_redis_restart(nodes, redis):
    room = new_room("redis")
    members = [await json_member(nodes[i], room) for i in (0, 1)]
    acked, refused = [], []
    pubs = [asyncio.create_task(publisher(nodes[i].port, room, 150, acked, refused, pace=0.01))
            for i in (0, 1)]
    await asyncio.sleep(0.4)
    redis.kill()
    down = await wait_ready(nodes[0].port, 503, 5)
    checks.report("redis: /readyz 503 while Redis is down", down)
    await asyncio.sleep(0.5)
    redis.start()
    up = await wait_ready(nodes[0].port, 200, 15) and await wait_ready(nodes[1].port, 200, 15)
    checks.report("redis: /readyz 200 again once it is back", up)
    await asyncio.gather(*pubs)
    # Refused 503: `unavailable` (not applied) or, for one whose answer was
    # lost with Redis, `unconfirmed` (it may have been).
    unavailable = [r for r in refused if r[0] == 503 and b'"unavailable"' in r[1]]
    unconfirmed = [r for r in refused if r[0] == 503 and b'"unconfirmed"' in r[1]]
    checks.report("redis: publishes during the outage refused 503 unavailable or unconfirmed",
                  len(unavailable) > 0 and len(unavailable) + len(unconfirmed) == len(refused),
                  short(refused))
    # A publish whose answer was lost with Redis is refused `unconfirmed`:
    # it may have been applied. Seqs delivered but never acked are such, at
    # most one per `unconfirmed`. No seq is skipped (nothing half-applied),
    # none delivered twice.
    m = len(acked)
    checks.report("redis: every acked seq once", len(set(acked)) == m, short(sorted(acked)))
    first = None
    for k, (ws, _) in enumerate(members):
        got = []
        await read_msgs(ws, m, got)
        try:
            await read_msgs(ws, 10**9, got, seconds=1)  # and whatever else comes
        except asyncio.TimeoutError:
            pass
        seqs, n = [s for s, _ in got], len(got)
        checks.report(f"redis: member on node {k} got 1..N in order, N >= {m}",
                      n >= m and seqs == list(range(1, n + 1)), short(seqs))
        checks.report(f"redis: member on node {k} got nothing twice",
                      len({d for _, d in got}) == n, short(got))
        checks.report(f"redis: member on node {k} got every acked seq, and unacked ones only "
                      f"for unconfirmed publishes", set(acked) <= set(seqs) and n - m <= len(unconfirmed),
                      short((n, m, len(unconfirmed))))
        if first is None:
            first = got
        else:
            checks.report(f"redis: member on node {k} got what node 0's did", got == first,
                          short(got))
        await ws.close()


async def main():
    redis = Redis()
    redis.start()
    nodes = [Node(redis) for _ in range(3)]
    for n in nodes:
        if not await wait_ready(n.port):
            raise RuntimeError("node not ready: " + open(n.log.name).read()[-2000:])
    for t in (test_spread, test_kill, test_redis_restart):
        try:
            await asyncio.wait_for(t(nodes, redis) if t is not test_spread else t(nodes), 60)
        except Exception as e:  # one test's failure is that test's FAIL
            checks.report(t.__name__, False, f"{type(e).__name__}: {e}")
    shutil.rmtree(redis.dir, ignore_errors=True)


try:
    if not os.path.exists(REDIS_SERVER):
        print(f"SKIP cluster: {REDIS_SERVER} is not installed")
        sys.exit(77)
    asyncio.run(main())
finally:
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.wait()
checks.exit()
