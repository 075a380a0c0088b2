"""End-to-end checks of the JSON socket (GET /ws, docs/PROTOCOL.md) with
Python websockets, a client not written here.

Run with /usr/bin/python3 (Debian's python3-websockets 10.4). The server's
port comes from E2E_PORT. Prints a PASS or FAIL line per check; exits 1 if
any failed. Every wait has a deadline; nothing sleeps to synchronise: a
room's messages arrive in seq order, so a client that sees a later message
of a room has seen everything before it (a "barrier").
"""
import asyncio
import base64
import json
import os
import time
import urllib.request
import uuid

import websockets

import testlib

PORT = int(os.environ["E2E_PORT"])
T = 10.0  # seconds any single wait may take
checks = testlib.Checks("json")
report = checks.report


new_room = testlib.new_room
short = testlib.short


def canon(v) -> str:
    """JSON text that tells true from 1 and 1 from 1.0 (Python's == does not)."""
    return json.dumps(v, sort_keys=True, ensure_ascii=False)


def http_json(path: str):
    with urllib.request.urlopen(f"http://127.0.0.1:{PORT}{path}", timeout=T) as r:
        return r.status, json.loads(r.read())


class Client:
    """A JSON socket with an inbox: wait() takes the first message that
    matches and keeps the others, in order, for later waits."""

    def __init__(self, ws):
        self.ws = ws
        self.inbox = []

    @classmethod
    async def open(cls, path="/ws"):
        ws = await asyncio.wait_for(
            websockets.connect(f"ws://127.0.0.1:{PORT}{path}", open_timeout=T, close_timeout=T,
                               ping_interval=None, max_size=None), T)
        return cls(ws)

    async def send(self, op):
        text = op if isinstance(op, (str, bytes)) else json.dumps(op, ensure_ascii=False)
        await asyncio.wait_for(self.ws.send(text), T)

    async def _recv(self):
        raw = await asyncio.wait_for(self.ws.recv(), T)
        return json.loads(raw)

    async def wait(self, pred, what="a message"):
        for i, m in enumerate(self.inbox):
            if pred(m):
                return self.inbox.pop(i)
        deadline = time.monotonic() + T
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no {what} within {T}s; inbox {short(self.inbox)}")
            try:
                m = await asyncio.wait_for(self._recv(), left)
            except asyncio.TimeoutError:
                raise TimeoutError(f"no {what} within {T}s; inbox {short(self.inbox)}") from None
            if pred(m):
                return m
            self.inbox.append(m)

    async def reply(self, type_, id_):
        """The answer of type `type_` (or an error) carrying `id_`."""
        return await self.wait(lambda m: m.get("type") in (type_, "error") and m.get("id") == id_,
                               f"{type_} id={id_!r}")

    async def op(self, op, type_):
        await self.send(op)
        return await self.reply(type_, op.get("id"))

    async def join(self, room, **kw):
        return await self.op({"type": "join", "room": room, "id": f"j-{room}", **kw}, "joined")

    async def msgs_until(self, room, last_seq):
        """Every msg of `room` up to seq `last_seq` (kept in arrival order),
        leaving other messages in the inbox."""
        got = []
        while True:
            m = await self.wait(lambda m: m.get("type") == "msg" and m.get("room") == room,
                                f"msg of {room} up to seq {last_seq}")
            got.append(m)
            if m.get("seq") == last_seq:
                return got

    def take(self, pred):
        taken = [m for m in self.inbox if pred(m)]
        self.inbox = [m for m in self.inbox if not pred(m)]
        return taken

    async def close(self):
        try:
            await asyncio.wait_for(self.ws.close(), T)
        except (asyncio.TimeoutError, websockets.exceptions.WebSocketException, OSError):
            pass


async def pub(c: Client, room, data, id_):
    """Publishes with an id and returns the seq from the ack."""
    a = await c.op({"type": "pub", "room": room, "data": data, "id": id_}, "ack")
    if a.get("type") != "ack":
        raise AssertionError(f"pub refused: {a}")
    return a["seq"]


async def my_id(c: Client, room):
    """The sender id the server gives `c` (the `from` of its own message)."""
    tag = f"whoami-{uuid.uuid4().hex[:8]}"
    seq = await pub(c, room, tag, tag)
    m = await c.wait(lambda m: m.get("type") == "msg" and m.get("room") == room
                     and m.get("seq") == seq, "own msg")
    return m["from"]


VALUES = [
    {"k": "v", "nested": {"a": [1, {"b": None}], "e": {}}, "t": True},
    [1, "two", 3.5, False, None, [], {"x": [[]]}],
    "quote \" backslash \\ slash / newline \n crlf \r\n tab \t nul \u0000 \u001f "
    "unicode \u00e9\u6f22\U0001f600 \u2028",
    42, -7, 0, 3.25, -0.5, 9007199254740993, 18446744073709551615, -9223372036854775808,
    True, False, None, "", {}, [],
]


async def test_join_pub_types():
    room, other = new_room("py-json"), new_room("py-json2")
    a, b = await Client.open(), await Client.open()
    ja = await a.join(room, id="ja")
    jy = await a.op({"type": "join", "room": other, "id": 42}, "joined")
    ok = (ja.get("type") == "joined" and ja.get("room") == room and ja.get("id") == "ja"
          and jy.get("room") == other and jy.get("id") == 42
          and all(len(j.get("epoch", "")) == 16 and set(j["epoch"]) <= set("0123456789abcdef")
                  and j.get("seq") == 0 and j.get("recovered") is False for j in (ja, jy)))
    report("join two rooms: joined with the op's id (string and integer), a 16-hex epoch, "
           "seq 0, recovered false", ok, f"{ja} / {jy}")
    await b.join(room)

    for i, v in enumerate(VALUES):
        await a.send({"type": "pub", "room": room, "data": v, "id": i + 1})
    n = len(VALUES)
    got_a = await a.msgs_until(room, n)
    acks = [await a.reply("ack", i + 1) for i in range(n)]
    got_b = await b.msgs_until(room, n)
    seqs = [m.get("seq") for m in got_a]
    report("pub of objects, arrays, strings (quotes, newlines, NUL, unicode), numbers, "
           "true/false/null comes back as the same JSON values",
           [canon(m.get("data")) for m in got_a] == [canon(v) for v in VALUES],
           f"got {short([m.get('data') for m in got_a], 600)}")
    report("msg envelopes carry the room and seq 1, 2, 3... in order", seqs == list(range(1, n + 1))
           and all(m.get("room") == room for m in got_a), f"seqs {seqs}")
    now = time.time() * 1000
    report("msg envelopes carry ts (Unix ms, now) and the same non-empty from",
           all(isinstance(m.get("ts"), int) and abs(m["ts"] - now) < 60000 for m in got_a)
           and len({m.get("from") for m in got_a}) == 1 and bool(got_a[0].get("from")),
           f"{short(got_a[:2])}")
    report("every pub with an id gets ack {id, seq} with its message's seq",
           [(x.get("type"), x.get("id"), x.get("seq")) for x in acks]
           == [("ack", i + 1, i + 1) for i in range(n)], f"acks {short(acks, 600)}")
    report("a second member sees the same messages with the same seqs",
           [(m.get("seq"), canon(m.get("data")), m.get("from")) for m in got_b]
           == [(m.get("seq"), canon(m.get("data")), m.get("from")) for m in got_a],
           f"b got {short(got_b, 600)}")

    # The other room has its own sequence, and only its members get it.
    ys = await pub(a, other, "only in the other room", "y1")
    my = await a.wait(lambda m: m.get("type") == "msg" and m.get("room") == other, "other msg")
    await pub(a, room, "barrier", "bar1")
    await b.msgs_until(room, n + 1)
    leaked = b.take(lambda m: m.get("room") == other)
    report("a second room has its own seqs; a non-member gets none of its messages",
           ys == 1 and my.get("seq") == 1 and not leaked, f"seq {ys}, b got {leaked}")

    hist = await a.op({"type": "history", "room": room, "limit": 3, "id": "h1"}, "history")
    hist2 = await a.op({"type": "history", "room": room, "before": 3, "limit": 5, "id": "h2"},
                       "history")
    report("history: the newest `limit` messages, or those before `before`, oldest first",
           [m.get("seq") for m in hist.get("messages", [])] == [n - 1, n, n + 1]
           and hist.get("epoch") == ja.get("epoch") and hist.get("seq") == n + 1
           and [m.get("seq") for m in hist2.get("messages", [])] == [1, 2]
           and canon(hist2["messages"][0].get("data")) == canon(VALUES[0]),
           f"{short(hist)} / {short(hist2)}")

    left = await a.op({"type": "leave", "room": other, "id": "l1"}, "left")
    c = await Client.open()
    await c.join(other)
    await pub(c, other, "after a left", "c1")
    await pub(b, room, "barrier 2", "bar2")
    await a.msgs_until(room, n + 2)
    after = a.take(lambda m: m.get("room") == other and m.get("type") == "msg")
    report("leave: left with the id, and no message of the room after it",
           left.get("type") == "left" and left.get("room") == other and not after,
           f"{left}, then {after}")

    await a.send('{"type":"ping","id":"dup1","id":"dup2","type":"pub","unknown":{"a":1}}')
    dup = await a.wait(lambda m: m.get("type") in ("pong", "error"), "pong")
    report("a key given twice counts the first time; unknown keys are ignored",
           dup == {"type": "pong", "id": "dup1"}, f"got {dup}")
    for x in (a, b, c):
        await x.close()


def deep(k: int) -> str:
    return "[" * k + "]" * k


ERROR_CASES = [
    # (code, frame: a dict or raw text/bytes, id the error must carry or None)
    ("bad_json", "not json", None),
    ("bad_json", "[1,2]", None),
    ("bad_json", '"a string"', None),
    ("bad_json", '{"type":"ping",}', None),
    ("bad_json", '{"type":"ping"} {}', None),
    ("bad_json", '{"type":"ping","id":"x\\q"}', None),
    ("bad_json", '{"type":"ping","x":' + deep(40) + "}", None),
    ("bad_json", '{"type":"pub","room":"ROOM","data":1e999,"id":"n1"}', None),
    ("bad_json", '{"type":"pub","room":"ROOM","data":123456789012345678901234567890}', None),
    ("bad_json", b'{"type":"ping","id":"bin"}', None),
    ("bad_json", b'{"type":"ping","x":"\xff\xfe"}', None),
    ("bad_type", {"id": "t1"}, "t1"),
    ("bad_type", {"type": 5, "id": "t2"}, "t2"),
    ("bad_type", {"type": "publish", "id": "t3"}, "t3"),
    ("bad_type", {"type": None, "id": 4}, 4),
    ("bad_field", {"type": "pub", "room": "ROOM", "id": "f1"}, "f1"),
    ("bad_field", {"type": "join", "id": "f2"}, "f2"),
    ("bad_field", {"type": "join", "room": 5, "id": "f3"}, "f3"),
    ("bad_field", {"type": "history", "id": "f4"}, "f4"),
    ("bad_field", {"type": "presence", "room": None, "id": "f5"}, "f5"),
    ("bad_field", {"type": "leave", "room": ["ROOM"], "id": "f6"}, "f6"),
    ("bad_room", {"type": "join", "room": "bad room", "id": "r1"}, "r1"),
    ("bad_room", {"type": "join", "room": "", "id": "r2"}, "r2"),
    ("bad_room", {"type": "join", "room": "a" * 201, "id": "r3"}, "r3"),
    ("bad_room", {"type": "pub", "room": "sl/ash", "data": 1, "id": "r4"}, "r4"),
    ("bad_room", {"type": "presence", "room": "\u00e9t\u00e9", "id": "r5"}, "r5"),
    ("bad_since", {"type": "join", "room": "NEW", "since": "zz", "id": "s1"}, "s1"),
    ("bad_since", {"type": "join", "room": "NEW", "since": "0123456789abcdef", "id": "s2"}, "s2"),
    ("bad_since", {"type": "join", "room": "NEW", "since": "0123456789abcdef:", "id": "s3"}, "s3"),
    ("bad_since", {"type": "join", "room": "NEW", "since": "0123456789abcdef:-1", "id": "s4"}, "s4"),
    ("bad_since", {"type": "join", "room": "NEW", "since": "0123456789abcdef:x", "id": "s5"}, "s5"),
    ("bad_limit", {"type": "history", "room": "ROOM", "limit": 0, "id": "l1"}, "l1"),
    ("bad_limit", {"type": "history", "room": "ROOM", "limit": 1001, "id": "l2"}, "l2"),
    ("bad_limit", {"type": "history", "room": "ROOM", "limit": 1.5, "id": "l3"}, "l3"),
    ("bad_limit", {"type": "history", "room": "ROOM", "limit": -1, "id": "l4"}, "l4"),
    ("bad_before", {"type": "history", "room": "ROOM", "before": 0, "id": "b1"}, "b1"),
    ("bad_before", {"type": "history", "room": "ROOM", "before": -3, "id": "b2"}, "b2"),
    ("bad_before", {"type": "history", "room": "ROOM", "before": 2.5, "id": "b3"}, "b3"),
    ("bad_id", {"type": "ping", "id": {"x": 1}}, None),
    ("bad_id", {"type": "ping", "id": "x" * 129}, None),
    ("bad_id", {"type": "ping", "id": True}, None),
    ("bad_id", {"type": "ping", "id": None}, None),
    ("bad_id", {"type": "ping", "id": 1.5}, None),
    ("bad_id", {"type": "pub", "room": "ROOM", "data": 1, "id": [1]}, None),
    ("not_joined", {"type": "pub", "room": "NEW", "data": 1, "id": "n1"}, "n1"),
    ("not_joined", {"type": "leave", "room": "NEW", "id": "n2"}, "n2"),
    ("already_joined", {"type": "join", "room": "ROOM", "id": "a1"}, "a1"),
]


def fill(frame, room, fresh):
    if isinstance(frame, dict):
        frame = json.dumps(frame, ensure_ascii=False)
        return frame.replace('"ROOM"', json.dumps(room)).replace('"NEW"', json.dumps(fresh))
    if isinstance(frame, str):
        return frame.replace('"ROOM"', json.dumps(room))
    return frame


async def test_error_codes():
    room, fresh = new_room("py-err"), new_room("py-err-new")
    c = await Client.open()
    await c.join(room)
    for code, frame, id_ in ERROR_CASES:
        await c.send(fill(frame, room, fresh))
        # Each refused op gets one error, in order: the next error is its own.
        e = await c.wait(lambda m: m.get("type") in ("error", "pong", "joined", "ack", "left",
                                                     "history", "presence"), f"{code} error")
        shown = short(fill(frame, room, fresh), 80)
        report(f"{code} for {shown}", e.get("type") == "error" and e.get("code") == code
               and isinstance(e.get("reason"), str) and e.get("id") == id_, f"got {e}")
    pong = await c.op({"type": "ping", "id": "x" * 128}, "pong")
    report("after every error the socket still works: a ping (with a 128-byte id) gets its pong",
           pong.get("type") == "pong", f"got {pong}")
    seq = await pub(c, room, "first real message", "p1")
    report("refused ops changed nothing: the room's first message gets seq 1", seq == 1,
           f"seq {seq}")
    _, h = http_json(f"/rooms/{fresh}/presence")
    report("refused joins joined nothing", h.get("count") == 0, f"presence {h}")
    await c.close()

    d = await Client.open()
    base = new_room("py-many")
    for i in range(100):
        await d.send({"type": "join", "room": f"{base}-{i}", "id": i})
    joined = [await d.reply("joined", i) for i in range(100)]
    over = await d.op({"type": "join", "room": f"{base}-x", "id": "over"}, "joined")
    report("too_many_rooms for the 101st room of one socket (--max-rooms-per-conn 100)",
           all(j.get("type") == "joined" for j in joined) and over.get("type") == "error"
           and over.get("code") == "too_many_rooms" and over.get("id") == "over", f"got {over}")
    await d.op({"type": "leave", "room": f"{base}-0", "id": "lv"}, "left")
    again = await d.op({"type": "join", "room": f"{base}-x", "id": "again"}, "joined")
    report("after a leave there is room for one more join", again.get("type") == "joined",
           f"got {again}")
    await d.close()


async def raw_close_code(path: str, frame_opcode: int, payload: bytes) -> int:
    """Handshakes on `path` with a plain socket, sends one masked frame and
    returns the code of the server's close frame (-1: closed without one)."""
    reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", PORT), T)
    try:
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write((f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{PORT}\r\nUpgrade: websocket\r\n"
                      f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                      "Sec-WebSocket-Version: 13\r\n\r\n").encode())
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), T)
        if not head.startswith(b"HTTP/1.1 101"):
            raise AssertionError(f"no 101: {head[:40]!r}")
        mask = os.urandom(4)
        body = bytes(x ^ mask[i % 4] for i, x in enumerate(payload))
        n = len(payload)
        size = bytes([0x80 | n]) if n < 126 else bytes([0x80 | 126]) + n.to_bytes(2, "big")
        writer.write(bytes([0x80 | frame_opcode]) + size + mask + body)
        while True:
            hdr = await asyncio.wait_for(reader.readexactly(2), T)
            ln = hdr[1] & 0x7F
            if ln == 126:
                ln = int.from_bytes(await reader.readexactly(2), "big")
            elif ln == 127:
                ln = int.from_bytes(await reader.readexactly(8), "big")
            data = await asyncio.wait_for(reader.readexactly(ln), T)
            if hdr[0] & 0x0F == 0x8:
                return int.from_bytes(data[:2], "big") if ln >= 2 else 1005
    except asyncio.IncompleteReadError:
        return -1
    finally:
        writer.close()


async def test_hostile():
    room = new_room("py-hostile")
    h, o = await Client.open(), await Client.open()
    await h.join(room)
    await o.join(room)

    await h.send('{"type":"pub","room":%s,"data":%s,"id":"deep"}' % (json.dumps(room), deep(10000)))
    e1 = await h.wait(lambda m: m.get("type") == "error", "error")
    await h.send(deep(10000))
    e2 = await h.wait(lambda m: m.get("type") == "error", "error")
    p = await h.op({"type": "ping", "id": "after-deep"}, "pong")
    report("10,000-deep nesting (in data and as the whole message) is bad_json; the socket lives",
           e1.get("code") == "bad_json" and e2.get("code") == "bad_json" and p["type"] == "pong",
           f"{e1} / {e2} / {p}")

    ok32 = await h.op({"type": "ping", "x": json.loads(deep(31)), "id": "d32"}, "pong")
    report("32 levels of nesting (the op's object included) are accepted",
           ok32.get("type") == "pong", f"got {ok32}")

    for lit in ("1e999", "-1e999", "[1,2,1e400]", '{"a":-1e9999}'):
        await h.send('{"type":"pub","room":%s,"data":%s,"id":"huge"}' % (json.dumps(room), lit))
        e = await h.wait(lambda m: m.get("type") == "error", "error")
        report(f"a number out of range ({lit}) is refused with bad_json",
               e.get("code") == "bad_json", f"got {e}")

    big = "\u00e9" + "x" * (900 * 1024) + "\U0001f600\n\"end\""
    s = await pub(h, room, {"big": big}, "big")
    mh = await h.wait(lambda m: m.get("type") == "msg" and m.get("seq") == s, "own 900 KB msg")
    mo = await o.wait(lambda m: m.get("type") == "msg" and m.get("seq") == s, "others' 900 KB msg")
    report("a 900 KB string in data (under --max-message 1 MiB) reaches every member intact",
           mh.get("data") == {"big": big} and mo.get("data") == {"big": big},
           f"got {len(canon(mh.get('data')))} / {len(canon(mo.get('data')))} chars")

    code = await raw_close_code("/ws", 0x1, b'{"type":"ping","x":"\xc3\x28"}')
    report("invalid UTF-8 in a text frame on /ws gets close 1007", code == 1007, f"code {code}")

    over = await Client.open()
    await over.send("[" + " " * (1024 * 1024) + "]")
    try:
        while True:
            await asyncio.wait_for(over.ws.recv(), T)
    except websockets.exceptions.ConnectionClosed:
        pass
    report("a message over --max-message on /ws gets close 1009", over.ws.close_code == 1009,
           f"close code {over.ws.close_code}")

    s2 = await pub(o, room, "still serving", "o1")
    m2 = await h.wait(lambda m: m.get("type") == "msg" and m.get("seq") == s2, "msg after hostile")
    fresh = await Client.open()
    jf = await fresh.join(room)
    with urllib.request.urlopen(f"http://127.0.0.1:{PORT}/healthz", timeout=T) as r:
        status = r.status
    report("after all that the server still serves others: members chat, a new client joins, "
           "/healthz is 200", m2.get("data") == "still serving" and jf.get("type") == "joined"
           and jf.get("seq") == s2 and status == 200, f"{m2} / {jf} / {status}")
    for x in (h, o, fresh):
        await x.close()


async def test_resume():
    room = new_room("py-resume")
    p, c = await Client.open(), await Client.open()
    await p.join(room)
    jc = await c.join(room)
    epoch = jc["epoch"]
    for i in range(1, 4):
        await pub(p, room, f"m{i}", i)
    seen = await c.msgs_until(room, 3)
    await c.close()
    for i in range(4, 9):
        await pub(p, room, f"m{i}", i)

    c2 = await Client.open()
    j = await c2.join(room, since=f"{epoch}:3")
    got = await c2.msgs_until(room, 8)
    for i in range(9, 11):
        await pub(p, room, f"m{i}", i)
    got += await c2.msgs_until(room, 10)
    report("resume: joined says recovered true, the room's epoch and its last seq",
           j.get("recovered") is True and j.get("epoch") == epoch and j.get("seq") == 8, f"{j}")
    report("resume: exactly the missed seqs 4-8, then the live 9-10 (no gap, no duplicate)",
           [m["seq"] for m in seen] == [1, 2, 3]
           and [(m["seq"], m["data"]) for m in got] == [(i, f"m{i}") for i in range(4, 11)],
           f"got {[m['seq'] for m in got]}")
    await c2.close()

    # The same while the room is busy: the join races 200 publishes.
    c3 = await Client.open()
    for i in range(11, 211):
        await p.send({"type": "pub", "room": room, "data": f"m{i}", "id": i})
    j3 = await c3.join(room, since=f"{epoch}:10")
    acks = [await p.reply("ack", i) for i in range(11, 211)]
    got3 = await c3.msgs_until(room, 210)
    report("resume while 200 messages are being published: every seq 11-210 exactly once, "
           "in order", j3.get("recovered") is True and [a.get("seq") for a in acks]
           == list(range(11, 211)) and [m["seq"] for m in got3] == list(range(11, 211)),
           f"joined {j3}, seqs {short([m['seq'] for m in got3])}")

    wrong = "0000000000000001" if epoch != "0000000000000001" else "0000000000000002"
    c4 = await Client.open()
    j4 = await c4.join(room, since=f"{wrong}:5")
    got4 = await c4.msgs_until(room, 210)
    report("resume with a wrong epoch: recovered false, the real epoch, then what history holds",
           j4.get("recovered") is False and j4.get("epoch") == epoch and j4.get("seq") == 210
           and [m["seq"] for m in got4] == list(range(1, 211)),
           f"joined {j4}, seqs {short([m['seq'] for m in got4])}")
    for x in (p, c3, c4):
        await x.close()


def is_event(kind, member_id):
    return lambda m: m.get("type") == kind and m.get("member") == {"id": member_id}


async def test_presence():
    room = new_room("py-presence")
    a = await Client.open()
    await a.join(room)
    a_id = await my_id(a, room)
    b = await Client.open()
    await b.join(room)
    b_id = await my_id(b, room)
    jb = await a.wait(lambda m: m.get("type") == "join" and m.get("room") == room, "join event")
    report("a member gets a join event with the newcomer's id (and no seq)",
           jb.get("member") == {"id": b_id} and "seq" not in jb, f"got {jb}")

    c = await Client.open()
    await c.join(room)
    c_id = await my_id(c, room)
    await a.wait(is_event("join", c_id), "join event for c at a")
    await b.wait(is_event("join", c_id), "join event for c at b")
    pres = await a.op({"type": "presence", "room": room, "id": "pr"}, "presence")
    ids = sorted(m.get("id") for m in pres.get("members", []))
    report("presence lists every member (by the ids their messages carry)",
           ids == sorted([a_id, b_id, c_id]) and pres.get("room") == room, f"{pres}")
    _, hp = http_json(f"/rooms/{room}/presence")
    report("GET /rooms/{room}/presence agrees", hp.get("count") == 3
           and sorted(m["id"] for m in hp["members"]) == ids, f"{hp}")

    await c.op({"type": "leave", "room": room, "id": "cl"}, "left")
    lc_a = await a.wait(lambda m: m.get("type") == "leave", "leave event at a")
    lc_b = await b.wait(lambda m: m.get("type") == "leave", "leave event at b")
    report("a leave op produces a leave event at every other member",
           lc_a.get("member") == {"id": c_id} and lc_b.get("member") == {"id": c_id},
           f"{lc_a} / {lc_b}")

    b.ws.transport.abort()  # no close frame: the TCP connection just ends
    lb = await a.wait(lambda m: m.get("type") == "leave", "leave event for the killed client")
    pres2 = await a.op({"type": "presence", "room": room, "id": "pr2"}, "presence")
    report("a killed client (transport abort) produces a leave event and leaves no ghost",
           lb.get("member") == {"id": b_id} and pres2.get("members") == [{"id": a_id}],
           f"{lb} / {pres2}")

    # Nobody hears about itself, and no event came twice.
    seq = await pub(a, room, "barrier", "pb")
    await a.msgs_until(room, seq)
    own = [m for m in a.inbox if m.get("member") == {"id": a_id}]
    own += [m for m in c.inbox if m.get("member") == {"id": c_id}]
    extra = [m for m in a.inbox if m.get("type") in ("join", "leave")]
    report("no member gets presence events about itself; no event came twice",
           not own and not extra, f"own {own}, more events at a {extra}")
    for x in (a, c):
        await x.close()


if __name__ == "__main__":
    checks.run_all([test_join_pub_types, test_error_codes, test_hostile, test_resume, test_presence],
                   6 * T)
