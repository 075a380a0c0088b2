"""ringchat's transports side by side, under tools/ringload.

Run through bench/transports.sh. The method is bench/benchlib.py's: every
run gets a fresh server pinned to CPU 0 and ringload pinned to CPU 1; the two
variants of a scenario alternate order every repetition (A/B interleaved)
and the table shows medians and their ratio. Server CPU comes from ringload's steady phase
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
import os
import sys
import tempfile

import benchlib
from benchlib import RINGCHAT, RINGLOAD, ROOT

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


def start_server(kind, port, args, log_path, tmp):
    """A with-block of the pinned server and the pid that does the work (nchan: nginx's worker)."""
    if kind == "ringchat":
        # No publish limit: nchan has none, and the JSON and raw rows measure fan-out.
        cmd = [RINGCHAT, "--port", str(port), "--bind", "127.0.0.1", "--pub-rate", "0"] + args.ringchat_args
    else:
        cmd = [NCHAN, os.path.join(tmp, f"nchan-{port}"), str(port)]
    return benchlib.pinned_server(kind, cmd, args.server_cpu, port, log_path)


def worker_pid(kind, proc):
    if kind != "nchan":
        return proc.pid
    kids = benchlib.children(proc.pid)  # the worker holds the connections and does the work
    if not kids:
        raise RuntimeError("nginx has no worker")
    return kids[0]


def summarize(report):
    return benchlib.steady_summary(report, lambda steady, cpu: {
        "deliveries_per_cpu_s": steady.get("delivered", 0) / cpu if cpu > 0 else None,
        "server_cpu_s": cpu,
    })


def run_load(variant, name, rargs, args, rep, tmp):
    server, protocol, path, pub = VARIANT[variant]
    port = benchlib.free_port()
    tag = f"{name}-{variant}-{rep}"
    jpath = os.path.join(args.out, f"{tag}.json")
    with start_server(server, port, args, os.path.join(args.out, f"{tag}.server.log"), tmp) as proc:
        mem_pid = worker_pid(server, proc)
        scheme = "ws" if protocol != "sse" else "http"
        cmd = ["taskset", "-c", args.client_cpus, RINGLOAD, "--url", f"{scheme}://127.0.0.1:{port}{path}",
               "--protocol", protocol, "--cpus", args.client_cpus, "--steady", str(args.steady),
               "--drain", "1", "--progress", "never", "--seed", str(rep + 1),
               "--room-prefix", f"tr{rep}", "--server-pid", str(mem_pid), "--json", jpath] + rargs
        if pub:
            cmd += ["--pub-path", pub]
        res, busy, wall = benchlib.run_busy(cmd, timeout=args.steady + 90)
    return benchlib.load_result(cmd, res, busy, wall, jpath, os.path.join(args.out, f"{tag}.ringload.txt"),
                                summarize)


def run_idle(kind, n, args, rep):
    jpath = os.path.join(args.out, f"sse-idle-{kind}-{rep}.json")
    cmd = [benchlib.IDLE_MEMORY, "--server", kind, "--protocol", "sse",
           "-n", str(n), "--rooms", "100", "--json", jpath]
    if kind == "ringchat" and args.ringchat_args:
        cmd += ["--"] + args.ringchat_args
    r = benchlib.idle_memory(cmd, jpath)
    if "failed" in r:
        return r
    return {"bytes_per_stream": r["user_bytes_per_conn"], "held": r["held"]}


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
            a, b = benchlib.median_of(per[a_name], key), benchlib.median_of(per[b_name], key)
            ratio, target, ok = "", "", ""
            if how and a and b:
                r = b / a if how == "B/A" else a / b
                ratio = f"{how.replace('A', a_name).replace('B', b_name)} = {r:.3g}"
                if name.startswith("json"):
                    target, ok = "<= 1.3", "yes" if r <= 1.3 else "NO"
                elif key == "deliveries_per_cpu_s" and "-r" not in name:
                    target, ok = ">= 10", "yes" if r >= 10 else "NO"
                busy = [benchlib.median_of(per[v], "gen_busy_pct") or 0 for v in (a_name, b_name)]
                if max(busy) > 90:
                    ok += " (generator-bound)"
            if key == "bytes_per_stream" and a is not None:
                target, ok = f"{a_name} <= 1024 B", "yes" if a <= 1024 else "NO"
            rows.append((name, key, f"{a_name} {fmt(a, key)}", f"{b_name} {fmt(b, key)}", ratio, target, ok))
        rows += benchlib.problem_rows(name, per, per["variants"], len(rows[0]))
    benchlib.print_table(rows)
    print(f"\nmedians of {args.reps} A/B-interleaved repetitions, {args.steady} s steady each; server on CPU "
          f"{args.server_cpu}, ringload on CPU {args.client_cpus}; server CPU of the steady phase "
          f"(nchan: nginx's worker); gen_busy = ringload's busiest worker. Generator-bound: ringload's CPU "
          f"was full, so the server ran below saturation; a per-CPU figure of a server below "
          f"saturation is pessimistic (less batching), the load figures are ringload's, not the "
          f"server's")


def variants_of(name):
    return SCENARIOS[name][0] if name in SCENARIOS else IDLE


def main():
    args = benchlib.parse_args(
        "ringchat's transports side by side (JSON vs raw, SSE vs nchan)", "transports",
        "comma-separated scenario names or prefixes (json, sse, sse-idle)",
        after_only=lambda p: p.add_argument("--idle-n", type=int, default=10000, help="sse-idle: streams held"))
    results = benchlib.empty_results(args, list(SCENARIOS) + ["sse-idle"], variants_of)
    with tempfile.TemporaryDirectory(prefix="transports-") as tmp:
        def run_one(name, v, rep):
            if name == "sse-idle":
                return run_idle(v, args.idle_n, args, rep)
            return run_load(v, name, SCENARIOS[name][1], args, rep, tmp)
        # 1 s between runs lets the closed connections drain.
        benchlib.interleaved(results, variants_of, args.reps, run_one, pause_s=1)
    return benchlib.finish(args, results, variants_of, table, "failures")


if __name__ == "__main__":
    sys.exit(main())
