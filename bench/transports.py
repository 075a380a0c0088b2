"""ringchat's transports side by side, under tools/ringload.

Run through bench/transports.sh. Like bench/side_by_side.py: every run gets
a fresh server pinned to CPU 0 and ringload pinned to CPU 1; the two variants
of a scenario alternate order every repetition (A/B interleaved) and the table
shows medians and their ratio. Server CPU comes from ringload's steady phase
(--server-pid: ringchat, or nginx's worker for nchan).

Fan-out rounds (--mode fanout) are closed loop: the faster side runs until
one of the two CPUs is full, often ringload's (then the table says
"generator-bound" and the figure is not a result). The -r scenarios offer a
fixed load instead (--mode rate, Poisson arrivals), below what either side
saturates at, so both variants are compared doing the same work.

Scenarios (one line each):
  json-1x100-all    fan-out rounds, one room of 100, every member sends: JSON socket vs raw
                    socket, server CPU per delivery (target json/raw <= 1.3)
  json-100x10-all   fan-out rounds, 100 rooms of 10, every member sends: the same
  json-1x100-r25    one room of 100, every member sends 25 msgs/s (250k deliveries/s): the same
  json-100x10-r25   100 rooms of 10, every member sends 25 msgs/s (250k deliveries/s): the same
  sse-1x100-s10     SSE fan-out rounds, one room of 100 streams, 10 senders POSTing: ringchat vs
                    nginx+nchan, deliveries per server CPU-second (target ringchat/nchan >= 10)
  sse-1x100-all     SSE fan-out rounds, one room of 100 streams, every member also POSTs: the same
  sse-1x1000-s10    the same as sse-1x100-s10 with 1000 streams
  sse-1x100-r50     one room of 100 streams, 10 senders POSTing 50 msgs/s (50k deliveries/s); no
                    target: at a light load every delivery is a TCP segment of its own on both
                    servers, and the kernel's cost per segment sets both figures
  sse-1x1000-r5     one room of 1000 streams, 10 senders POSTing 5 msgs/s (50k deliveries/s)
  sse-idle          memory per idle SSE stream, ringchat vs nchan (bench/idle_memory.sh
                    --protocol sse; target ringchat <= 1 KB)
"""
import argparse
import json
import os
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from side_by_side import RINGCHAT, RINGLOAD, ROOT, free_port, log, wait_healthy  # noqa: E402

NCHAN = os.path.join(ROOT, "bench", "peers", "nchan", "start.sh")
FANOUT = ["--mode", "fanout", "--size", "32"]


def rate(r):
    return ["--mode", "rate", "--think", "exp", "--size", "32", "--rate", str(r)]



# name -> (variants, ringload args, metric, target ratio variants[1]/variants[0] or [0]/[1])
SCENARIOS = {
    "json-1x100-all": (("raw", "json"), FANOUT + ["-c", "100", "--rooms", "1"], "cpu_us_per_delivered"),
    "json-100x10-all": (("raw", "json"), FANOUT + ["-c", "1000", "--rooms", "100"], "cpu_us_per_delivered"),
    "json-1x100-r25": (("raw", "json"), rate(25) + ["-c", "100", "--rooms", "1"], "cpu_us_per_delivered"),
    "json-100x10-r25": (("raw", "json"), rate(25) + ["-c", "1000", "--rooms", "100"], "cpu_us_per_delivered"),
    "sse-1x100-s10": (("ringchat", "nchan"), FANOUT + ["-c", "100", "--rooms", "1", "--senders", "10"],
                      "deliveries_per_cpu_s"),
    "sse-1x100-all": (("ringchat", "nchan"), FANOUT + ["-c", "100", "--rooms", "1"], "deliveries_per_cpu_s"),
    "sse-1x1000-s10": (("ringchat", "nchan"), FANOUT + ["-c", "1000", "--rooms", "1", "--senders", "10"],
                       "deliveries_per_cpu_s"),
    "sse-1x100-r50": (("ringchat", "nchan"), rate(50) + ["-c", "100", "--rooms", "1", "--senders", "10"],
                      "deliveries_per_cpu_s"),
    "sse-1x1000-r5": (("ringchat", "nchan"), rate(5) + ["-c", "1000", "--rooms", "1", "--senders", "10"],
                      "deliveries_per_cpu_s"),
}
IDLE = ("ringchat", "nchan")
# How each variant is reached: (server, protocol, url path, publish path)
VARIANT = {
    "raw": ("ringchat", "raw", "/ws/", None),
    "json": ("ringchat", "json", "/ws", None),
    "ringchat": ("ringchat", "sse", "/sse/", "/rooms/{room}/messages"),
    "nchan": ("nchan", "sse", "/sub/", "/pub/{room}"),
}


def cpu_busy_s():
    """Seconds of CPU time tasks have used on every CPU since boot (/proc/stat)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    # user, nice, system, steal: the time tasks are charged with. irq and
    # softirq time (loopback's receive work among it) is charged to no task,
    # neither ours nor another's, so it is left out here as it is there.
    return (v[0] + v[1] + v[2] + v[7]) / os.sysconf("SC_CLK_TCK")


def children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def start_server(kind, port, args, logf, tmp):
    if kind == "ringchat":
        # No publish limit: nchan has none, and the JSON and raw rows measure fan-out.
        cmd = [RINGCHAT, "--port", str(port), "--bind", "127.0.0.1", "--pub-rate", "0"] + args.ringchat_args
    else:
        cmd = [NCHAN, os.path.join(tmp, f"nchan-{port}"), str(port)]
    proc = subprocess.Popen(["taskset", "-c", args.server_cpu] + cmd, stdout=logf, stderr=subprocess.STDOUT)
    if not wait_healthy(proc, port):
        stop(proc)
        raise RuntimeError(f"{kind} did not answer /healthz: {shlex.join(cmd)}")
    mem_pid = proc.pid
    if kind == "nchan":  # the worker holds the connections and does the work
        kids = children(proc.pid)
        if not kids:
            stop(proc)
            raise RuntimeError("nginx has no worker")
        mem_pid = kids[0]
    return proc, mem_pid


def stop(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def summarize(report):
    steady = next((p for p in report.get("phases", []) if p.get("name") == "steady"), {})
    delivered = steady.get("delivered", 0)
    cpu = steady.get("server_cpu_s", 0.0)
    verdict = report.get("verdict", {})
    return {
        "delivered_per_s": steady.get("msgs_per_s_delivered", 0.0),
        "cpu_us_per_delivered": cpu * 1e6 / delivered if delivered else None,
        "deliveries_per_cpu_s": delivered / cpu if cpu > 0 else None,
        "server_cpu_s": cpu,
        "p99_us": steady.get("latency_us", {}).get("p99"),
        "gen_busy_pct": 100.0 * steady.get("max_worker_busy", 0.0),
        "errors": sum(steady.get("errors", {}).values()),
        "verdict_ok": verdict.get("ok", False),
        "failures": verdict.get("failures", []),
    }


def run_load(variant, name, rargs, args, rep, tmp):
    server, protocol, path, pub = VARIANT[variant]
    port = free_port()
    tag = f"{name}-{variant}-{rep}"
    jpath = os.path.join(args.out, f"{tag}.json")
    with open(os.path.join(args.out, f"{tag}.server.log"), "wb") as slog:
        proc, mem_pid = start_server(server, port, args, slog, tmp)
        try:
            scheme = "ws" if protocol != "sse" else "http"
            cmd = ["taskset", "-c", args.client_cpus, RINGLOAD, "--url", f"{scheme}://127.0.0.1:{port}{path}",
                   "--protocol", protocol, "--cpus", args.client_cpus, "--steady", str(args.steady),
                   "--drain", "1", "--progress", "never", "--seed", str(rep + 1),
                   "--room-prefix", f"tr{rep}", "--server-pid", str(mem_pid), "--json", jpath] + rargs
            if pub:
                cmd += ["--pub-path", pub]
            busy0, t0 = cpu_busy_s(), time.monotonic()
            res = subprocess.run(cmd, capture_output=True, text=True, timeout=args.steady + 90)
            busy, wall = cpu_busy_s() - busy0, time.monotonic() - t0
        finally:
            stop(proc)
    with open(os.path.join(args.out, f"{tag}.ringload.txt"), "w") as f:
        f.write(shlex.join(cmd) + "\n" + res.stdout + res.stderr)
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


def run_idle(kind, n, args, rep):
    jpath = os.path.join(args.out, f"sse-idle-{kind}-{rep}.json")
    cmd = [os.path.join(ROOT, "bench", "idle_memory.sh"), "--server", kind, "--protocol", "sse",
           "-n", str(n), "--rooms", "100", "--json", jpath]
    if kind == "ringchat" and args.ringchat_args:
        cmd += ["--"] + args.ringchat_args
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=400)
    if res.returncode != 0 or not os.path.exists(jpath):
        return {"failed": (res.stderr.strip().splitlines() or ["?"])[-1]}
    with open(jpath) as f:
        r = json.load(f)
    return {"bytes_per_stream": r["user_bytes_per_conn"], "held": r["held"]}


def median_of(runs, key):
    vals = [r[key] for r in runs if "failed" not in r and r.get(key) is not None]
    return statistics.median(vals) if vals else None


def fmt(v, key):
    if v is None:
        return "n/a"
    if key == "cpu_us_per_delivered":
        return f"{v:.3f} us"
    if key == "bytes_per_stream":
        return f"{v:.0f} B"
    if key == "p99_us":
        return f"{v:.0f} us"
    if key == "gen_busy_pct":
        return f"{v:.0f}%"
    return f"{v:,.0f}"


def table(results, args):
    rows = [("scenario", "metric", "A", "B", "ratio", "target", "ok")]
    for name, per in results.items():
        a_name, b_name = per["variants"]
        if name == "sse-idle":
            metrics = [("bytes_per_stream", "B/A", None)]
        else:
            key = SCENARIOS[name][2]
            metrics = [(key, "B/A" if key == "cpu_us_per_delivered" else "A/B", None),
                       ("delivered_per_s", "", None), ("p99_us", "", None), ("gen_busy_pct", "", None)]
        for key, how, _ in metrics:
            a, b = median_of(per[a_name], key), median_of(per[b_name], key)
            ratio, target, ok = "", "", ""
            if how and a and b:
                r = b / a if how == "B/A" else a / b
                ratio = f"{how.replace('A', a_name).replace('B', b_name)} = {r:.3g}"
                if name.startswith("json"):
                    target, ok = "<= 1.3", "yes" if r <= 1.3 else "NO"
                elif key == "deliveries_per_cpu_s" and "-r" not in name:
                    target, ok = ">= 10", "yes" if r >= 10 else "NO"
                busy = [median_of(per[v], "gen_busy_pct") or 0 for v in (a_name, b_name)]
                if max(busy) > 90:
                    ok += " (generator-bound)"
            if key == "bytes_per_stream" and a is not None:
                target, ok = f"{a_name} <= 1024 B", "yes" if a <= 1024 else "NO"
            rows.append((name, key, f"{a_name} {fmt(a, key)}", f"{b_name} {fmt(b, key)}", ratio, target, ok))
        for v in per["variants"]:
            for r in per[v]:
                if "failed" in r:
                    rows.append((name, f"{v} run failed", r["failed"][:70], "", "", "", ""))
                elif r.get("failures"):
                    rows.append((name, f"{v} VERDICT FAILED", "; ".join(r["failures"])[:70], "", "", "", ""))
                elif r.get("other_cpu_pct", 0) > 20:
                    rows.append((name, f"{v} DISTURBED", f"other work used {r['other_cpu_pct']:.0f}% "
                                 "of a CPU during the run", "", "", "", ""))
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    for j, r in enumerate(rows):
        print("| " + " | ".join(str(c).ljust(w) for c, w in zip(r, widths)) + " |")
        if j == 0:
            print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    print(f"\nmedians of {args.reps} A/B-interleaved repetitions, {args.steady} s steady each; server on CPU "
          f"{args.server_cpu}, ringload on CPU {args.client_cpus}; server CPU of the steady phase "
          f"(nchan: nginx's worker); gen_busy = ringload's busiest worker. Generator-bound: ringload's CPU "
          f"was full, so the server ran below saturation; a per-CPU figure of a server below "
          f"saturation is pessimistic (less batching), the load figures are ringload's, not the "
          f"server's")


def parse_args():
    p = argparse.ArgumentParser(description="ringchat's transports side by side (JSON vs raw, SSE vs nchan)")
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--steady", type=float, default=5.0)
    p.add_argument("--only", default="", help="comma-separated scenario names or prefixes (json, sse, sse-idle)")
    p.add_argument("--idle-n", type=int, default=10000, help="sse-idle: streams held")
    p.add_argument("--server-cpu", default="0")
    p.add_argument("--client-cpus", default="1")
    p.add_argument("--out", default=os.path.join(ROOT, "out", "transports"))
    p.add_argument("--ringchat-args", default="", help="extra ringchat flags, one string")
    a = p.parse_args()
    a.ringchat_args = shlex.split(a.ringchat_args)
    return a


def main():
    args = parse_args()
    os.makedirs(args.out, exist_ok=True)
    names = list(SCENARIOS) + ["sse-idle"]
    if args.only:
        names = [n for n in names if any(n.startswith(w) for w in args.only.split(","))]
    results = {n: {"variants": SCENARIOS[n][0] if n in SCENARIOS else IDLE} for n in names}
    for per in results.values():
        for v in per["variants"]:
            per[v] = []
    with tempfile.TemporaryDirectory(prefix="transports-") as tmp:
        for rep in range(args.reps):
            for name in names:
                variants = results[name]["variants"]
                for v in (variants if rep % 2 == 0 else variants[::-1]):
                    log(f"rep {rep + 1}/{args.reps} {name} {v}")
                    try:
                        if name == "sse-idle":
                            r = run_idle(v, args.idle_n, args, rep)
                        else:
                            r = run_load(v, name, SCENARIOS[name][1], args, rep, tmp)
                    except (RuntimeError, subprocess.TimeoutExpired, OSError, ValueError) as e:
                        r = {"failed": f"{type(e).__name__}: {e}"}
                    results[name][v].append(r)
                    time.sleep(1)  # let the closed connections drain
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump({"args": vars(args), "results": results}, f, indent=1)
    table(results, args)
    print(f"raw results: {os.path.join(args.out, 'results.json')}")
    bad = any(r.get("failures") for per in results.values() for v in per["variants"] for r in per[v])
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
