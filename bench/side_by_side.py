"""ringchat and the Node `ws` peer under identical ringload scenarios.

Run through bench/side_by_side.sh. For each repetition and scenario it starts
a fresh server pinned to CPU 0 (ringchat, then the peer; the order alternates
every repetition: A/B interleaved), runs tools/ringload pinned to CPU 1,
reads ringload's --json report and the server's CPU time from
/proc/PID/stat over the run, and stops the server. Then it prints a table of
medians with ratios ringchat/peer and the targets of issue 3, writes every
raw result to OUT/results.json and one HTML report comparing the servers to
OUT/report.html (per scenario: throughput, latency percentiles, CPU per
delivery and memory as bars, drawn by web/charts.js; the same table). The shared method (pinning, /proc
CPU time, A/B interleaving, medians) is bench/benchlib.py's.

Scenarios (one line each):
  echo-20B-100     echo, 100 connections alone in their rooms, 20 B: server CPU per message
  echo-32B-100     echo, 100 connections, 32 B
  echo-1K-100      echo, 100 connections, 1 KiB
  echo-32B-1000    echo, 1000 connections, 32 B
  echo-1K-1000     echo, 1000 connections, 1 KiB
  fan-1x1000-s10   fan-out rounds, one room of 1000 members, 10 senders
  fan-100x100-s10  fan-out rounds, 100 rooms of 100 members, 10 senders each
  fan-1x100-all    fan-out rounds, one room of 100, every member sends (10,000 deliveries/round)
  fan-1x500-all    the same with 500 members
  fan-1x1000-all   the same with 1000 members
  rate-1x100-p99   open loop, one room of 100, 10 senders at --rate msgs/s each: p99 latency
  idle-10k, idle-50k   memory per idle connection (bench/idle_memory.sh)
"""
import json
import os
import subprocess
import sys

import benchlib
from benchlib import HZ, RINGCHAT, RINGLOAD, ROOT, cpu_ticks, log

PEER = os.path.join(ROOT, "bench", "peers", "node-ws", "server.js")

# name -> (ringload args, what to compare, target ratio ringchat/peer, target direction)
SCENARIOS = {
    "echo-20B-100": (["--mode", "echo", "-c", "100", "--size", "20"], "cpu_us_per_msg", 1 / 2.5, "<="),
    "echo-32B-100": (["--mode", "echo", "-c", "100", "--size", "32"], "delivered_per_s", None, ">="),
    "echo-1K-100": (["--mode", "echo", "-c", "100", "--size", "1024"], "delivered_per_s", None, ">="),
    "echo-32B-1000": (["--mode", "echo", "-c", "1000", "--size", "32"], "delivered_per_s", None, ">="),
    "echo-1K-1000": (["--mode", "echo", "-c", "1000", "--size", "1024"], "delivered_per_s", None, ">="),
    "fan-1x1000-s10": (["--mode", "fanout", "-c", "1000", "--rooms", "1", "--senders", "10", "--size", "32"],
                       "delivered_per_s", None, ">="),
    "fan-100x100-s10": (["--mode", "fanout", "-c", "10000", "--rooms", "100", "--senders", "10", "--size", "32"],
                        "delivered_per_s", None, ">="),
    "fan-1x100-all": (["--mode", "fanout", "-c", "100", "--rooms", "1", "--size", "32"], "delivered_per_s", 30.0, ">="),
    "fan-1x500-all": (["--mode", "fanout", "-c", "500", "--rooms", "1", "--size", "32"], "delivered_per_s", 30.0, ">="),
    "fan-1x1000-all": (["--mode", "fanout", "-c", "1000", "--rooms", "1", "--size", "32"], "delivered_per_s", 30.0, ">="),
    "rate-1x100-p99": (["--mode", "rate", "-c", "100", "--rooms", "1", "--senders", "10", "--think", "const", "--size", "32"],
                       "p99_us", 0.5, "<="),
}
IDLE = {"idle-10k": 10000, "idle-50k": 50000}
SERVERS = ("ringchat", "peer")


def start_server(kind, port, args, log_path):
    if kind == "ringchat":
        # No publish limit: the peer has none (like for like).
        cmd = [RINGCHAT, "--port", str(port), "--bind", "127.0.0.1", "--pub-rate", "0"] + args.ringchat_args
    else:
        cmd = ["node", PEER, "--port", str(port), "--bind", "127.0.0.1"]
    return benchlib.pinned_server(kind, cmd, args.server_cpu, port, log_path)


def summarize(report, server_s):
    """Pulls the compared metrics out of one ringload report.

    Throughput and latency come from the steady phase. Server CPU per
    delivered message is measured here from /proc/PID/stat over the whole
    ringload run and divided by all delivered messages of the run (ringload's
    own per-phase figure, server_cpu_us_per_delivered, is kept beside it).
    """
    steady = benchlib.phase_of(report, "steady") or report.get("totals", {})
    totals = report.get("totals", {})
    lat = steady.get("latency_us", {})
    delivered = totals.get("delivered", 0)
    order = report.get("order", {})
    errors = steady.get("errors") if isinstance(steady.get("errors"), dict) else {}
    return {
        "delivered_per_s": steady.get("msgs_per_s_delivered", 0.0),
        "sent_per_s": steady.get("msgs_per_s_sent", 0.0),
        "p50_us": lat.get("p50"), "p90_us": lat.get("p90"), "p99_us": lat.get("p99"),
        "p999_us": lat.get("p999"), "max_us": lat.get("max"),
        "server_rss_bytes": steady.get("server_rss_bytes", report.get("server_rss_bytes")),
        "cpu_us_per_msg": (server_s * 1e6 / delivered) if delivered else None,
        "ringload_cpu_us_per_msg": steady.get("server_cpu_us_per_delivered"),
        "server_cpu_s": server_s,
        "client_cpu_pct": 100.0 * steady["max_worker_busy"] if "max_worker_busy" in steady else None,
        "order_errors": sum(order.get(k, 0) for k in ("gaps", "duplicates", "reorders")),
        "errors": sum(errors.values()),
        "error_kinds": errors,
    }


def run_ringload(kind, name, rargs, args, rep):
    port = benchlib.free_port()
    tag = f"{name}-{kind}-{rep}"
    jpath = os.path.join(args.out, f"{tag}.json")
    with start_server(kind, port, args, os.path.join(args.out, f"{tag}.server.log")) as proc:
        cmd = ["taskset", "-c", args.client_cpus, RINGLOAD, "--url", f"ws://127.0.0.1:{port}/ws/",
               "--cpus", args.client_cpus, "--ramp", str(args.ramp), "--steady", str(args.steady),
               "--drain", "1", "--progress", "never", "--seed", str(rep + 1),
               "--room-prefix", f"sbs{rep}", "--server-pid", str(proc.pid), "--json", jpath] + rargs
        if "rate" in name:
            cmd += ["--rate", str(args.rate)]
        n = int(rargs[rargs.index("-c") + 1])
        if n > 20000:
            cmd += ["--src-ips", "127.0.0.1,127.0.0.2,127.0.0.3"]
        # Server CPU over the whole ringload run, read here (not ringload's steady phase).
        c0 = cpu_ticks(proc.pid)
        res = subprocess.run(cmd, capture_output=True, text=True,
                             timeout=args.ramp + args.steady + 60)
        server_s = (cpu_ticks(proc.pid) - c0) / HZ
    benchlib.save_transcript(os.path.join(args.out, f"{tag}.ringload.txt"), cmd, res)
    if res.returncode != 0 or not os.path.exists(jpath):
        log(f"{tag}: ringload exited {res.returncode}: {res.stderr.strip()[-300:]}")
        if not os.path.exists(jpath):
            return {"failed": f"ringload exited {res.returncode}"}
    with open(jpath) as f:
        out = summarize(json.load(f), server_s)
    out["ringload_rc"] = res.returncode
    return out


def run_idle(kind, name, n, args, rep):
    if kind == "peer" and n > 19000:
        return {"failed": "peer cannot hold it: a process here has at most 20,000 descriptors"}
    jpath = os.path.join(args.out, f"{name}-{kind}-{rep}.json")
    cmd = [benchlib.IDLE_MEMORY, "--server", kind, "-n", str(n), "--json", jpath]
    extra = list(args.ringchat_args)
    if kind == "ringchat" and n > 19000 and "--threads" not in extra:
        # Each shard holds at most the process's 20,000 descriptors as direct
        # descriptors: several shards (on the one pinned CPU) for more.
        extra += ["--threads", str(-(-n // 19000))]
    if kind == "ringchat" and extra:
        cmd += ["--"] + extra
    r = benchlib.idle_memory(cmd, jpath)
    if "failed" in r:
        return r
    return {"user_bytes_per_conn": r["user_bytes_per_conn"],
            "kernel_buffer_bytes_per_conn": r["kernel_buffer_bytes_per_conn"],
            "kernel_tcp_mem_bytes_per_conn": r["kernel_tcp_mem_bytes_per_conn"],
            "idle_cpu_pct": r["idle_cpu_pct"], "held": r["held"]}


def fmt(v, key):
    if v is None:
        return "n/a"
    if key.endswith("_us") or key == "cpu_us_per_msg":
        return f"{v:.2f} us" if key == "cpu_us_per_msg" else f"{v:.0f} us"
    if key.endswith("_per_conn"):
        return f"{v:.0f} B"
    return f"{v:,.0f}/s"


def table_rows(results, args):
    rows = [("scenario", "metric", "ringchat", "peer", "ratio rc/peer", "target", "ok",
             "gen CPU% rc/peer")]
    for name, per in results.items():
        if name in IDLE:
            metrics = [("user_bytes_per_conn", 1 / 14, "<="), ("kernel_buffer_bytes_per_conn", None, "")]
        else:
            _, key, target, direction = SCENARIOS[name]
            metrics = [(key, target, direction)]
            if key != "cpu_us_per_msg":
                metrics.append(("cpu_us_per_msg", None, ""))
            if key != "p99_us" and (name.startswith("fan") or name.startswith("rate")):
                metrics.append(("p99_us", None, ""))
        for key, target, direction in metrics:
            a, b = benchlib.median_of(per["ringchat"], key), benchlib.median_of(per["peer"], key)
            ratio = a / b if a is not None and b else None
            ok = ""
            if target is not None and ratio is not None:
                ok = "yes" if (ratio <= target if direction == "<=" else ratio >= target) else "NO"
            gen = "/".join(fmt(benchlib.median_of(per[s], "client_cpu_pct"), "pct").replace("/s", "%")
                           if benchlib.median_of(per[s], "client_cpu_pct") is not None else "-" for s in SERVERS)
            rows.append((name, key, fmt(a, key), fmt(b, key), f"{ratio:.3g}" if ratio else "n/a",
                         f"{direction} {target:.3g}" if target else "", ok, gen))
        for s in SERVERS:
            for r in per[s]:
                if "failed" in r:
                    rows.append((name, f"{s} run failed", r["failed"][:60], "", "", "", "", ""))
                elif r.get("order_errors"):
                    rows.append((name, f"{s} ORDER ERRORS", str(r["order_errors"]), "", "", "", "", ""))
    return rows


def method(args):
    return (f"medians of {args.reps} A/B-interleaved repetitions; server on CPU {args.server_cpu}, "
            f"ringload on CPU {args.client_cpus}; steady {args.steady} s after {args.ramp} s ramp; "
            f"cpu_us_per_msg = server CPU time / delivered messages; gen CPU% = ringload's busiest "
            f"worker (near 100% means the generator, not the server, was the limit)")


def print_table(results, args):
    benchlib.print_table(table_rows(results, args))
    print(f"\n{method(args)}")


LABELS = {"ringchat": "ringchat", "peer": "Node ws peer"}
# The per-scenario charts: (title, unit, [(metric, category label), ...]).
LOAD_CHARTS = [
    ("Latency percentiles (steady)", "us",
     [("p50_us", "p50"), ("p90_us", "p90"), ("p99_us", "p99"), ("p999_us", "p99.9"), ("max_us", "max")]),
    ("Delivered messages/s (steady)", "rate", [("delivered_per_s", "delivered/s")]),
    ("Server CPU per delivered message", "us", [("cpu_us_per_msg", "CPU/msg")]),
    ("Server RSS at the end of the run", "bytes", [("server_rss_bytes", "RSS")]),
]
IDLE_CHARTS = [
    ("Memory per idle connection", "bytes",
     [("user_bytes_per_conn", "user space"), ("kernel_buffer_bytes_per_conn", "kernel buffers"),
      ("kernel_tcp_mem_bytes_per_conn", "kernel TCP memory")]),
]


def bars(title, unit, categories, per, metrics):
    """A grouped-bars chart: one group per category, one bar per server (medians)."""
    series = [{"label": LABELS[s], "values": [benchlib.median_of(per[s], m) for m in metrics]}
              for s in SERVERS]
    return ("bars", {"title": title, "unit": unit, "categories": categories, "series": series})


def write_html(results, args):
    """OUT/report.html: an overview across scenarios, then each scenario's charts."""
    loads = [n for n in results if n not in IDLE]
    blocks = [("p", method(args))]
    if loads:
        blocks.append(("h2", "Overview (ringload scenarios)"))
        overview = []
        for title, unit, metric in (("Delivered messages/s (steady)", "rate", "delivered_per_s"),
                                    ("p99 latency (steady)", "us", "p99_us"),
                                    ("Server CPU per delivered message", "us", "cpu_us_per_msg"),
                                    ("Server RSS at the end of the run", "bytes", "server_rss_bytes")):
            series = [{"label": LABELS[s], "values": [benchlib.median_of(results[n][s], metric)
                                                      for n in loads]} for s in SERVERS]
            overview.append(("bars", {"title": title, "unit": unit, "categories": loads, "series": series,
                                      "height": 280}))
        blocks.append(("wide_charts", overview))
    blocks += [("h2", "Table"), ("table", table_rows(results, args))]
    for name, per in results.items():
        blocks.append(("h2", name))
        if name in IDLE:
            blocks.append(("p", f"{IDLE[name]:,} idle connections (bench/idle_memory.sh)"))
            charts = IDLE_CHARTS
        else:
            blocks.append(("p", "ringload " + " ".join(SCENARIOS[name][0])))
            charts = LOAD_CHARTS
        blocks.append(("charts", [bars(t, u, [c for _, c in ms], per, [m for m, _ in ms])
                                  for t, u, ms in charts]))
    blocks.append(("json", {"args": {k: v for k, v in vars(args).items() if k != "retable"},
                            "results": results}))
    return benchlib.html_report(os.path.join(args.out, "report.html"),
                                "ringchat vs the Node ws peer, side by side", blocks)


def servers_of(name):
    return SERVERS


def parse_args():
    def before_only(p):
        p.add_argument("--ramp", type=float, default=1.0, help="connection ramp seconds per run")
        p.add_argument("--rate", type=float, default=20.0, help="rate-* scenarios: msgs/s per sender")

    def at_end(p):
        p.add_argument("--retable", nargs="+", metavar="RESULTS_JSON",
                       help="print the table from earlier runs' results.json files (merged), run nothing")

    return benchlib.parse_args(
        "ringchat vs the Node ws peer, side by side", "side_by_side",
        "comma-separated scenario names or prefixes (default all)", before_only=before_only,
        after_only=lambda p: p.add_argument("--skip-idle", action="store_true",
                                            help="leave out the idle-memory scenarios"),
        at_end=at_end)


def main():
    args = parse_args()
    if args.retable:
        results = {}
        for path in args.retable:
            with open(path) as f:
                saved = json.load(f)
            results.update(saved["results"])
            args.reps, args.steady, args.ramp = (saved["args"][k] for k in ("reps", "steady", "ramp"))
        print_table(results, args)
        os.makedirs(args.out, exist_ok=True)
        print(f"HTML report: {write_html(results, args)}")
        return 0
    results = benchlib.empty_results(args, list(SCENARIOS) + ([] if args.skip_idle else list(IDLE)),
                                     servers_of, record_variants=False)

    def run_one(name, kind, rep):
        if name in IDLE:
            return run_idle(kind, name, IDLE[name], args, rep)
        return run_ringload(kind, name, SCENARIOS[name][0], args, rep)

    benchlib.interleaved(results, servers_of, args.reps, run_one)
    rc = benchlib.finish(args, results, servers_of, print_table, "order_errors")
    print(f"HTML report: {write_html(results, args)}")
    return rc


if __name__ == "__main__":
    sys.exit(main())
