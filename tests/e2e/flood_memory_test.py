#!/usr/bin/python3
"""Floods the real ringchat binary and watches its memory from outside.

    /usr/bin/python3 tests/e2e/flood_memory_test.py [OPTIONS] RINGCHAT [SERVER_FLAGS...]

Starts RINGCHAT --port 0 --bind 127.0.0.1 with the flags in SERVER_FLAGS
below (extra SERVER_FLAGS are appended and override them), pinned to the
first CPU this process may use while the clients run on the second (as
`taskset -c` would; no pinning with a single CPU), and reads VmRSS from
/proc/PID/status every 20 ms.

Idle RSS is measured after a 2 s warm-up with clients that keep up (64 KiB
echoes) and a pause: what any traffic builds once (the shards' receive buffer
pools, 8 MiB each, mapped and reused but never given back; lazily built
tables) belongs to the idle footprint. The figure before the warm-up is
printed too. Then the floods, by clients with a small SO_RCVBUF that never
read, writing hand-built masked frames on raw sockets:

  flood-ws    --rounds rounds (6); each round 4 clients join /ws/flood-R-i,
              send 1000-byte binary messages as fast as they can for 1 s,
              then reset (SO_LINGER 0). Fresh rooms each round.
  flood-ping  one client sends 125-byte pings for 2 s, then resets.
  flood-http  one client pipelines keep-alive `GET /metrics` for 2 s, then
              resets.

Throughout, a control client in another room must keep getting its own
messages echoed, each within 5 s. Checked per flood: the server is alive and
answers, its peak RSS stays under rss_bound() below (a flood stops early
once it is over), and --settle (5) seconds after the last reset its RSS is
within --margin (6 MiB) of idle, plus what the rooms' history may keep
(history_allowance(): --history-total, 8M here). Measured with 2 shards: idle 22.9 MiB,
back to idle + 0.0 to 0.5 MiB 1 s after each flood when idle shards trim
(src/app/allocator.cc; 18 floods); without trimming, idle itself is 25 to
29 MiB (the warm-up's memory stays) and a flood leaves up to 21 MiB more.

Printed per flood: idle, peak, RSS 1 s, 3 s and 5 s after, the mappings
holding the most RSS. After a flood that failed a check the next one gets a
fresh server, so one run shows every finding. At the end the server must
exit 0 on SIGTERM. Exit status 1 if anything failed. About 35 s; only
127.0.0.1; the server is killed when this script ends, however it ends.
Stdlib only.
"""
import argparse
import ctypes
import os
import re
import select
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

MIB = 1 << 20
# --pub-rate 0: the floods measure the output path; the publish limit, which
# would close a flooder at once, has its own tests (tests/integration/limits_test.cc).
SERVER_FLAGS = ["--threads", "2", "--send-backlog", "1M", "--shard-backlog", "32M",
                "--max-message", "1M", "--drain-timeout", "2000", "--history-total", "8M",
                "--pub-rate", "0"]
CLIENT_RCVBUF = 4096
MASK = b"\x37\xfa\x21\x3d"


def parse_size(text):
    m = re.fullmatch(r"(\d+)([KMG]?)", text.strip().upper())
    if not m:
        raise ValueError(f"bad size {text!r}")
    return int(m.group(1)) << {"": 0, "K": 10, "M": 20, "G": 30}[m.group(2)]


def flag_value(args, name, default):
    """The last value given for --name in args (as the server's parser sees it)."""
    value = default
    for i, a in enumerate(args):
        if a == name and i + 1 < len(args):
            value = args[i + 1]
        elif a.startswith(name + "="):
            value = a.split("=", 1)[1]
    return value


def rss_bound(idle, args):
    """Highest RSS the server may reach during a flood, from its flags.

    The output budget (chat::ShardConfig in include/ringchat/chat/shard.h)
    bounds the unsent bytes one shard holds for all its clients: over
    shard_backlog it closes its biggest consumers, so its queues peak at
    about shard_backlog + max_message + 1 MiB. Each WebSocket's own unsent
    bytes are capped by send_backlog and its input paused past half of it,
    and a publisher is not read while its room owner's mail backs up, so
    messages being assembled (at most max_message per client) and in the
    mailboxes stay small next to that. The allocator rounds blocks up to its
    size classes (up to a quarter more) and, during the flood, reuses freed
    memory rather than returning it at once; so allow twice the queues:
    2 * threads * shard_backlog. Everything else (receive buffer pools, 8 MiB
    per shard and usually already in idle; connection table pages;
    mailboxes; allocator segments being filled) fits in 64 MiB at the flags
    used here. Bound: idle + 2 * threads * shard_backlog + 64 MiB, 192 MiB
    over idle with --threads 2 --shard-backlog 32M.
    """
    threads = int(flag_value(args, "--threads", "2"))
    shard_backlog = parse_size(flag_value(args, "--shard-backlog", "256M"))
    return idle + 2 * threads * shard_backlog + 64 * MIB + history_allowance(args)


def history_allowance(args):
    """Memory the rooms' history may keep after a flood, by design: it is a
    cache bounded by --history-total (room owners keep the last messages for
    resumes until --room-ttl), and the allocator rounds it up by about a
    quarter. 0 with --history 0."""
    if flag_value(args, "--history", "1000") == "0":
        return 0
    return parse_size(flag_value(args, "--history-total", "0")) * 5 // 4


# ---------------------------------------------------------------- frames


def ws_frame(opcode, payload, fin=True):
    """One masked client frame (RFC 6455 §5.2)."""
    n = len(payload)
    head = bytes([(0x80 if fin else 0) | opcode])
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 65536:
        head += bytes([0x80 | 126]) + struct.pack("!H", n)
    else:
        head += bytes([0x80 | 127]) + struct.pack("!Q", n)
    masked = bytes(b ^ MASK[i & 3] for i, b in enumerate(payload))
    return head + MASK + masked


def parse_server_frames(buf):
    """Splits unmasked server frames off buf: ([(opcode, payload)], rest)."""
    frames = []
    while len(buf) >= 2:
        opcode = buf[0] & 0x0F
        n = buf[1] & 0x7F
        pos = 2
        if n == 126:
            if len(buf) < 4:
                break
            n = struct.unpack("!H", buf[2:4])[0]
            pos = 4
        elif n == 127:
            if len(buf) < 10:
                break
            n = struct.unpack("!Q", buf[2:10])[0]
            pos = 10
        if len(buf) < pos + n:
            break
        frames.append((opcode, buf[pos:pos + n]))
        buf = buf[pos + n:]
    return frames, buf


def ws_connect(port, path, rcvbuf=None, timeout=5.0):
    """A connected WebSocket (raw socket) and the bytes read past the 101."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        # Before connect, so the window the server sees is small from the start.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.settimeout(timeout)
    s.connect(("127.0.0.1", port))
    s.sendall((f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
               "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
               "Sec-WebSocket-Version: 13\r\n\r\n").encode())
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(4096)
        if not chunk:
            raise ConnectionError(f"{path}: closed during the handshake")
        data += chunk
    head, rest = data.split(b"\r\n\r\n", 1)
    if not head.startswith(b"HTTP/1.1 101"):
        raise ConnectionError(f"{path}: {head.splitlines()[0]!r}")
    return s, rest


def reset(sock):
    """Closes with RST: SO_LINGER on, timeout 0."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    sock.close()


# ---------------------------------------------------------------- server


def supported(binary, flags):
    """flags without the options `binary --help` does not list (a binary
    built before --shard-backlog existed), saying which were dropped."""
    helptext = subprocess.run([binary, "--help"], capture_output=True, text=True,
                              timeout=10).stdout
    kept = []
    i = 0
    while i < len(flags):
        name, has_value = flags[i], i + 1 < len(flags) and not flags[i + 1].startswith("--")
        step = 2 if has_value else 1
        if re.search(rf"(^|[\s,]){re.escape(name)}\b", helptext):
            kept += flags[i:i + step]
        else:
            print(f"note: {binary} has no {name}; running without it", flush=True)
        i += step
    return kept


class Server:
    def __init__(self, cmd, server_cpu):
        self.log = tempfile.NamedTemporaryFile(prefix="ringchat-flood-", suffix=".log")
        self.cmd = cmd + ["--port", "0", "--bind", "127.0.0.1"]
        self.cpu = server_cpu

        def in_child():
            # SIGKILL when this test process dies, however it dies.
            PR_SET_PDEATHSIG = 1
            ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
            if server_cpu is not None:  # as `taskset -c CPU` would
                os.sched_setaffinity(0, {server_cpu})

        self.proc = subprocess.Popen(self.cmd, stdout=self.log, stderr=subprocess.STDOUT,
                                     preexec_fn=in_child)
        self.port = self._wait_port(20)

    def _wait_port(self, seconds):
        deadline = time.monotonic() + seconds
        pat = re.compile(rb"listening on 127\.0\.0\.1:(\d+)")
        while time.monotonic() < deadline:
            with open(self.log.name, "rb") as f:
                m = pat.search(f.read())
            if m:
                return int(m.group(1))
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode} at start:\n"
                                   + self.log_tail())
            time.sleep(0.02)
        raise RuntimeError("server did not say it was listening within 20 s")

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc.poll() is None

    def how_it_died(self):
        rc = self.proc.returncode
        if rc is None:
            return "alive"
        if rc < 0:
            return f"killed by {signal.Signals(-rc).name}"
        return f"exited with status {rc}"

    def rss(self):
        """VmRSS in bytes, or None once the process is gone."""
        try:
            with open(f"/proc/{self.pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1]) * 1024
        except (FileNotFoundError, ProcessLookupError):
            return None
        return None

    def biggest_mappings(self, n=4):
        """The n mappings holding the most RSS: [(rss, size, perms, name)]."""
        maps = []
        try:
            with open(f"/proc/{self.pid}/smaps") as f:
                for line in f:
                    m = re.match(r"([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)", line)
                    if m:
                        maps.append([0, int(m.group(2), 16) - int(m.group(1), 16),
                                     m.group(3), m.group(4) or "[anon]"])
                    elif line.startswith("Rss:") and maps:
                        maps[-1][0] = int(line.split()[1]) * 1024
        except OSError:
            return []
        return sorted(maps, reverse=True)[:n]

    def mappings_line(self):
        return "; ".join(f"{r / MIB:.1f} of {size / MIB:.1f} MiB {name}"
                         for r, size, _, name in self.biggest_mappings())

    def log_tail(self, lines=15):
        with open(self.log.name, "rb") as f:
            return b"\n".join(f.read().splitlines()[-lines:]).decode(errors="replace")

    def stop(self):
        """SIGTERM, then SIGKILL after 5 s. Returns how it ended."""
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                return "did not exit within 5 s of SIGTERM (killed)"
        return self.how_it_died()

    def kill(self):
        if self.alive():
            self.proc.kill()
            self.proc.wait()


class Sampler(threading.Thread):
    """Reads the server's RSS every 20 ms; keeps the peak since the last reset."""

    def __init__(self, server):
        super().__init__(daemon=True)
        self.server = server
        self.lock = threading.Lock()
        self.peak = 0
        self.last = 0
        self.stopping = threading.Event()

    def run(self):
        while not self.stopping.is_set():
            rss = self.server.rss()
            if rss is None:
                return
            with self.lock:
                self.last = rss
                self.peak = max(self.peak, rss)
            time.sleep(0.02)

    def reset_peak(self):
        with self.lock:
            self.peak = self.last

    def read_peak(self):
        with self.lock:
            return self.peak


class Control(threading.Thread):
    """A member of its own room that sends a message every 100 ms and must
    get it back within 5 s. Records each round trip; a miss is a failure."""

    DEADLINE = 5.0

    def __init__(self, port):
        super().__init__(daemon=True)
        self.sock, self.buf = ws_connect(port, "/ws/flood-control")
        self.lock = threading.Lock()
        self.rtts = []
        self.failure = None
        self.stopping = threading.Event()

    def run(self):
        n = 0
        while not self.stopping.is_set() and self.failure is None:
            n += 1
            text = f"control {n}".encode()
            start = time.monotonic()
            try:
                self.sock.sendall(ws_frame(0x1, text))
                self._await(text, start + self.DEADLINE)
            except (OSError, TimeoutError) as e:
                with self.lock:
                    self.failure = f"control message {n}: {type(e).__name__}: {e}"
                return
            with self.lock:
                self.rtts.append(time.monotonic() - start)
            self.stopping.wait(0.1)

    def _await(self, text, deadline):
        while True:
            frames, self.buf = parse_server_frames(self.buf)
            for opcode, payload in frames:
                if opcode == 0x1 and payload == text:
                    return
                if opcode == 0x8:
                    raise ConnectionError(f"server closed the control client: {payload[:2].hex()}")
                if opcode == 0x9:
                    self.sock.sendall(ws_frame(0xA, payload))
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no echo within 5 s")
            self.sock.settimeout(left)
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("server closed the control connection")
            self.buf += chunk

    def take_rtts(self):
        with self.lock:
            r, self.rtts = self.rtts, []
            return r, self.failure

    def close(self):
        self.stopping.set()
        self.join(self.DEADLINE + 1)
        self.sock.close()


# ---------------------------------------------------------------- floods


def pump(socks, chunk, seconds, over_bound):
    """Writes chunk to every socket as fast as each accepts it for `seconds`
    (or until over_bound() says the server is past its memory bound).
    Returns (bytes sent, sockets the server closed: FIN or reset)."""
    for s in socks:
        s.setblocking(False)
    offsets = {s.fileno(): 0 for s in socks}
    by_fd = {s.fileno(): s for s in socks}
    poller = select.poll()
    for fd in by_fd:
        poller.register(fd, select.POLLOUT | select.POLLRDHUP)
    sent = 0
    closed = set()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and len(closed) < len(socks) and not over_bound():
        for fd, ev in poller.poll(20):
            if fd in closed:
                continue
            # RDHUP: the server's FIN (after its close frame, or closing an
            # HTTP connection); it may go on reading, but the client is done.
            if ev & (select.POLLERR | select.POLLHUP | select.POLLRDHUP):
                closed.add(fd)
                poller.unregister(fd)
                continue
            off = offsets[fd]
            try:
                n = by_fd[fd].send(memoryview(chunk)[off:])
            except BlockingIOError:
                continue
            except OSError:  # ECONNRESET, EPIPE: the server closed it
                closed.add(fd)
                poller.unregister(fd)
                continue
            sent += n
            offsets[fd] = (off + n) % len(chunk)
    return sent, len(closed)


def read_messages(sock, buf, count, deadline):
    """Reads server frames until `count` data messages came; returns the rest."""
    while True:
        frames, buf = parse_server_frames(buf)
        count -= sum(1 for opcode, _ in frames if opcode in (0x1, 0x2))
        if any(opcode == 0x8 for opcode, _ in frames):
            raise ConnectionError("closed by the server during the warm-up")
        if count <= 0:
            return buf
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        chunk = sock.recv(1 << 20)
        if not chunk:
            raise ConnectionError("closed by the server during the warm-up")
        buf += chunk


def warm_up(port, conns, seconds):
    """Clients that keep up send 64 KiB messages and read the echoes for
    `seconds`: traffic any server sees in its first minutes. It touches the
    shards' receive buffer pools (fixed size, mapped once, reused, never
    given back) and lazily built tables, which then belong to the idle
    footprint the floods are compared with."""
    burst = ws_frame(0x2, os.urandom(65536)) * 4
    clients = [list(ws_connect(port, f"/ws/flood-warmup-{i}")) for i in range(conns)]
    try:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            for c in clients:
                c[0].sendall(burst)
            for c in clients:
                c[1] = read_messages(c[0], c[1], 4, time.monotonic() + 5)
    finally:
        for c in clients:
            reset(c[0])


def flood_ws(port, rounds, over_bound, report):
    """4 clients per round, 1000-byte binary messages, fresh rooms, reset."""
    chunk = ws_frame(0x2, os.urandom(1000)) * 64
    for r in range(rounds):
        socks = []
        try:
            for i in range(4):
                s, _ = ws_connect(port, f"/ws/flood-{r}-{i}", rcvbuf=CLIENT_RCVBUF)
                socks.append(s)
            sent, closed = pump(socks, chunk, 1.0, over_bound)
            report(f"round {r}: sent {sent / MIB:.1f} MiB, {closed}/4 closed by the server")
        finally:
            for s in socks:
                reset(s)
        if over_bound():
            return


def flood_ping(port, over_bound, report):
    s, _ = ws_connect(port, "/ws/flood-ping", rcvbuf=CLIENT_RCVBUF)
    try:
        sent, closed = pump([s], ws_frame(0x9, b"p" * 125) * 256, 2.0, over_bound)
        report(f"sent {sent / MIB:.1f} MiB of pings, closed by the server: {bool(closed)}")
    finally:
        reset(s)


def flood_http(port, over_bound, report):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, CLIENT_RCVBUF)
    s.connect(("127.0.0.1", port))
    req = f"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode()
    try:
        sent, closed = pump([s], req * 512, 2.0, over_bound)
        report(f"sent {sent / MIB:.1f} MiB of requests ({sent // len(req)} requests), "
               f"closed by the server: {bool(closed)}")
    finally:
        reset(s)


# ---------------------------------------------------------------- driver


class Run:
    def __init__(self, opts):
        self.opts = opts
        self.cmd = [opts.ringchat] + supported(opts.ringchat, SERVER_FLAGS) + opts.args
        # The bound is the one the flags ask for, whether or not this binary
        # knows every flag yet (an older one ignores --shard-backlog's budget).
        self.bound_flags = SERVER_FLAGS + opts.args
        cpus = sorted(os.sched_getaffinity(0))
        self.server_cpu = cpus[0] if len(cpus) >= 2 else None
        if self.server_cpu is not None:
            os.sched_setaffinity(0, {cpus[1]})
        self.failures = []
        self.rows = []
        self.server = None

    def fail(self, what):
        print(f"FAIL {what}", flush=True)
        self.failures.append(what)

    def start(self):
        self.server = Server(self.cmd, self.server_cpu)
        self.sampler = Sampler(self.server)
        self.sampler.start()
        self.control = Control(self.server.port)
        self.control.start()
        time.sleep(0.5)
        cold = self.server.rss()
        # Idle = after a warm-up and a pause (see the top of this file); 8
        # clients per shard, so that each shard gets some (the kernel picks
        # the shard: all 16 on one of 2 shards happens once in 2^15).
        shards = int(flag_value(self.bound_flags, "--threads", "2")) or (
            1 if self.server_cpu is not None else len(os.sched_getaffinity(0)))
        warm_up(self.server.port, 8 * shards, self.opts.warm_up)
        time.sleep(1.5)
        self.control.take_rtts()
        self.idle = self.server.rss()
        self.bound = rss_bound(self.idle, self.bound_flags)
        where = "unpinned" if self.server_cpu is None else f"on CPU {self.server_cpu}"
        print(f"server pid {self.server.pid} port {self.server.port} {where}: "
              f"{' '.join(self.server.cmd)}")
        print(f"idle RSS {self.idle / MIB:.1f} MiB after a {self.opts.warm_up:g} s warm-up "
              f"({cold / MIB:.1f} MiB before it); bound during floods {self.bound / MIB:.1f} MiB; "
              f"after floods: idle + {self.opts.margin} MiB + history "
              f"{history_allowance(self.bound_flags) / MIB:.1f} MiB", flush=True)
        print("   biggest mappings: " + self.server.mappings_line(), flush=True)

    def teardown(self):
        if self.server is None:
            return
        self.control.close()
        self.sampler.stopping.set()
        ending = self.server.stop()
        if ending != "exited with status 0":
            self.fail(f"server shutdown: {ending}\n{self.server.log_tail()}")
        self.server = None

    def phase(self, name, flood):
        if self.server is None or not self.server.alive():
            self.start()
        srv = self.server
        self.sampler.reset_peak()
        self.control.take_rtts()
        over = lambda: (not self.opts.no_rss_checks  # noqa: E731
                        and self.sampler.read_peak() > self.bound)
        print(f"-- {name}", flush=True)
        try:
            flood(srv.port, over, lambda line: print(f"   {line}", flush=True))
        except OSError as e:
            print(f"   client error: {type(e).__name__}: {e}", flush=True)
        peak = self.sampler.read_peak()
        t0 = time.monotonic()
        after = {}
        for at in (1, 3, self.opts.settle):
            time.sleep(max(0.0, t0 + at - time.monotonic()))
            after[at] = srv.rss()
        failed_before = len(self.failures)
        rtts, control_failure = self.control.take_rtts()
        row = {"flood": name, "idle": self.idle, "peak": peak, "after": after,
               "rtt_max": max(rtts) if rtts else None, "probes": len(rtts)}
        self.rows.append(row)
        if not srv.alive():
            self.fail(f"{name}: server {srv.how_it_died()}\n{srv.log_tail()}")
            self.control.close()
            self.server = None  # the next phase starts a fresh one
            return
        if control_failure:
            self.fail(f"{name}: {control_failure}")
        elif not rtts:
            self.fail(f"{name}: no control echo came back during the flood")
        if self.opts.no_rss_checks:
            pass
        elif peak > self.bound:
            self.fail(f"{name}: RSS reached {peak / MIB:.0f} MiB, over the bound "
                      f"{self.bound / MIB:.0f} MiB (flood stopped there)")
        final = after[self.opts.settle]
        print("   biggest mappings now: " + srv.mappings_line(), flush=True)
        kept = history_allowance(self.bound_flags)
        if not self.opts.no_rss_checks and final > self.idle + self.opts.margin * MIB + kept:
            self.fail(f"{name}: RSS {final / MIB:.1f} MiB {self.opts.settle} s after the flood, "
                      f"idle was {self.idle / MIB:.1f} MiB (margin {self.opts.margin} MiB, "
                      f"history {kept / MIB:.1f} MiB)")
        if len(self.failures) > failed_before:
            # What this flood left behind would skew the next one: start afresh.
            self.teardown()

    def summary(self):
        def mib(v):
            return "   dead" if v is None else f"{v / MIB:7.1f}"
        print(f"\nRSS in MiB{'':<3} {'idle':>7} {'peak':>7} {'+1s':>7} {'+3s':>7} "
              f"{'+' + str(self.opts.settle) + 's':>7}  control client")
        for r in self.rows:
            a = r["after"]
            rtt = "-" if r["rtt_max"] is None else f"{r['rtt_max'] * 1000:.0f}"
            print(f"{r['flood']:<12} {mib(r['idle'])} {mib(r['peak'])} {mib(a[1])} {mib(a[3])} "
                  f"{mib(a[self.opts.settle])}  {r['probes']} echoes, slowest {rtt} ms")
        print(f"{len(self.failures)} failed" if self.failures else "all checks passed")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=6, help="rounds of flood-ws (default 6)")
    ap.add_argument("--settle", type=int, default=5,
                    help="seconds after a flood by which RSS must be near idle (default 5)")
    ap.add_argument("--margin", type=int, default=6,
                    help="MiB above idle RSS allowed once settled (default 6)")
    ap.add_argument("--warm-up", type=float, default=2.0,
                    help="seconds of keep-up traffic before idle RSS is measured (default 2)")
    ap.add_argument("--no-rss-checks", action="store_true",
                    help="report RSS but check only that the server lives and answers "
                         "(sanitizer builds, whose allocator keeps freed memory on purpose)")
    ap.add_argument("--floods", default="ws,ping,http",
                    help="which floods to run, in order (default ws,ping,http)")
    ap.add_argument("ringchat")
    ap.add_argument("args", nargs=argparse.REMAINDER, help="more server flags")
    opts = ap.parse_args()
    if opts.args[:1] == ["--"]:
        opts.args = opts.args[1:]
    # meson (and a shell's timeout) end a test with SIGTERM: unwind so the
    # finally below stops the server (PDEATHSIG is the backstop).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    run = Run(opts)
    try:
        floods = {"ws": lambda port, over, report: flood_ws(port, opts.rounds, over, report),
                  "ping": flood_ping, "http": flood_http}
        names = opts.floods.split(",")
        for name in names:
            if name not in floods:
                ap.error(f"unknown flood {name!r}; known: {', '.join(floods)}")
        run.start()
        for name in names:
            run.phase("flood-" + name, floods[name])
    except Exception as e:  # noqa: BLE001 - report, then fail
        run.fail(f"{type(e).__name__}: {e}")
    finally:
        if run.server is not None:
            try:
                run.teardown()
            finally:
                if run.server is not None:
                    run.server.kill()
        run.summary()
    sys.exit(1 if run.failures else 0)


if __name__ == "__main__":
    main()
