"""End-to-end checks of /ws/{room} with Python websockets (not written here).

Uses Debian's python3-websockets (10.4): run with /usr/bin/python3. The
server's port comes from E2E_PORT; E2E_KIND is ringchat or node-ws. Prints a
PASS or FAIL line per check; exits 1 if any failed.
"""
import asyncio
import os

import websockets

import testlib

PORT = int(os.environ["E2E_PORT"])
KIND = os.environ.get("E2E_KIND", "ringchat")
DEADLINE = 10.0
checks = testlib.Checks("websockets")
report = checks.report


def room_url(prefix: str) -> str:
    return f"ws://127.0.0.1:{PORT}/ws/{testlib.new_room(prefix)}"


def connect(url: str, **kw):
    return websockets.connect(url, open_timeout=DEADLINE, close_timeout=DEADLINE,
                              ping_interval=None, **kw)


async def recv(ws):
    return await asyncio.wait_for(ws.recv(), DEADLINE)


async def recv_until(ws, wanted):
    """Receives until `wanted` arrives; returns what came before it."""
    before = []
    while True:
        m = await recv(ws)
        if m == wanted:
            return before
        before.append(m)


async def join_pair(url):
    """Connects B then A to one room so that both are certainly members.

    B publishes a marker and waits for its echo, so B's membership is live;
    then A does the same, and B drains A's marker. No sleeps needed.
    """
    b = await connect(url).__aenter__()
    await b.send("ready-b")
    await recv_until(b, "ready-b")
    a = await connect(url).__aenter__()
    await a.send("ready-a")
    await recv_until(a, "ready-a")
    await recv_until(b, "ready-a")
    return a, b


def by_sender(msgs, tag):
    return [m for m in msgs if (m[:1] if isinstance(m, str) else m[:1].decode()) == tag]


async def test_two_clients_chat():
    a, b = await join_pair(room_url("py-chat"))
    sent_a = ["a0 hello", b"a1\x00\xffbinary", "a2 \u00e9\u6f22\U0001f600"]
    sent_b = [b"b0\x01\x02", "b1 text", b"b2" + bytes(range(256))]
    for i in range(3):
        await a.send(sent_a[i])
        await b.send(sent_b[i])
    got_a = [await recv(a) for _ in range(6)]
    got_b = [await recv(b) for _ in range(6)]
    report("two clients each receive the other's messages in order",
           by_sender(got_a, "b") == sent_b and by_sender(got_b, "a") == sent_a,
           f"a got {got_a!r}, b got {got_b!r}")
    report("the sender gets its own messages back (echo), in order",
           by_sender(got_a, "a") == sent_a and by_sender(got_b, "b") == sent_b,
           f"a got {got_a!r}, b got {got_b!r}")
    report("text stays text and binary stays binary",
           all(type(x) is type(y) for x, y in zip(by_sender(got_a, "b"), sent_b)),
           f"types {[type(x).__name__ for x in got_a]}")
    report("both members see the room's messages in the same order", got_a == got_b,
           f"a {got_a!r} vs b {got_b!r}")
    await a.close()
    await b.close()


async def test_large_message():
    async with connect(room_url("py-big")) as ws:
        text = ("0123456789abcdef" * 4096)
        data = os.urandom(65536)
        await ws.send(text)
        got_text = await recv(ws)
        await ws.send(data)
        got_data = await recv(ws)
    report("a 64 KiB text message round-trips", got_text == text,
           f"got {len(got_text)} chars")
    report("a 64 KiB binary message round-trips", got_data == data,
           f"got {len(got_data)} bytes")


async def test_ping_pong():
    async with connect(room_url("py-ping")) as ws:
        waiter = await ws.ping(b"e2e-ping")
        try:
            await asyncio.wait_for(waiter, DEADLINE)
            report("ping gets a pong", True)
        except asyncio.TimeoutError:
            report("ping gets a pong", False, "no pong within deadline")
        await ws.send("after-ping")
        report("the connection still chats after a ping", await recv(ws) == "after-ping")


async def test_clean_close():
    ws = await connect(room_url("py-close")).__aenter__()
    await ws.send("bye soon")
    await recv(ws)
    await ws.close(code=1000, reason="done")
    report("clean close: server echoes close code 1000", ws.close_code == 1000,
           f"close_code={ws.close_code} reason={ws.close_reason!r}")


async def test_bad_room_name():
    for bad in ["bad%20name", "a" * 201, "sl/ash", "%C3%A9t%C3%A9"]:
        url = f"ws://127.0.0.1:{PORT}/ws/{bad}"
        try:
            async with connect(url):
                report(f"bad room name {bad[:20]!r} gets HTTP 400", False, "handshake succeeded")
        except websockets.exceptions.InvalidStatusCode as e:
            report(f"bad room name {bad[:20]!r} gets HTTP 400", e.status_code == 400,
                   f"status {e.status_code}")


async def test_longest_room_name():
    async with connect(f"ws://127.0.0.1:{PORT}/ws/" + "Az09._:@-" * 22 + "xy") as ws:
        await ws.send("long room")
        report("a 200-byte room name of every allowed character works",
               await recv(ws) == "long room")


async def test_connect_after_idle():
    """New connections after the server sat idle longer than its handshake
    timeout must still complete (a stale timer clock once closed them)."""
    idle_s = float(os.environ.get("E2E_IDLE_S", "0"))
    if idle_s <= 0:
        print("SKIP websockets: connect after idle (E2E_IDLE_S not set)", flush=True)
        return
    await asyncio.sleep(idle_s)  # the condition under test, not a synchronisation
    outcomes = []
    for i in range(8):  # several, so that every shard sees a first connection
        try:
            async with connect(room_url(f"py-idle{i}")) as ws:
                await ws.send("after idle")
                outcomes.append(await recv(ws) == "after idle")
        except (OSError, asyncio.TimeoutError, websockets.exceptions.WebSocketException) as e:
            outcomes.append(f"{type(e).__name__}: {e}")
    report(f"8 connections after {idle_s:g} s idle all complete their handshake and chat",
           all(o is True for o in outcomes), f"outcomes {outcomes}")


if __name__ == "__main__":
    checks.run_all([test_connect_after_idle, test_two_clients_chat, test_large_message,
                    test_ping_pong, test_clean_close, test_bad_room_name, test_longest_room_name],
                   3 * DEADLINE)
