#!/usr/bin/python3
"""SIGTERM drains the real ringchat binary as docs/PROTOCOL.md ("Draining")
says, seen by Python websockets (Debian python3-websockets) and raw sockets.

    /usr/bin/python3 tests/e2e/drain_test.py RINGCHAT [SERVER_FLAGS...]

Starts RINGCHAT --port 0 --bind 127.0.0.1 --threads 2 (SERVER_FLAGS are
appended) and, per round, a fresh server:

  paced     --drain-timeout 4000; 40 raw room sockets that publish every
            200 ms, 3 JSON sockets, 2 SSE streams; SIGTERM. Each raw socket
            is closed 1001 `draining; retry_ms=N`, N within the documented
            range and bringing it back after the drain timeout; the closes
            spread over at least a third of the window (80% of the
            timeout); the socket closed last still got messages published
            after the first goodbye; each JSON socket gets
            {"type":"draining","retry_ms":N} and then that close frame; each
            SSE stream ends with `retry: N` and an `event: draining`; the
            server exits 0 within the drain timeout (plus slack).
  twice     --drain-timeout 30000, 40 raw sockets; SIGTERM, then once the
            first goodbye arrived a second SIGTERM: the server exits at once
            with status 1 and logs why. The same with SIGINT twice.

Each check prints PASS/FAIL; the last line is `N passed, N failed`; exit
status 1 if anything failed. About 10 s; only 127.0.0.1; the server is
killed when this script ends, however it ends.
"""
import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

import websockets

CLIENTS = 40
results = {"passed": 0, "failed": 0}


def check(name, ok, why=""):
    if ok:
        results["passed"] += 1
        print(f"PASS {name}", flush=True)
    else:
        results["failed"] += 1
        print(f"FAIL {name}{': ' + why if why else ''}", flush=True)


def max_retry_ms(drain_ms):
    """The largest hint: the drain timeout plus a jitter window of the drain
    timeout, at least a second (docs/PROTOCOL.md)."""
    return drain_ms + max(drain_ms, 1000)


def retry_of_reason(reason):
    m = re.fullmatch(r"draining; retry_ms=(\d+)", reason or "")
    return int(m.group(1)) if m else None


class Server:
    """The binary on a free port, its log in a temporary file."""

    def __init__(self, cmd):
        self.log = tempfile.NamedTemporaryFile(prefix="ringchat-drain-", suffix=".log")
        self.proc = subprocess.Popen(cmd + ["--port", "0", "--bind", "127.0.0.1"],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        self.port = self._wait_port(20)

    def _wait_port(self, seconds):
        deadline = time.monotonic() + seconds
        pat = re.compile(rb"listening on 127\.0\.0\.1:(\d+)")
        while time.monotonic() < deadline:
            m = pat.search(self.log_text().encode())
            if m:
                return int(m.group(1))
            if self.proc.poll() is not None:
                raise RuntimeError("server exited at start:\n" + self.log_text())
            time.sleep(0.05)
        raise RuntimeError("server did not start:\n" + self.log_text())

    def log_text(self):
        with open(self.log.name, "rb") as f:
            return f.read().decode(errors="replace")

    def signal(self, sig):
        self.proc.send_signal(sig)

    def wait(self, seconds):
        """Exit status, or None if it is still running after `seconds`."""
        try:
            return self.proc.wait(seconds)
        except subprocess.TimeoutExpired:
            return None

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


async def raw_socket(port, i, publish_every, out):
    """A raw room socket: publishes "i:n" every `publish_every` s (0: never)
    and reads until the server closes it; fills `out`."""
    out.update(got=[], sent=[], closed=None, code=None, reason=None)
    ws = out["ws"]
    next_pub = time.monotonic()
    n = 0
    while True:
        timeout = max(0.001, next_pub - time.monotonic()) if publish_every else 30
        try:
            msg = await asyncio.wait_for(ws.recv(), timeout)
            out["got"].append(msg)
        except asyncio.TimeoutError:
            pass
        except websockets.exceptions.ConnectionClosed:
            out.update(closed=time.monotonic(), code=ws.close_code, reason=ws.close_reason)
            return
        if publish_every and time.monotonic() >= next_pub:
            text = f"{i}:{n}"
            n += 1
            out["sent"].append((text, time.monotonic()))
            try:
                await ws.send(text)
            except websockets.exceptions.ConnectionClosed:
                pass  # its close frame is read next
            next_pub += publish_every


async def json_socket(port):
    ws = await websockets.connect(f"ws://127.0.0.1:{port}/ws", ping_interval=None)
    await ws.send(json.dumps({"type": "join", "room": "drain-json"}))
    joined = json.loads(await asyncio.wait_for(ws.recv(), 5))
    assert joined["type"] == "joined", joined
    return ws


async def json_goodbye(ws):
    """(the draining envelope, close code, close reason)."""
    envelope = None
    try:
        while True:
            msg = await asyncio.wait_for(ws.recv(), 30)
            if envelope is None and '"draining"' in msg:
                envelope = msg
    except websockets.exceptions.ConnectionClosed:
        return envelope, ws.close_code, ws.close_reason
    except asyncio.TimeoutError:
        return envelope, None, "timeout"


async def sse_stream(port):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /sse/drain-sse HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n")
    await writer.drain()
    data = b""
    while b"event: joined" not in data:
        chunk = await asyncio.wait_for(reader.read(4096), 5)
        assert chunk, data
        data += chunk
    return reader, writer, data


async def sse_rest(reader, data):
    while True:
        chunk = await asyncio.wait_for(reader.read(65536), 30)
        if not chunk:
            return data.decode(errors="replace")
        data += chunk


async def connect_raw(port, n, room):
    socks = []
    for _ in range(n):
        socks.append({"ws": await websockets.connect(f"ws://127.0.0.1:{port}/ws/{room}",
                                                     ping_interval=None)})
    return socks


async def paced(cmd):
    drain_ms = 4000
    srv = Server(cmd + ["--drain-timeout", str(drain_ms)])
    try:
        socks = await connect_raw(srv.port, CLIENTS, "drain-raw")
        jsons = [await json_socket(srv.port) for _ in range(3)]
        sses = [await sse_stream(srv.port) for _ in range(2)]
        readers = [asyncio.create_task(raw_socket(srv.port, i, 0.2, s))
                   for i, s in enumerate(socks)]
        json_tasks = [asyncio.create_task(json_goodbye(ws)) for ws in jsons]
        sse_tasks = [asyncio.create_task(sse_rest(r, d)) for r, _, d in sses]
        await asyncio.sleep(0.3)  # some traffic before
        start = time.monotonic()
        srv.signal(signal.SIGTERM)
        await asyncio.wait_for(asyncio.gather(*readers), drain_ms / 1000 + 15)
        json_results = await asyncio.wait_for(asyncio.gather(*json_tasks), 15)
        sse_results = await asyncio.wait_for(asyncio.gather(*sse_tasks), 15)
        status = await asyncio.get_running_loop().run_in_executor(
            None, srv.wait, drain_ms / 1000 + 5)
        elapsed = time.monotonic() - start
    finally:
        srv.kill()

    check("paced: server exits 0 on SIGTERM", status == 0, f"status {status}")
    check("paced: server exits within the drain timeout (+3 s)", elapsed < drain_ms / 1000 + 3,
          f"{elapsed:.1f} s")
    bad = [s for s in socks if s["code"] != 1001 or retry_of_reason(s["reason"]) is None]
    check("paced: every raw socket closed 1001 'draining; retry_ms=N'", not bad,
          f"{len(bad)} not, e.g. {bad[0]['code']} {bad[0]['reason']!r}" if bad else "")
    if bad:
        return
    out_of_range = []
    for s in socks:
        retry = retry_of_reason(s["reason"])
        back = (s["closed"] - start) * 1000 + retry
        if retry > max_retry_ms(drain_ms) or back < drain_ms - 5:
            out_of_range.append(f"retry {retry} ms, closed {(s['closed'] - start) * 1000:.0f} ms in")
    check("paced: each hint brings its client back after the drain timeout, within range",
          not out_of_range, "; ".join(out_of_range[:3]))
    closes = sorted(s["closed"] for s in socks)
    spread = (closes[-1] - closes[0]) * 1000
    check("paced: the closes spread over a third of the window or more",
          spread >= drain_ms * 0.8 / 3, f"{spread:.0f} ms from first to last")
    last = max(socks, key=lambda s: s["closed"])
    sent_at = {text: at for s in socks for text, at in s["sent"]}
    late = [m for m in last["got"] if sent_at.get(m, 0) > closes[0]]
    check("paced: the socket closed last got messages published after the first goodbye",
          len(late) > 0, f"it got {len(last['got'])} messages")
    for envelope, code, reason in json_results:
        retry = retry_of_reason(reason)
        ok = (code == 1001 and retry is not None and envelope is not None
              and json.loads(envelope) == {"type": "draining", "retry_ms": retry})
        check("paced: JSON socket gets {type:draining, retry_ms} then the same hint in 1001", ok,
              f"envelope {envelope!r}, close {code} {reason!r}")
    for text in sse_results:
        m = re.search(r"\n\nretry: (\d+)\n\nevent: draining\ndata: \{\"retry_ms\":(\d+)\}\n\n$", text)
        check("paced: SSE stream ends with retry: N and event: draining",
              m is not None and m.group(1) == m.group(2), repr(text[-120:]))


async def twice(cmd, first, second):
    name = f"twice ({first.name}, {second.name})"
    srv = Server(cmd + ["--drain-timeout", "30000"])
    try:
        socks = await connect_raw(srv.port, CLIENTS, "drain-twice")
        readers = [asyncio.create_task(raw_socket(srv.port, i, 0, s)) for i, s in enumerate(socks)]
        srv.signal(first)
        done, _ = await asyncio.wait(readers, timeout=10, return_when=asyncio.FIRST_COMPLETED)
        check(f"{name}: a first goodbye comes at once", len(done) > 0)
        check(f"{name}: not every goodbye comes at once", len(done) < CLIENTS,
              f"{len(done)} of {CLIENTS}")
        start = time.monotonic()
        srv.signal(second)
        status = await asyncio.get_running_loop().run_in_executor(None, srv.wait, 10)
        elapsed = time.monotonic() - start
        for r in readers:
            r.cancel()
        await asyncio.gather(*readers, return_exceptions=True)
        for s in socks:
            s["ws"].transport.abort()  # the server is gone (or about to be killed)
    finally:
        srv.kill()
    check(f"{name}: the second signal exits at once with status 1",
          status == 1 and elapsed < 3, f"status {status} after {elapsed:.1f} s")
    log = srv.log_text()
    check(f"{name}: the log says why", f"second {second.name}" in log, log[-300:])


async def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    cmd = [sys.argv[1], "--threads", "2"] + sys.argv[2:]
    await paced(cmd)
    await twice(cmd, signal.SIGTERM, signal.SIGTERM)
    await twice(cmd, signal.SIGINT, signal.SIGINT)
    print(f"{results['passed']} passed, {results['failed']} failed")
    sys.exit(1 if results["failed"] else 0)


if __name__ == "__main__":
    asyncio.run(main())
