#!/usr/bin/python3
"""The real binary's logs: --log-format json and --access-log, read from outside.

    /usr/bin/python3 tests/e2e/log_test.py RINGCHAT

Starts RINGCHAT --port 0 --bind 127.0.0.1 --threads 2 --log-format json
--access-log FILE with token auth on (--jwt-secret and --api-key given on the
command line, so they are in the configuration the start event lists), then
over raw sockets on 127.0.0.1: GET /healthz (with a User-Agent holding
quotes, a backslash and bytes that are not UTF-8), a 404, a WebSocket
upgrade with ?token=<a valid JWT> (101), one with ?token=<garbage> (401), an
SSE stream opened with ?token= (200), a publish with the API key (201, its
answer comes from the room's owner), a history query (200) and a request
that does not parse (400). Then the access log is moved away (as logrotate
does) and SIGHUP must reopen it by name: a GET /readyz lands in the new file.
Then SIGTERM; the server must exit 0.

Checked: every line of stderr and of the access log parses as one JSON
object; the start event lists every option (secrets as "<set>", never their
value), listen names addr/port/transport, shards the layout, drain_start and
drain_end are there; the access log has one line per request above with
remote, method, path (never a query), status, bytes, duration_ms and ua; and
no token, secret or key appears anywhere in either file. Prints PASS/FAIL
lines; exit status 1 if anything failed. Stdlib only; about 2 s.
"""
import base64
import ctypes
import hashlib
import hmac
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time

JWT_SECRET = "jwt-secret-for-the-log-test-0123456789abcdef"
API_KEY = "api-key-for-the-log-test-0123456789abcdef0123"
BAD_TOKEN = "garbage-token-the-log-must-not-keep"
USER_AGENT = b'log-test "quoted" \\back \xff\xfe end'

failures = 0


def check(name, ok, detail=""):
    global failures
    print(("PASS " if ok else "FAIL ") + name + ("" if ok else f": {detail}"))
    if not ok:
        failures += 1


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def mint(sub, rooms):
    header = {"alg": "HS256", "typ": "JWT"}
    claims = {"sub": sub, "exp": int(time.time()) + 600, "rooms": rooms, "pub": rooms}
    signing_input = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())
    sig = hmac.new(JWT_SECRET.encode(), signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + b64url(sig)


def exchange(port, request, until=b"\r\n\r\n", timeout=10):
    """Sends `request` on a fresh connection; returns what came back up to
    `until` (or the close)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(request)
        got = b""
        deadline = time.monotonic() + timeout
        while until not in got and time.monotonic() < deadline:
            chunk = s.recv(65536)
            if not chunk:
                break
            got += chunk
        return got


def status_of(response):
    m = re.match(rb"HTTP/1\.1 (\d{3})", response)
    return int(m.group(1)) if m else None


def get(port, target, headers=b"", body=None, method=b"GET"):
    req = method + b" " + target.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n" + headers
    if body is not None:
        req += b"Content-Length: " + str(len(body)).encode() + b"\r\n"
    req += b"Connection: close\r\n\r\n" + (body or b"")
    return exchange(port, req, until=b"\x00never")  # read to the close


def upgrade(port, target):
    key = base64.b64encode(os.urandom(16))
    return exchange(port, b"GET " + target.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    b"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + key +
                    b"\r\nSec-WebSocket-Version: 13\r\n\r\n")


def json_lines(path):
    """Each line of the file, parsed; a line that does not parse is None."""
    out = []
    with open(path, "rb") as f:
        for raw in f.read().split(b"\n"):
            if not raw:
                continue
            try:
                out.append((raw, json.loads(raw.decode("utf-8"))))
            except (UnicodeDecodeError, json.JSONDecodeError):
                out.append((raw, None))
    return out


def wait_port(err_path, proc, seconds=20):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for _, obj in json_lines(err_path):
            if obj and obj.get("event") == "listen" and obj.get("transport") == "plain":
                return obj["port"]
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} at start")
        time.sleep(0.02)
    raise RuntimeError("no listen event within 20 s")


def main():
    binary = sys.argv[1]
    work = tempfile.mkdtemp(prefix="ringchat-log-test-")
    err_path = os.path.join(work, "stderr.log")
    access_path = os.path.join(work, "access.log")
    rotated_path = os.path.join(work, "access.log.1")
    cmd = [binary, "--port", "0", "--bind", "127.0.0.1", "--threads", "2", "--log-format", "json",
           "--access-log", access_path, "--jwt-secret", JWT_SECRET, "--api-key", API_KEY,
           "--max-message", "64K", "--drain-timeout", "2000"]

    def in_child():
        ctypes.CDLL(None).prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG

    with open(err_path, "wb") as err:
        proc = subprocess.Popen(cmd, stdout=err, stderr=err, preexec_fn=in_child)
    try:
        port = wait_port(err_path, proc)
        token = mint("alice", ["logs-*"])
        results = {
            "healthz": status_of(get(port, "/healthz", b"User-Agent: " + USER_AGENT + b"\r\n")),
            "404": status_of(get(port, "/nowhere?token=" + BAD_TOKEN)),
            "ws": status_of(upgrade(port, "/ws/logs-room?token=" + token)),
            "ws-bad": status_of(upgrade(port, "/ws/logs-room?token=" + BAD_TOKEN)),
            "sse": status_of(exchange(port, b"GET /sse/logs-room?token=" + token.encode() +
                                      b" HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n")),
            "publish": status_of(get(port, "/rooms/logs-room/messages", b"Authorization: Bearer " +
                                     API_KEY.encode() + b"\r\nContent-Type: text/plain\r\n",
                                     body=b"hello", method=b"POST")),
            "history": status_of(get(port, "/rooms/logs-room/messages?limit=5&token=" + token)),
            "malformed": status_of(exchange(port, b"GET / HTTP/1.1\r\nBad Header\r\n\r\n")),
        }
        expect = {"healthz": 200, "404": 404, "ws": 101, "ws-bad": 401, "sse": 200,
                  "publish": 201, "history": 200, "malformed": 400}
        check("the server answers each request as expected", results == expect,
              f"{results} != {expect}")
        # Every answer is logged before it is queued; give the last lines a moment.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and len(json_lines(access_path)) < len(expect):
            time.sleep(0.05)
        os.rename(access_path, rotated_path)
        proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not any(
                obj and obj.get("event") == "access_log_reopen" for _, obj in json_lines(err_path)):
            time.sleep(0.05)
        check("SIGHUP: the access log is reopened by name", os.path.exists(access_path))
        check("after SIGHUP the server still answers", status_of(get(port, "/readyz")) == 200)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and len(json_lines(access_path)) < 1:
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=30)
        check("SIGTERM: exit 0", code == 0, f"exit {code}")
    finally:
        if proc.poll() is None:
            proc.kill()

    server = json_lines(err_path)
    rotated = json_lines(rotated_path)
    after = json_lines(access_path)
    check("the moved file has the lines before SIGHUP, the new one those after",
          len(rotated) == 8 and len(after) == 1 and after[0][1] and
          after[0][1].get("path") == "/readyz", f"{len(rotated)} then {[r for r, _ in after]}")
    access = rotated + after
    bad = [raw for raw, obj in server + access if not isinstance(obj, dict)]
    check("every log and access-log line is one JSON object", not bad and server and access,
          f"{bad[:3]}")
    server = [obj for _, obj in server if isinstance(obj, dict)]
    access = [obj for _, obj in access if isinstance(obj, dict)]
    check("server lines have ts, level and msg",
          all({"ts", "level", "msg"} <= obj.keys() for obj in server),
          [o for o in server if not {"ts", "level", "msg"} <= o.keys()][:2])

    def event(name):
        return [o for o in server if o.get("event") == name]

    start = event("start")
    check("one start event", len(start) == 1, f"{len(start)}")
    if start:
        s = start[0]
        expected = {"port": 0, "bind": "127.0.0.1", "threads": 2, "log-format": "json",
                    "access-log": access_path, "jwt-secret": "<set>", "api-key": "<set>",
                    "max-message": 65536, "drain-timeout": 2000, "no-echo": False,
                    "api-key-file": "", "log-level": "info"}
        wrong = {k: s.get(k) for k, v in expected.items() if s.get(k) != v}
        check("start lists the effective configuration, secrets masked", not wrong, f"{wrong}")
        helped = subprocess.run([binary, "--help"], capture_output=True, text=True).stdout
        flags = set(re.findall(r"--([a-z][a-z-]+)", helped)) - {"help", "version"}
        missing = sorted(flags - s.keys())
        check("start lists every option of --help", not missing, f"missing {missing}")
    listen = event("listen")
    check("listen names addr, port and transport",
          len(listen) == 1 and listen[0].get("addr") == "127.0.0.1" and
          isinstance(listen[0].get("port"), int) and listen[0]["port"] > 0 and
          listen[0].get("transport") == "plain", f"{listen}")
    shards = event("shards")
    check("shards gives the layout",
          len(shards) == 1 and shards[0].get("shards") == 2 and
          len(str(shards[0].get("shard_cpus", "")).split(",")) == 2, f"{shards}")
    drain = event("drain_start")
    check("drain_start says the signal and the connections open",
          len(drain) == 1 and drain[0].get("signal") == "SIGTERM" and
          isinstance(drain[0].get("connections"), int), f"{drain}")
    end = event("drain_end")
    check("drain_end says the connections left",
          len(end) == 1 and isinstance(end[0].get("connections_left"), int), f"{end}")

    keys = {"ts", "shard", "remote", "method", "path", "status", "bytes", "duration_ms", "ua"}
    check("access lines have every field", access and all(keys <= o.keys() for o in access),
          [o for o in access if not keys <= o.keys()][:2])
    by_status = sorted((o.get("status"), o.get("method"), o.get("path")) for o in access)
    want = sorted([(200, "GET", "/healthz"), (404, "GET", "/nowhere"), (101, "GET", "/ws/logs-room"),
                   (401, "GET", "/ws/logs-room"), (200, "GET", "/sse/logs-room"),
                   (201, "POST", "/rooms/logs-room/messages"),
                   (200, "GET", "/rooms/logs-room/messages"), (400, "-", "-"),
                   (200, "GET", "/readyz")])
    check("one access line per request: status, method, path without its query",
          by_status == want, f"{by_status} != {want}")
    check("access lines: remote is the client, bytes and duration are numbers",
          all(str(o.get("remote", "")).startswith("127.0.0.1:") and
              isinstance(o.get("bytes"), int) and o["bytes"] > 0 and
              isinstance(o.get("duration_ms"), (int, float)) and o["duration_ms"] >= 0
              for o in access), f"{access[:2]}")
    ua = [o.get("ua") for o in access if o.get("path") == "/healthz"]
    check("the user agent is kept, escaped into valid JSON",
          ua == ['log-test "quoted" \\back \ufffd\ufffd end'], f"{ua}")

    everything = b"".join(open(p, "rb").read() for p in (err_path, rotated_path, access_path))
    leaked = [name for name, secret in [("jwt", token), ("bad token", BAD_TOKEN),
                                        ("jwt secret", JWT_SECRET), ("api key", API_KEY)]
              if secret.encode() in everything]
    check("no token, secret or key in any log", not leaked, f"found {leaked}")
    check("no query string in any access line", all("?" not in o.get("path", "") for o in access))
    print(f"{'FAIL' if failures else 'PASS'}: {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
