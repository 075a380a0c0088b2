"""What the bench/*.py drivers (tls.py, transports.py, side_by_side.py) share.

Each driver keeps its scenarios, its metrics and its table's rows; this
module holds the method they have in common, so that it is the same method:

Pinning. Every run gets a fresh server, started under `taskset -c
SERVER_CPU` (--server-cpu, default CPU 0) and polled on /healthz until it
answers, and one tools/ringload run under `taskset -c CLIENT_CPUS`
(--client-cpus, default CPU 1, also ringload's --cpus). Server and load
generator never share a core; the server is stopped (SIGTERM, SIGKILL after
10 s) before the next run. Loopback only.

Server CPU. utime + stime of the server's process from /proc/PID/stat, in
clock ticks. Either ringload reads it itself (--server-pid; its steady
phase's server_cpu_s: tls.py and transports.py), or the driver reads it
around the whole ringload run (cpu_ticks(): side_by_side.py).

CPU budget. On two cores ringload has one CPU, and a server with a whole
CPU can outrun it. CpuBudget (a cgroup's CFS quota) gives a server's
processes a fraction of a CPU, so that they run out of CPU first and a
run measures their capacity on that budget (cluster.py's fan-out rounds).

Disturbance. cpu_busy_s() is the CPU time every task on the machine was
charged with (/proc/stat); over a run, minus the server's and ringload's own
time, it is what other work took (other_cpu_pct). Above 20% of a CPU a run
is marked DISTURBED in the table (tls.py, transports.py).

A/B interleaving and medians. Every repetition runs each scenario's
variants in turn, in reversed order every other repetition, so a drift of
the machine's load falls on all variants alike. The table shows, per
variant, the median over the repetitions (failed runs and missing values
left out) and ratios of those medians. Every raw result goes to
OUT/results.json.

HTML. html_report() writes one self-contained page (OUT/report.html:
side_by_side.py) of headings, tables and bar charts drawn by web/charts.js,
the charting code of ringload's --html report, embedded in the page.
"""
import argparse
import contextlib
import html
import json
import os
import shlex
import signal
import socket
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RINGCHAT = os.environ.get("RINGCHAT_BIN", os.path.join(ROOT, "build", "ringchat"))
RINGLOAD = os.environ.get("RINGLOAD_BIN", os.path.join(ROOT, "build", "tools", "ringload", "ringload"))
IDLE_MEMORY = os.path.join(ROOT, "bench", "idle_memory.sh")
HZ = os.sysconf("SC_CLK_TCK")
# What a run may raise that makes it a failed run rather than the end of the benchmark.
RUN_ERRORS = (RuntimeError, subprocess.TimeoutExpired, subprocess.CalledProcessError, OSError, ValueError)


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---- CPU time ---------------------------------------------------------------

def cpu_ticks(pid):
    """User + system CPU time of PID in clock ticks (HZ a second), from /proc/PID/stat."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime, stime (proc(5) fields 14, 15)


def cpu_busy_s():
    """Seconds of CPU time tasks have used on every CPU since boot (/proc/stat)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    # user, nice, system, steal: the time tasks are charged with. irq and
    # softirq time (loopback's receive work among it) is charged to no task,
    # neither ours nor another's, so it is left out here as it is there.
    return (v[0] + v[1] + v[2] + v[7]) / HZ


def children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


# ---- servers ----------------------------------------------------------------

def wait_healthy(proc, port, deadline_s=20):
    """Polls GET /healthz on 127.0.0.1:PORT until 200; False if proc exits or the deadline passes."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if proc.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                if s.recv(64).startswith(b"HTTP/1.1 200"):
                    return True
        except OSError:
            pass
        time.sleep(0.1)
    return False


def start_pinned(what, cmd, cpu, port, logf):
    """Starts cmd under taskset -c CPU, its output to logf, and waits for /healthz on PORT."""
    proc = subprocess.Popen(["taskset", "-c", cpu] + cmd, stdout=logf, stderr=subprocess.STDOUT)
    if not wait_healthy(proc, port):
        stop(proc)
        raise RuntimeError(f"{what} did not answer /healthz: {shlex.join(cmd)}")
    return proc


def stop(proc):
    """SIGTERM, SIGKILL after 10 s."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextlib.contextmanager
def pinned_server(what, cmd, cpu, port, log_path):
    """start_pinned() for the with-block, output to log_path; stopped when the block ends."""
    with open(log_path, "wb") as logf:
        proc = start_pinned(what, cmd, cpu, port, logf)
        try:
            yield proc
        finally:
            stop(proc)


class CpuBudget:
    """A cgroup whose processes share CPUS CPUs' worth of time (CFS bandwidth:
    CPUS x 10 ms every 10 ms), so that a server, not the load generator,
    is what runs out of CPU. cgroup v2 (cpu.max) or v1 (the cpu
    controller's cfs quota); raises OSError where neither can be made (not
    root, no cpu controller). Removed when the with-block ends."""

    PERIOD_US = 10000

    def __init__(self, cpus):
        name = f"ringchat-bench-{os.getpid()}-{time.monotonic_ns()}"
        quota = max(1000, int(cpus * self.PERIOD_US))
        if os.path.exists("/sys/fs/cgroup/cgroup.controllers"):
            with open("/sys/fs/cgroup/cgroup.subtree_control", "w") as f:
                f.write("+cpu")
            self.dir = os.path.join("/sys/fs/cgroup", name)
            os.mkdir(self.dir)
            self._write("cpu.max", f"{quota} {self.PERIOD_US}")
        else:
            self.dir = os.path.join("/sys/fs/cgroup/cpu", name)
            os.mkdir(self.dir)
            self._write("cpu.cfs_period_us", str(self.PERIOD_US))
            self._write("cpu.cfs_quota_us", str(quota))

    def _write(self, file, value):
        with open(os.path.join(self.dir, file), "w") as f:
            f.write(value)

    def add(self, pid):
        """Moves PID (every thread of it, and what it starts later) into the budget."""
        self._write("cgroup.procs", str(pid))

    def throttled_share(self):
        """The share of CFS periods in which the budget ran out (cpu.stat)."""
        with open(os.path.join(self.dir, "cpu.stat")) as f:
            stat = dict(line.split() for line in f if line.strip())
        periods = int(stat.get("nr_periods", 0))
        return int(stat.get("nr_throttled", 0)) / periods if periods else 0.0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for _ in range(50):  # its processes were stopped; the kernel lets go of them shortly
            try:
                os.rmdir(self.dir)
                return
            except OSError:
                time.sleep(0.1)
        log(f"could not remove cgroup {self.dir}")


# ---- ringload runs and reports ----------------------------------------------

def run_busy(cmd, timeout):
    """Runs cmd (ringload); returns (CompletedProcess, machine's task CPU s during it, wall s)."""
    busy0, t0 = cpu_busy_s(), time.monotonic()
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    busy, wall = cpu_busy_s() - busy0, time.monotonic() - t0
    return res, busy, wall


def save_transcript(path, cmd, res):
    with open(path, "w") as f:
        f.write(shlex.join(cmd) + "\n" + res.stdout + res.stderr)


def phase_of(report, name):
    for p in report.get("phases", []):
        if p.get("name") == name:
            return p
    return None


def steady_summary(report, extra):
    """The metrics of ringload's steady phase that tls.py and transports.py share.

    Server CPU is the steady phase's server_cpu_s (ringload --server-pid).
    extra(steady, cpu_s) gives the driver's own metrics, placed after the
    per-delivery CPU.
    """
    steady = phase_of(report, "steady") or {}
    delivered = steady.get("delivered", 0)
    cpu = steady.get("server_cpu_s", 0.0)
    verdict = report.get("verdict", {})
    out = {
        "delivered_per_s": steady.get("msgs_per_s_delivered", 0.0),
        "cpu_us_per_delivered": cpu * 1e6 / delivered if delivered else None,
    }
    out.update(extra(steady, cpu))
    out.update({
        "p99_us": steady.get("latency_us", {}).get("p99"),
        "gen_busy_pct": 100.0 * steady.get("max_worker_busy", 0.0),
        "errors": sum(steady.get("errors", {}).values()),
        "verdict_ok": verdict.get("ok", False),
        "failures": verdict.get("failures", []),
    })
    return out


def load_result(cmd, res, busy, wall, jpath, transcript, summarize):
    """One run's result of tls.py and transports.py: summarize(report), the exit
    code and other_cpu_pct, or {"failed": ...} when ringload wrote no report."""
    save_transcript(transcript, cmd, res)
    if not os.path.exists(jpath):
        return {"failed": f"ringload exited {res.returncode}: {res.stderr.strip()[-200:]}"}
    with open(jpath) as f:
        report = json.load(f)
    out = summarize(report)
    out["ringload_rc"] = res.returncode
    # CPU the machine spent on anything but this server and ringload: a
    # compile next door shows here, and such a run is not a result.
    ours = max(report.get("server_cpu_s", 0), 0) + report.get("client_cpu_s", 0)
    out["other_cpu_pct"] = 100.0 * max(busy - ours, 0) / wall if wall > 0 else 0
    return out


def idle_memory(cmd, jpath, transcript=None):
    """Runs bench/idle_memory.sh (cmd, which writes --json jpath); returns its report or {"failed": ...}."""
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=400)
    if transcript:
        save_transcript(transcript, cmd, res)
    if res.returncode != 0 or not os.path.exists(jpath):
        return {"failed": (res.stderr.strip().splitlines() or ["?"])[-1]}
    with open(jpath) as f:
        return json.load(f)


# ---- repetitions ------------------------------------------------------------

def select(names, only):
    """The names that start with one of the comma-separated words of --only (all without it)."""
    if not only:
        return list(names)
    want = only.split(",")
    return [n for n in names if any(n.startswith(w) for w in want)]


def empty_results(args, names, variants_of, record_variants=True):
    """Makes --out; returns {name: {"variants": (...), variant: []}} for the
    names --only selects (without "variants" if not record_variants)."""
    os.makedirs(args.out, exist_ok=True)
    results = {}
    for n in select(names, args.only):
        vs = variants_of(n)
        results[n] = {"variants": vs} if record_variants else {}
        for v in vs:
            results[n][v] = []
    return results


def interleaved(results, variants_of, reps, run_one, pause_s=0):
    """A/B interleaving: each repetition runs every scenario's variants, in
    reversed order on odd repetitions; run_one(name, variant, rep) returns
    the run's result dict, which is appended to results[name][variant]. A run
    that raises one of RUN_ERRORS becomes {"failed": ...}. pause_s between
    runs lets the closed connections drain."""
    for rep in range(reps):
        for name in results:
            variants = variants_of(name)
            for v in (variants if rep % 2 == 0 else variants[::-1]):
                log(f"rep {rep + 1}/{reps} {name} {v}")
                try:
                    r = run_one(name, v, rep)
                except RUN_ERRORS as e:
                    r = {"failed": f"{type(e).__name__}: {e}"}
                results[name][v].append(r)
                if pause_s:
                    time.sleep(pause_s)


def median_of(runs, key):
    """Median of key over the runs that did not fail and have it; None if none has."""
    vals = [r[key] for r in runs if "failed" not in r and r.get(key) is not None]
    return statistics.median(vals) if vals else None


# ---- output -----------------------------------------------------------------

def problem_rows(name, per, variants, ncols):
    """Table rows for failed runs, failed ringload verdicts and disturbed runs."""
    pad = ("",) * (ncols - 3)
    rows = []
    for v in variants:
        for r in per[v]:
            if "failed" in r:
                rows.append((name, f"{v} run failed", r["failed"][:70]) + pad)
            elif r.get("failures"):
                rows.append((name, f"{v} VERDICT FAILED", "; ".join(r["failures"])[:70]) + pad)
            elif r.get("other_cpu_pct", 0) > 20:
                rows.append((name, f"{v} DISTURBED", f"other work used {r['other_cpu_pct']:.0f}% "
                             "of a CPU during the run") + pad)
    return rows


def print_table(rows):
    """Prints rows (the first is the header) as a Markdown table, columns padded."""
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    for j, r in enumerate(rows):
        print("| " + " | ".join(str(c).ljust(w) for c, w in zip(r, widths)) + " |")
        if j == 0:
            print("|" + "|".join("-" * (w + 2) for w in widths) + "|")


HTML_STYLE = (
    "body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#222;background:#f6f7f9}"
    "main{max-width:1280px;margin:0 auto;padding:16px 24px 40px}"
    "h1{font-size:22px;margin:8px 0 2px}h2{font-size:17px;margin:28px 0 8px}"
    "p{color:#555}.bad{color:#c62828}.ok{color:#1a7f37}"
    "table{border-collapse:collapse;background:#fff;margin:6px 0;font-size:13px;"
    "font-variant-numeric:tabular-nums}"
    "th,td{border:1px solid #dde;padding:4px 8px;text-align:right;white-space:nowrap}"
    "th{background:#eef0f4}td:first-child,th:first-child,td:nth-child(2){text-align:left}"
    ".charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(280px,1fr));gap:12px}"
    ".charts.wide{grid-template-columns:1fr}"
    "canvas{width:100%;height:240px;background:#fff;border:1px solid #dde;border-radius:6px}"
    "details{margin-top:24px}summary{cursor:pointer;font-weight:600}"
    "pre{background:#fff;border:1px solid #dde;padding:10px;overflow:auto;max-height:600px}")


def html_report(path, title, blocks):
    """Writes one self-contained HTML page to path; returns path.

    blocks, in order: ("h2", text), ("p", text), ("table", rows) with rows
    as print_table() takes them (the first is the header; a cell "NO" or
    one ending in "FAILED" is shown in red), ("charts", [(kind, opts), ...])
    with kind a web/charts.js chart ("bars", "timeSeries", ...) and opts
    its options (JSON), drawn side by side, ("wide_charts", [...]) the same
    one under the other at the page's width, and ("json", value): a value
    shown collapsed and indented. Nothing is fetched: web/charts.js is
    copied into the page.
    """
    with open(os.path.join(ROOT, "web", "charts.js"), encoding="utf-8") as f:
        charts_js = f.read()
    out, specs = [], []
    for kind, value in blocks:
        if kind in ("h2", "p"):
            out.append(f"<{kind}>{html.escape(str(value))}</{kind}>")
        elif kind == "table":
            out.append(_html_table(value))
        elif kind in ("charts", "wide_charts"):
            out.append("<div class='charts wide'>" if kind == "wide_charts" else "<div class='charts'>")
            for chart, opts in value:
                out.append(f"<canvas id='chart-{len(specs)}'></canvas>")
                specs.append({"kind": chart, "opts": opts})
            out.append("</div>")
        elif kind == "json":
            out.append("<details><summary>Raw results (JSON)</summary><pre>" +
                       html.escape(json.dumps(value, indent=1)) + "</pre></details>")
        else:
            raise ValueError(f"html_report: unknown block {kind}")
    data = json.dumps(specs).replace("<", "\\u003c")
    page = (
        "<!doctype html>\n<html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width,initial-scale=1'>"
        f"<title>{html.escape(title)}</title><style>{HTML_STYLE}</style></head>\n<body><main>\n"
        f"<h1>{html.escape(title)}</h1>\n" + "\n".join(out) + "\n</main>\n"
        f"<script type='application/json' id='bench-charts'>{data}</script>\n"
        f"<script>\n{charts_js}</script>\n<script>\n"
        "JSON.parse(document.getElementById('bench-charts').textContent).forEach((c, i) =>\n"
        "  RingCharts[c.kind](document.getElementById('chart-' + i), c.opts));\n"
        "document.body.dataset.rendered = '1';\n</script>\n</body></html>\n")
    with open(path, "w", encoding="utf-8") as f:
        f.write(page)
    return path


def _html_table(rows):
    def cell(tag, c):
        c = str(c)
        bad = c == "NO" or c.endswith("FAILED") or "ERRORS" in c or "failed" in c
        inner = f"<span class='bad'>{html.escape(c)}</span>" if bad and tag == "td" else html.escape(c)
        return f"<{tag}>{inner}</{tag}>"
    lines = ["<table>"]
    for j, r in enumerate(rows):
        tag = "th" if j == 0 else "td"
        lines.append("<tr>" + "".join(cell(tag, c) for c in r) + "</tr>")
    lines.append("</table>")
    return "\n".join(lines)


def write_results(args, results, leave_out=()):
    """Writes OUT/results.json: {"args": the options (but leave_out), "results": results}; returns its path."""
    path = os.path.join(args.out, "results.json")
    with open(path, "w") as f:
        json.dump({"args": {k: v for k, v in vars(args).items() if k not in leave_out},
                   "results": results}, f, indent=1)
    return path


def finish(args, results, variants_of, table, bad_key, leave_out=()):
    """Writes results.json, prints the table and where the raw results are;
    returns the exit code: 1 if a run's result has a true bad_key, else 0."""
    path = write_results(args, results, leave_out)
    table(results, args)
    print(f"raw results: {path}")
    bad = any(r.get(bad_key) for name, per in results.items() for v in variants_of(name) for r in per[v])
    return 1 if bad else 0


# ---- options ----------------------------------------------------------------

def parse_args(description, out_name, only_help, before_only=None, after_only=None, at_end=None):
    """The options every driver takes (--reps --steady --only --server-cpu
    --client-cpus --out --ringchat-args), parsed; before_only(p),
    after_only(p) and at_end(p) add a driver's own where they stand in its
    --help. --out defaults to out/OUT_NAME; --ringchat-args comes back split
    into a list."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--reps", type=int, default=3, help="A/B-interleaved repetitions (median taken)")
    p.add_argument("--steady", type=float, default=5.0, help="measured seconds per run")
    for add in (before_only, lambda p: p.add_argument("--only", default="", help=only_help), after_only):
        if add:
            add(p)
    p.add_argument("--server-cpu", default="0")
    p.add_argument("--client-cpus", default="1", help="ringload --cpus")
    p.add_argument("--out", default=os.path.join(ROOT, "out", out_name))
    p.add_argument("--ringchat-args", default="", help="extra ringchat flags, one string")
    if at_end:
        at_end(p)
    a = p.parse_args()
    a.ringchat_args = shlex.split(a.ringchat_args)
    return a
