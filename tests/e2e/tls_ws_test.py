"""End-to-end checks of wss:// with Python websockets, a client not written
here, on the TLS port of a server run by tls_clients.sh.

Run with /usr/bin/python3 (Debian's python3-websockets 10.4).
  E2E_TLS_PORT   the server's TLS port
  E2E_CA         the server's self-signed certificate (PEM), trusted alone
  tls_ws_test.py [--fresh]
Without arguments: a default context (the system's CAs) is refused; two raw
sockets in one room get a 200 KB binary message, a 200 KB text message and
small ones, intact and in order (the sender's own too); the JSON socket's
join/pub/msg/ack. With --fresh only one raw socket's echo: is the port still
serving after bad input. Prints a PASS or FAIL line per check; exits 1 if
any failed. Every wait has a deadline of T seconds.
"""
import asyncio
import json
import os
import ssl
import sys

import websockets

import testlib

PORT = int(os.environ["E2E_TLS_PORT"])
CA = os.environ["E2E_CA"]
T = 10.0  # seconds any single wait may take
checks = testlib.Checks("websockets")
report = checks.report


new_room = testlib.new_room


def short(v) -> str:
    return testlib.short(v, 200)


def trusting_context() -> ssl.SSLContext:
    """Verifies the server's certificate against E2E_CA alone, and the name
    127.0.0.1 against its subjectAltName."""
    return ssl.create_default_context(cafile=CA)  # with cafile: no system CAs


async def connect(path: str, ctx: ssl.SSLContext):
    return await asyncio.wait_for(
        websockets.connect(f"wss://127.0.0.1:{PORT}{path}", ssl=ctx, open_timeout=T,
                           close_timeout=T, ping_interval=None, max_size=None), T)


async def recv_n(ws, n: int):
    return [await asyncio.wait_for(ws.recv(), T) for _ in range(n)]


async def refused_without_ca() -> None:
    name = "a context with only the system's CAs refuses the self-signed certificate"
    try:
        ws = await connect(f"/ws/{new_room('refused')}", ssl.create_default_context())
        await ws.close()
        report(name, False, "the handshake succeeded")
    except ssl.SSLCertVerificationError:
        report(name, True)
    except Exception as e:  # noqa: BLE001 - anything else is a wrong reason
        report(name, False, f"{type(e).__name__}: {e}")


async def raw_room() -> None:
    ctx = trusting_context()
    room = new_room("tls-raw")
    a = await connect(f"/ws/{room}", ctx)
    b = await connect(f"/ws/{room}", ctx)
    tls = a.transport.get_extra_info("ssl_object")
    report("wss:// to /ws/{room} verifies against the certificate (TLS 1.2 or 1.3, ALPN http/1.1 or none)",
           tls is not None and tls.version() in ("TLSv1.2", "TLSv1.3") and
           tls.selected_alpn_protocol() in (None, "http/1.1"),
           f"{tls and tls.version()} {tls and tls.selected_alpn_protocol()}")
    big_bin = os.urandom(200 * 1024)
    unit = "tls \u00e9\u6f22\U0001F600 "  # 14 bytes of UTF-8
    big_text = unit * (200 * 1024 // len(unit.encode()) + 1)
    sent = ["s0", big_bin, "s1", "s2", big_text, "s3", b"\x00\xff", "s4"]
    for m in sent:
        await asyncio.wait_for(a.send(m), T)
    # Two 200 KB messages cross many 16 KB TLS records each, both ways.
    for who, ws in (("the sender", a), ("the other member", b)):
        try:
            got = await recv_n(ws, len(sent))
            bad = [i for i, (x, y) in enumerate(zip(sent, got)) if type(x) is not type(y) or x != y]
            report(f"{who} gets all {len(sent)} messages (200 KB binary, 200 KB text, small ones) "
                   "intact, in order, each with its opcode", not bad,
                   f"differ at {bad}: {[short(got[i], 60) for i in bad[:3]]}")
        except Exception as e:  # noqa: BLE001
            report(f"{who} gets all {len(sent)} messages", False, f"{type(e).__name__}: {e}")
    await a.close()
    await b.close()


async def json_socket() -> None:
    ctx = trusting_context()
    room = new_room("tls-json")
    c = await connect("/ws", ctx)
    d = await connect("/ws", ctx)
    await c.send(json.dumps({"type": "join", "room": room, "id": "j1"}))
    joined = json.loads(await asyncio.wait_for(c.recv(), T))
    await d.send(json.dumps({"type": "join", "room": room, "id": "j2"}))
    # d's join: c may see a presence `join` event first; skip those.
    d_joined = json.loads(await asyncio.wait_for(d.recv(), T))
    report("JSON socket over wss: join answers joined (id j1, epoch, seq)",
           joined.get("type") == "joined" and joined.get("id") == "j1" and
           len(joined.get("epoch", "")) == 16 and d_joined.get("type") == "joined",
           f"{short(joined)} {short(d_joined)}")
    data = {"text": "\u00fcber TLS \U0001F512", "n": [1, 2.5, None, True]}
    await c.send(json.dumps({"type": "pub", "room": room, "data": data, "id": "p1"}))
    c_got = []
    while not any(m.get("type") == "ack" for m in c_got):
        c_got.append(json.loads(await asyncio.wait_for(c.recv(), T)))
    msgs = [m for m in c_got if m.get("type") == "msg"]
    ack = c_got[-1]
    report("pub over wss: the sender gets its msg (same data, seq+1), then ack p1 with that seq",
           len(msgs) == 1 and msgs[0]["data"] == data and msgs[0]["room"] == room and
           msgs[0]["seq"] == joined["seq"] + 1 and ack.get("id") == "p1" and
           ack.get("seq") == msgs[0]["seq"], short(c_got))
    d_msg = None
    while d_msg is None:
        m = json.loads(await asyncio.wait_for(d.recv(), T))
        if m.get("type") == "msg":
            d_msg = m
    report("the other JSON socket gets the same msg over wss", d_msg == msgs[0] if msgs else False,
           f"{short(d_msg)} vs {short(msgs)}")
    await c.close()
    await d.close()


async def fresh() -> None:
    room = new_room("tls-fresh")
    ws = await connect(f"/ws/{room}", trusting_context())
    await ws.send("still here")
    got = await asyncio.wait_for(ws.recv(), T)
    report("a fresh wss client after the bad input: its message comes back", got == "still here",
           short(got))
    await ws.close()


async def main() -> None:
    steps = [fresh] if sys.argv[1:] == ["--fresh"] else [refused_without_ca, raw_room, json_socket]
    for step in steps:
        try:
            await step()
        except Exception as e:  # noqa: BLE001 - one step failing must not hide the rest
            report(f"{step.__name__} ran to the end", False, f"{type(e).__name__}: {e}")


asyncio.run(main())
checks.exit()
