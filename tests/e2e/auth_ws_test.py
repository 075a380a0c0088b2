"""End-to-end checks of token auth (docs/SECURITY.md) with Python websockets,
a client not written here, on a server run by auth_clients.sh with
--jwt-secret-file, --api-key-file, --origins and --clock-skew 0.

Run with /usr/bin/python3 (Debian's python3-websockets 10.4: extra_headers,
not additional_headers; a refused handshake raises InvalidStatusCode, which
keeps no body, so the body of a refusal is read by sending the same upgrade
request with http.client). Tokens are minted here with hmac, hashlib and
base64 from the server's secret file.
  E2E_PORT           the server's port
  E2E_SECRET_FILE    the HS256 secret, raw bytes
Prints a PASS or FAIL line per check; exits 1 if any failed. Every wait has
a deadline.
"""
import asyncio
import base64
import hashlib
import hmac
import http.client
import json
import os
import time
import urllib.parse
import uuid

import websockets

import testlib

PORT = int(os.environ["E2E_PORT"])
with open(os.environ["E2E_SECRET_FILE"], "rb") as f:
    SECRET = f.read()
T = 5.0  # seconds any single wait may take
checks = testlib.Checks("ws")
report = checks.report


def b64url(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def mint(sub, rooms, pub, exp_in=600, secret=None, header=None, sign=True) -> str:
    """A JWS compact token (RFC 7515) with HS256 unless `header` says otherwise."""
    header = header or {"alg": "HS256", "typ": "JWT"}
    claims = {"sub": sub, "exp": int(time.time()) + exp_in, "rooms": rooms, "pub": pub}
    signing_input = (b64url(json.dumps(header).encode()) + "." +
                     b64url(json.dumps(claims).encode()))
    sig = hmac.new(secret or SECRET, signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + (b64url(sig) if sign else "")


def claims_of(token: str) -> dict:
    p = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))


def new_name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


async def connect(path, **kw):
    return await asyncio.wait_for(
        websockets.connect(f"ws://127.0.0.1:{PORT}{path}", open_timeout=T, close_timeout=T,
                           ping_interval=None, **kw), T)


INBOXES = {}  # id(ws) -> messages received but not yet asked for, in order


async def recv_json(ws, pred=lambda m: True, what="a message"):
    """The first JSON message matching `pred` (kept earlier or arriving
    within T seconds); the others are kept for later calls."""
    inbox = INBOXES.setdefault(id(ws), [])
    for i, m in enumerate(inbox):
        if pred(m):
            return inbox.pop(i)
    deadline = time.monotonic() + T
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"no {what} within {T}s; kept {inbox}")
        m = json.loads(await asyncio.wait_for(ws.recv(), left))
        if pred(m):
            return m
        inbox.append(m)


async def op(ws, o):
    """Sends op `o` (with an id) and returns the answer carrying that id."""
    await asyncio.wait_for(ws.send(json.dumps(o)), T)
    return await recv_json(ws, lambda m: m.get("id") == o["id"], f"answer to {o}")


def refusal(path, headers):
    """(status, body) of an upgrade request the server refuses, via http.client."""
    conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=T)
    try:
        conn.request("GET", path, headers={
            "Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
            "Sec-WebSocket-Key": base64.b64encode(os.urandom(16)).decode(), **headers})
        r = conn.getresponse()
        body = r.read()
        try:
            return r.status, json.loads(body), r.getheader("WWW-Authenticate")
        except ValueError:
            return r.status, {"unparsed": body[:200]}, r.getheader("WWW-Authenticate")
    finally:
        conn.close()


async def expect_refused(name, path, status, code, headers=None, **kw):
    """websockets' handshake fails with `status`; the same request's body names `code`."""
    try:
        ws = await connect(path, extra_headers=headers or {}, **kw)
        await ws.close()
        return report(name, False, "the handshake succeeded")
    except websockets.exceptions.InvalidStatusCode as e:
        got = e.status_code
    st, body, www = refusal(path, {**(headers or {}), **({"Origin": kw["origin"]}
                                                         if "origin" in kw else {})})
    report(name, got == status and st == status and body.get("code") == code and
           (status != 401 or www == "Bearer"),
           f"websockets saw {got}; http.client {st} {body} WWW-Authenticate {www!r}")


async def test_token_places():
    """The token in each of the three places lets a JSON socket join and
    publish; `from` is the token's sub."""
    sub = new_name("alice")
    room = new_name("authpy")
    tok = mint(sub, ["authpy-*"], ["authpy-*"])
    places = [
        ("Authorization: Bearer", "/ws", {"extra_headers": {"Authorization": f"Bearer {tok}"}}),
        ("?token=", "/ws?token=" + urllib.parse.quote(tok), {}),
        ("Sec-WebSocket-Protocol [ringchat, bearer.<jwt>]", "/ws",
         {"subprotocols": ["ringchat", "bearer." + tok]}),
    ]
    for i, (where, path, kw) in enumerate(places):
        try:
            ws = await connect(path, **kw)
            j = await op(ws, {"type": "join", "room": room, "id": f"j{i}"})
            a = await op(ws, {"type": "pub", "room": room, "data": {"n": i}, "id": f"p{i}"})
            m = await recv_json(ws, lambda m: m.get("type") == "msg" and
                                m.get("seq") == a.get("seq"), "own msg")
            proto_ok = "subprotocols" not in kw or ws.subprotocol == "ringchat"
            report(f"token in {where}: join and pub work, msg.from is the sub"
                   + (", negotiated subprotocol is ringchat" if "subprotocols" in kw else ""),
                   j.get("type") == "joined" and a.get("type") == "ack" and
                   m.get("from") == sub and m.get("data") == {"n": i} and proto_ok,
                   f"{j} {a} {m} subprotocol={ws.subprotocol!r}")
            await ws.close()
        except Exception as e:
            report(f"token in {where}", False, f"{type(e).__name__}: {e}")

    # Offered only the bearer entry, the server answers that entry
    # (docs/SECURITY.md): a client that offered nothing else accepts it.
    ws = await connect("/ws", subprotocols=["bearer." + tok])
    pong = await op(ws, {"type": "ping", "id": "only"})
    report("offered only bearer.<jwt>, the server answers that entry and the socket works",
           ws.subprotocol == "bearer." + tok and pong.get("type") == "pong",
           f"subprotocol={ws.subprotocol!r} {pong}")
    await ws.close()


async def test_refusals():
    sub = new_name("bob")
    good = ["authpy-*"]
    await expect_refused("no token: handshake refused, 401 missing_token", "/ws", 401,
                         "missing_token")
    await expect_refused("expired token (exp 60 s ago): 401 token_expired",
                         "/ws", 401, "token_expired",
                         {"Authorization": "Bearer " + mint(sub, good, good, exp_in=-60)})
    await expect_refused("token signed with another secret: 401 invalid_token",
                         "/ws", 401, "invalid_token",
                         {"Authorization": "Bearer " + mint(sub, good, good,
                                                            secret=os.urandom(48))})
    await expect_refused("alg none token (no signature): 401 invalid_token",
                         "/ws", 401, "invalid_token",
                         {"Authorization": "Bearer " + mint(sub, good, good, header={
                             "alg": "none", "typ": "JWT"}, sign=False)})
    await expect_refused("alg none token with the HS256 signature kept: 401 invalid_token",
                         "/ws", 401, "invalid_token",
                         {"Authorization": "Bearer " + mint(sub, good, good, header={
                             "alg": "none", "typ": "JWT"})})
    await expect_refused("a good token from an Origin not in --origins: 403 origin_not_allowed",
                         "/ws", 403, "origin_not_allowed",
                         {"Authorization": "Bearer " + mint(sub, good, good)},
                         origin="http://127.0.0.1:1")
    await expect_refused("raw socket /ws/{room} on a room outside `rooms`: 403 forbidden",
                         "/ws/" + new_name("other"), 403, "forbidden",
                         {"Authorization": "Bearer " + mint(sub, good, good)})


async def test_grants():
    sub = new_name("carol")
    ro = new_name("authpy-ro")
    tok = mint(sub, ["authpy-*"], ["authpy-rw-*"])
    ws = await connect("/ws", extra_headers={"Authorization": f"Bearer {tok}"})
    e = await op(ws, {"type": "join", "room": new_name("other"), "id": "jx"})
    pong = await op(ws, {"type": "ping", "id": "after-join"})
    report("join of a room outside `rooms`: error forbidden, the socket keeps working (ping/pong)",
           e.get("type") == "error" and e.get("code") == "forbidden" and
           pong.get("type") == "pong", f"{e} {pong}")

    j = await op(ws, {"type": "join", "room": ro, "id": "jro"})
    e = await op(ws, {"type": "pub", "room": ro, "data": "no", "id": "pro"})
    pong = await op(ws, {"type": "ping", "id": "after-pub"})
    report("pub to a joined room outside `pub`: error forbidden, the socket keeps working",
           j.get("type") == "joined" and e.get("type") == "error" and
           e.get("code") == "forbidden" and pong.get("type") == "pong", f"{j} {e} {pong}")
    await ws.close()

    # A raw socket may join `ro` (rooms) but not publish there: 1008. The
    # same client publishing where `pub` grants gets its message back.
    rw = new_name("authpy-rw")
    raw = await connect("/ws/" + rw, extra_headers={"Authorization": f"Bearer {tok}"})
    await asyncio.wait_for(raw.send("granted"), T)
    echo = await asyncio.wait_for(raw.recv(), T)
    await raw.close()
    raw = await connect("/ws/" + ro, extra_headers={"Authorization": f"Bearer {tok}"})
    await asyncio.wait_for(raw.send("not granted"), T)
    try:
        while True:
            await asyncio.wait_for(raw.recv(), T)
    except websockets.exceptions.ConnectionClosed:
        pass
    report("raw socket /ws/{room}: publishing where `pub` grants is echoed, "
           "where it does not is closed with 1008",
           echo == "granted" and raw.close_code == 1008,
           f"echo {echo!r}, close {raw.close_code} {raw.close_reason!r}")


async def test_expiry():
    """A token expiring in 2 s (the server runs with --clock-skew 0) closes
    its socket with 4001; a socket that refreshes first outlives it."""
    sub = new_name("dave")
    room = new_name("authpy")
    exp_in = 2
    short = mint(sub, ["authpy-*"], ["authpy-*"], exp_in=exp_in)
    exp = claims_of(short)["exp"]
    started = time.monotonic()
    doomed = await connect("/ws?token=" + short)
    kept = await connect("/ws", subprotocols=["ringchat", "bearer." + short])
    j = await op(doomed, {"type": "join", "room": room, "id": "j"})
    fresh = mint(sub, ["authpy-*"], ["authpy-*"], exp_in=600)
    r = await op(kept, {"type": "refresh", "token": fresh, "id": "r"})
    fresh_exp = claims_of(fresh)["exp"]
    report("refresh with a fresh token of the same sub: refreshed with its exp",
           r.get("type") == "refreshed" and r.get("exp") == fresh_exp, f"{r}")
    other = mint(new_name("mallory"), ["*"], ["*"])
    e = await op(kept, {"type": "refresh", "token": other, "id": "r2"})
    report("refresh with another user's token: error forbidden",
           e.get("type") == "error" and e.get("code") == "forbidden", f"{e}")

    try:
        while True:
            await asyncio.wait_for(doomed.recv(), 4.0 - (time.monotonic() - started))
    except websockets.exceptions.ConnectionClosed:
        pass
    except asyncio.TimeoutError:
        pass
    took = time.monotonic() - started
    report(f"a token expiring in {exp_in} s: the socket is closed with 4001 "
           f"within 4 s (after {took:.1f} s)",
           j.get("type") == "joined" and doomed.close_code == 4001 and took <= 4.0,
           f"{j} close {doomed.close_code} {doomed.close_reason!r} after {took:.1f} s")

    # Past the old exp by a second: the refreshed socket still answers.
    left = exp + 1.0 - time.time()
    if left > 0:
        await asyncio.sleep(left)
    try:
        pong = await op(kept, {"type": "ping", "id": "late"})
    except Exception as ex:
        pong = {"exception": f"{type(ex).__name__}: {ex}", "close": kept.close_code}
    report("the refreshed socket is open and answers a ping 1 s past the old token's exp",
           pong.get("type") == "pong", f"{pong}")
    await kept.close()
    await doomed.close()


if __name__ == "__main__":
    checks.run_all([test_token_places, test_refusals, test_grants, test_expiry], 6 * T)
