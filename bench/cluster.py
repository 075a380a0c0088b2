"""Cluster mode over Redis: one node vs two nodes, and Socket.IO beside it.

Run through bench/cluster.sh. It starts its own redis-server (Debian's, a
free loopback port, its own dir and config, `save ""`, `appendonly no`)
pinned to the server CPU, then per repetition and scenario runs three
variants, A/B interleaved (the order reverses every repetition):

  single    one ringchat (--threads 1), no --redis: in-memory history
  cluster   two ringchat nodes (--threads 1 --redis URL, two ports); the
            room spans both: ringload --ports spreads its members and its
            senders over the two nodes (each member's rank in the room,
            round-robin)
  socketio  two Node processes of bench/peers/socketio (Socket.IO 4 with
            @socket.io/redis-adapter) on the same Redis, the same rooms and
            load through ringload --protocol socketio --ports

Everything server-side (ringchat nodes, Node processes, redis-server) is
pinned to --server-cpu (CPU 0), ringload to --client-cpus (CPU 1). In the
fan-out rounds the nodes of a variant (one ringchat, two ringchat nodes, or
two Node processes) share a CPU budget of --nodes-cpu (0.5 CPU: a cgroup's
CFS quota, benchlib.CpuBudget), so that the nodes run out of CPU before
ringload does and deliveries/s is the nodes' capacity on that budget, not
the generator's limit (on two cores ringload has one CPU; a node with a
whole CPU outran it). redis-server is outside the budget, on the same CPU:
it is another server, and its CPU is reported apart. The open-loop rate
scenario runs without a budget (its latency is what it measures). Redis is
flushed and its commandstats reset before every run.

Per run: deliveries/s and publish-to-deliver p50/p99 of ringload's steady
phase; CPU of the nodes and of redis-server from /proc/PID/stat over the
whole ringload run, per delivered message; Redis round trips: calls of
EVALSHA (ringchat's publish script; Socket.IO: PUBLISH) per message sent,
and the other commands' calls, from INFO commandstats.

Scenarios:
  fan-1x100-s10    fan-out rounds, one room of 100 members, 10 senders (on both nodes)
  fan-1x100-all    fan-out rounds, one room of 100 members, every member sends
  fan-10x100-s10   fan-out rounds, 10 rooms of 100 members, 10 senders each
  fan-1x1000-s10   fan-out rounds, one room of 1000 members, 10 senders
  fan-1x1000-s1    the same with one sender: one message per round, nothing for a node
                   to batch (against fan-1x1000-s10: what batching is worth)
  rate-1x100-r20   open loop, one room of 100, 10 senders at 20 msgs/s each (20k
                   deliveries/s): publish-to-deliver latency at a load every variant carries
  order            bench/order_probe.py: publishers on both nodes race bursts; does
                   every member see one order? (cluster and socketio; once, after the reps)

Targets (issue 12): cluster/single deliveries/s >= 0.5 for rooms of 100+
members; Redis adds <= 0.5 ms to p50 (cluster p50 - single p50, rate
scenario); ringchat cluster >= 10x Socket.IO's deliveries/s; one order in
ringchat (Socket.IO's is reported as it is).
"""
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
import json

import benchlib
from benchlib import HZ, RINGCHAT, RINGLOAD, ROOT, cpu_ticks, log

SOCKETIO = os.path.join(ROOT, "bench", "peers", "socketio", "server.js")
PROBE = os.path.join(ROOT, "bench", "order_probe.py")
VARIANTS = ("single", "cluster", "socketio")
FAN = ["--mode", "fanout", "--size", "32"]
SCENARIOS = {
    "fan-1x100-s10": FAN + ["-c", "100", "--rooms", "1", "--senders", "10"],
    "fan-1x100-all": FAN + ["-c", "100", "--rooms", "1"],
    "fan-10x100-s10": FAN + ["-c", "1000", "--rooms", "10", "--senders", "10"],
    "fan-1x1000-s10": FAN + ["-c", "1000", "--rooms", "1", "--senders", "10"],
    "fan-1x1000-s1": FAN + ["-c", "1000", "--rooms", "1", "--senders", "1"],
    "rate-1x100-r20": ["--mode", "rate", "--think", "exp", "--size", "32", "-c", "100", "--rooms", "1",
                       "--senders", "10", "--rate", "20"],
}


class Redis:
    """A redis-server of our own: free loopback port, own dir and config, no persistence."""

    def __init__(self, binary, cpu, tmp):
        self.port = benchlib.free_port()
        self.dir = os.path.join(tmp, "redis")
        os.makedirs(self.dir)
        conf = os.path.join(self.dir, "redis.conf")
        with open(conf, "w") as f:
            f.write(f"port {self.port}\nbind 127.0.0.1\ndir {self.dir}\nsave \"\"\nappendonly no\n"
                    "daemonize no\nlogfile redis.log\n")
        self.proc = subprocess.Popen(["taskset", "-c", cpu, binary, conf])
        end = time.monotonic() + 10
        while time.monotonic() < end:
            if self.cli("PING") == "PONG":
                return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError("redis-server did not start")

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}"

    def cli(self, *args):
        try:
            res = subprocess.run(["redis-cli", "-p", str(self.port)] + list(args), capture_output=True,
                                 text=True, timeout=10)
        except subprocess.TimeoutExpired:
            return ""
        return res.stdout.strip()

    def commandstats(self):
        """{command: calls} from INFO commandstats."""
        out = {}
        for line in self.cli("INFO", "commandstats").splitlines():
            if line.startswith("cmdstat_"):
                name, rest = line[len("cmdstat_"):].split(":", 1)
                fields = dict(kv.split("=", 1) for kv in rest.split(","))
                out[name] = int(fields.get("calls", 0))
        return out

    def stop(self):
        benchlib.stop(self.proc)


def node_cmd(variant, port, redis, args):
    if variant == "socketio":
        return ["node", SOCKETIO, "--port", str(port), "--bind", "127.0.0.1", "--redis", redis.url]
    cmd = [RINGCHAT, "--port", str(port), "--bind", "127.0.0.1", "--threads", "1", "--pub-rate", "0",
           "--log-level", "warn"]
    if variant == "cluster":
        cmd += ["--redis", redis.url]
    return cmd + args.ringchat_args


class Nodes:
    """The variant's server processes, pinned (and in budget, a CpuBudget, if
    given); stopped on exit."""

    def __init__(self, variant, redis, args, out, tag, budget=None):
        self.procs, self.ports, self.logs = [], [], []
        count = 1 if variant == "single" else 2
        try:
            for k in range(count):
                port = benchlib.free_port()
                logf = open(os.path.join(out, f"{tag}.node{k}.log"), "wb")
                self.logs.append(logf)
                self.procs.append(benchlib.start_pinned(variant, node_cmd(variant, port, redis, args),
                                                        args.server_cpu, port, logf))
                if budget:
                    budget.add(self.procs[-1].pid)
                self.ports.append(port)
        except BaseException:
            self.stop()
            raise

    def cpu_ticks(self):
        return sum(cpu_ticks(p.pid) for p in self.procs)

    def stop(self):
        for p in self.procs:
            benchlib.stop(p)
        for f in self.logs:
            f.close()


def round_trips(calls, sent):
    """Redis round trips per message sent, from INFO commandstats (which also
    counts the commands a script runs). ringchat: a publish is one EVALSHA
    of the publish script, which runs one XADD, so XADDs count them (the
    other EVALSHAs are the presence script, a join or leave each, and the
    sync script); Socket.IO: its PUBLISHes."""
    if not sent:
        return {"round_trips_per_sent": None, "scripts_per_sent": None}
    if "evalsha" in calls:
        return {"round_trips_per_sent": calls.get("xadd", 0) / sent,
                "scripts_per_sent": calls["evalsha"] / sent}
    return {"round_trips_per_sent": calls.get("publish", 0) / sent, "scripts_per_sent": None}


def summarize(report, nodes_s, redis_s, calls, wall):
    steady = benchlib.phase_of(report, "steady") or {}
    totals = report.get("totals", {})
    lat = steady.get("latency_us", {})
    delivered, sent = totals.get("delivered", 0), totals.get("sent", 0)
    order, seq, verdict = report.get("order", {}), report.get("seq", {}), report.get("verdict", {})
    return {
        "delivered_per_s": steady.get("msgs_per_s_delivered", 0.0),
        "sent_per_s": steady.get("msgs_per_s_sent", 0.0),
        "p50_us": lat.get("p50"), "p99_us": lat.get("p99"), "p999_us": lat.get("p999"),
        "sent": sent, "delivered": delivered,
        "nodes_cpu_s": nodes_s, "redis_cpu_s": redis_s,
        "nodes_cpu_pct": 100.0 * nodes_s / wall if wall > 0 else None,
        "redis_cpu_pct": 100.0 * redis_s / wall if wall > 0 else None,
        "cpu_us_per_delivered": nodes_s * 1e6 / delivered if delivered else None,
        "redis_us_per_delivered": redis_s * 1e6 / delivered if delivered else None,
        "redis_us_per_sent": redis_s * 1e6 / sent if sent else None,
        "deliveries_per_cpu_s": delivered / (nodes_s + redis_s) if nodes_s + redis_s > 0 else None,
        **round_trips(calls, sent),
        "redis_calls": calls,
        "gen_busy_pct": 100.0 * steady.get("max_worker_busy", 0.0),
        "errors": sum(steady.get("errors", {}).values()),
        "order_errors": order.get("gaps", 0) + order.get("duplicates", 0) + order.get("reorders", 0),
        "seq_gaps": seq.get("gaps", 0), "seq_duplicates": seq.get("duplicates", 0),
        "verdict_ok": verdict.get("ok", False),
        "failures": verdict.get("failures", []),
    }


def run_load(variant, name, args, rep, redis):
    tag = f"{name}-{variant}-{rep}"
    jpath = os.path.join(args.out, f"{tag}.json")
    redis.cli("FLUSHALL")
    redis.cli("CONFIG", "RESETSTAT")
    budgeted = name.startswith("fan") and args.nodes_cpu > 0
    with benchlib.CpuBudget(args.nodes_cpu) if budgeted else contextlib.nullcontext() as budget:
        out = run_nodes(variant, name, args, rep, redis, tag, jpath, budget)
    if "failed" not in out:
        out["nodes_budget_cpus"] = args.nodes_cpu if budgeted else None
    return out


def run_nodes(variant, name, args, rep, redis, tag, jpath, budget):
    nodes = Nodes(variant, redis, args, args.out, tag, budget)
    try:
        ports = nodes.ports
        if variant == "socketio":
            url = f"ws://127.0.0.1:{ports[0]}/socket.io/"
            proto = ["--protocol", "socketio"]
        else:
            url = f"ws://127.0.0.1:{ports[0]}/ws/"
            proto = []
        cmd = ["taskset", "-c", args.client_cpus, RINGLOAD, "--url", url, "--cpus", args.client_cpus,
               "--ramp", str(args.ramp), "--steady", str(args.steady), "--drain", "2", "--settle", "1",
               "--progress", "never", "--seed", str(rep + 1), "--room-prefix", f"cb{rep}-{variant}",
               "--json", jpath] + proto + SCENARIOS[name]
        if len(ports) > 1:
            cmd += ["--ports", ",".join(map(str, ports))]
        n0, r0 = nodes.cpu_ticks(), cpu_ticks(redis.proc.pid)
        res, busy, wall = benchlib.run_busy(cmd, timeout=args.ramp + args.steady + 120)
        nodes_s = (nodes.cpu_ticks() - n0) / HZ
        redis_s = (cpu_ticks(redis.proc.pid) - r0) / HZ
        calls = redis.commandstats() if variant != "single" else {}
        throttled = budget.throttled_share() if budget else None
    finally:
        nodes.stop()
    benchlib.save_transcript(os.path.join(args.out, f"{tag}.ringload.txt"), cmd, res)
    if not os.path.exists(jpath):
        return {"failed": f"ringload exited {res.returncode}: {res.stderr.strip()[-200:]}"}
    with open(jpath) as f:
        report = json.load(f)
    out = summarize(report, nodes_s, redis_s, calls, wall)
    out["ringload_rc"] = res.returncode
    out["throttled_pct"] = 100.0 * throttled if throttled is not None else None
    ours = nodes_s + redis_s + report.get("client_cpu_s", 0)
    out["other_cpu_pct"] = 100.0 * max(busy - ours, 0) / wall if wall > 0 else 0
    return out


def run_order(variant, args, redis):
    """order_probe.py against the variant's two nodes; its JSON or {"failed": ...}."""
    tag = f"order-{variant}"
    redis.cli("FLUSHALL")
    nodes = Nodes(variant, redis, args, args.out, tag)
    try:
        jpath = os.path.join(args.out, f"{tag}.json")
        cmd = ["taskset", "-c", args.client_cpus, "/usr/bin/python3", PROBE, "--kind",
               "socketio" if variant == "socketio" else "ringchat", "--ports",
               ",".join(map(str, nodes.ports)), "--room", f"order-{int(time.time())}", "--json", jpath]
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    finally:
        nodes.stop()
    benchlib.save_transcript(os.path.join(args.out, f"{tag}.txt"), cmd, res)
    if res.returncode != 0 or not os.path.exists(jpath):
        return {"failed": f"order_probe exited {res.returncode}: {res.stderr.strip()[-200:]}"}
    with open(jpath) as f:
        return json.load(f)


# ---- the table -----------------------------------------------------------------

def med(per, v, key):
    return benchlib.median_of(per.get(v, []), key)


def fmt(v, unit=""):
    if v is None:
        return "n/a"
    if unit == "us":
        return f"{v:,.0f} us"
    if unit == "us2":
        return f"{v:.2f} us"
    if unit == "pct":
        return f"{v:.0f}%"
    if unit == "x":
        return f"{v:.3g}"
    return f"{v:,.0f}"


def table_rows(results, args):
    rows = [("scenario", "metric", "single", "cluster (2 nodes)", "socketio (2 procs)", "ratio", "target",
             "ok")]
    for name, per in results.items():
        if name == "order":
            cells, detail = {}, ""
            for v in ("cluster", "socketio"):
                r = (per.get(v) or [{}])[0]
                if not r or "failed" in r:
                    cells[v] = "probe failed: " + r.get("failed", "not run")[:50]
                    continue
                ps = r["per_sender"]
                cells[v] = (f"{'yes' if r['one_order'] else 'NO'}: {r['members_differing']} of "
                            f"{r['members'] - 1} members differ, {r['inversions_total']:,} inverted pairs")
                detail = (f"{r['members']} members, {r['publishers']} publishers on 2 nodes, {r['sent']} msgs")
                cells[v] += (f"; per sender {ps['reorders']} reorders, {ps['missing']} missing, "
                             f"{ps['duplicates']} dups")
            c = (per.get("cluster") or [{}])[0]
            rows.append((name, "one order", detail, cells.get("cluster", ""), cells.get("socketio", ""), "",
                         "ringchat: one order", "yes" if c.get("one_order") else "NO"))
            continue
        metrics = [("delivered_per_s", ""), ("p50_us", "us"), ("p99_us", "us"),
                   ("cpu_us_per_delivered", "us2"), ("redis_us_per_delivered", "us2"),
                   ("deliveries_per_cpu_s", ""), ("round_trips_per_sent", "x"), ("scripts_per_sent", "x"),
                   ("nodes_cpu_pct", "pct"),
                   ("redis_cpu_pct", "pct"), ("gen_busy_pct", "pct"), ("throttled_pct", "pct")]
        for key, unit in metrics:
            s, c, o = (med(per, v, key) for v in VARIANTS)
            ratio = target = ok = ""
            if key == "delivered_per_s" and s and c:
                r = c / s
                ratio = f"cluster/single {r:.3g}"
                if o:
                    ratio += f"; cluster/socketio {c / o:.3g}"
                target = ">= 0.5; >= 10"
                ok = ("yes" if r >= 0.5 else "NO") + "; " + (("yes" if c / o >= 10 else "NO") if o else "n/a")
            elif key == "p50_us" and s is not None and c is not None:
                d = c - s
                ratio = f"cluster - single {d / 1000:+.3f} ms"
                if name.startswith("rate"):
                    target, ok = "<= +0.5 ms", "yes" if d <= 500 else "NO"
            elif key == "deliveries_per_cpu_s" and s and c:
                ratio = f"cluster/single {c / s:.3g}" + (f"; cluster/socketio {c / o:.3g}" if o else "")
            rows.append((name, key, fmt(s, unit), fmt(c, unit), fmt(o, unit), ratio, target, ok))
        busy = [med(per, v, "gen_busy_pct") or 0 for v in VARIANTS]
        if max(busy) > 90:
            rows.append((name, "generator-bound", "ringload's worker > 90% busy: its figures are "
                         "ringload's limit, not the server's", "", "", "", "", ""))
        rows += [r for r in benchlib.problem_rows(name, per, VARIANTS, len(rows[0]))
                 if not r[1].endswith("DISTURBED")]
        for v in VARIANTS:  # one row per variant for disturbed runs
            other = [r.get("other_cpu_pct", 0) for r in per.get(v, []) if "failed" not in r]
            hit = [o for o in other if o > 20]
            if hit:
                rows.append((name, f"{v} DISTURBED", f"{len(hit)} of {len(other)} runs: other work used "
                             f"{min(hit):.0f}-{max(hit):.0f}% of a CPU", "", "", "", "", ""))
        for v in VARIANTS:
            for r in per.get(v, []):
                if "failed" not in r and (r.get("order_errors") or r.get("seq_gaps") or r.get("seq_duplicates")):
                    rows.append((name, f"{v} ORDER ERRORS", f"payload {r['order_errors']} seq gaps "
                                 f"{r['seq_gaps']} dups {r['seq_duplicates']}", "", "", "", "", ""))
    return rows


def method(args):
    return (f"medians of {args.reps} A/B-interleaved repetitions (order reversed every other one), "
            f"{args.ramp} s ramp + {args.steady} s steady each; every server process (ringchat nodes, "
            f"Node processes, redis-server) on CPU {args.server_cpu}, ringload on CPU {args.client_cpus}; "
            f"{budget_text(args)}"
            f"deliveries/s and p50/p99 from ringload's steady phase; CPU per delivery from /proc over the "
            f"whole run (nodes; redis-server apart); round_trips_per_sent = publish round trips per message "
            f"sent (ringchat: EVALSHAs of the publish script, counted by the XADD each runs; Socket.IO: "
            f"PUBLISH), scripts_per_sent = every EVALSHA (publish, presence: a join or leave each, sync), "
            f"from INFO commandstats; gen_busy = ringload's busiest worker")


def budget_text(args):
    if not args.nodes_cpu:
        return "no CPU budget; "
    return (f"in the fan-out rounds the nodes of a variant share a budget of {args.nodes_cpu:g} CPU "
            f"(cgroup CFS quota; redis-server outside it; throttled = share of 10 ms periods the budget "
            f"ran out in: the nodes were CPU-bound); ")


def print_table(results, args):
    benchlib.print_table(table_rows(results, args))
    print(f"\n{method(args)}")


def write_html(results, args):
    loads = [n for n in results if n != "order"]
    labels = {"single": "ringchat, one node", "cluster": "ringchat, two nodes + Redis",
              "socketio": "Socket.IO, two processes + Redis"}
    blocks = [("p", method(args))]
    charts = []
    for title, unit, metric in (("Delivered messages/s (steady)", "rate", "delivered_per_s"),
                                ("p50 latency (steady)", "us", "p50_us"),
                                ("p99 latency (steady)", "us", "p99_us"),
                                ("Node CPU per delivered message", "us", "cpu_us_per_delivered")):
        series = [{"label": labels[v], "values": [med(results[n], v, metric) for n in loads]}
                  for v in VARIANTS]
        charts.append(("bars", {"title": title, "unit": unit, "categories": loads, "series": series}))
    if loads:
        blocks += [("h2", "Overview"), ("charts", charts)]
    blocks += [("h2", "Table"), ("table", table_rows(results, args)),
               ("json", {"args": {k: v for k, v in vars(args).items() if k != "retable"},
                         "results": results})]
    return benchlib.html_report(os.path.join(args.out, "report.html"),
                                "ringchat cluster mode over Redis, and Socket.IO", blocks)


def variants_of(name):
    return VARIANTS


def main():
    def before_only(p):
        p.add_argument("--ramp", type=float, default=1.0, help="connection ramp seconds per run")
        p.add_argument("--nodes-cpu", type=float, default=0.5,
                       help="fan-out rounds: the CPU budget a variant's nodes share (cgroup quota), "
                            "so that they, not ringload, run out of CPU; 0: none")

    def after_only(p):
        p.add_argument("--skip-order", action="store_true", help="leave out the order probe")
        p.add_argument("--redis-server", default=shutil.which("redis-server") or "/usr/bin/redis-server")

    def at_end(p):
        p.add_argument("--retable", metavar="RESULTS_JSON",
                       help="print the table and write report.html from an earlier run's results.json")

    args = benchlib.parse_args("ringchat cluster mode vs one node, and Socket.IO with its Redis adapter",
                               "cluster", "comma-separated scenario names or prefixes (fan, rate)",
                               before_only=before_only, after_only=after_only, at_end=at_end)
    if args.retable:
        with open(args.retable) as f:
            saved = json.load(f)
        results = saved["results"]
        for name, per in results.items():  # derived again: older runs counted them otherwise
            for runs in per.values() if name != "order" else ():
                for r in runs if isinstance(runs, list) else ():
                    if "redis_calls" in r:
                        r.update(round_trips(r["redis_calls"], r.get("sent", 0)))
        for k in ("reps", "steady", "ramp", "server_cpu", "client_cpus", "nodes_cpu"):
            setattr(args, k, saved["args"].get(k, 0))
        os.makedirs(args.out, exist_ok=True)
        print_table(results, args)
        print(f"HTML report: {write_html(results, args)}")
        return 0
    results = benchlib.empty_results(args, list(SCENARIOS), variants_of)
    with tempfile.TemporaryDirectory(prefix="cluster-bench-") as tmp:
        redis = Redis(args.redis_server, args.server_cpu, tmp)
        try:
            benchlib.interleaved(results, variants_of, args.reps,
                                 lambda name, v, rep: run_load(v, name, args, rep, redis), pause_s=1)
            if not args.skip_order:
                results["order"] = {"variants": ("cluster", "socketio")}
                for v in ("cluster", "socketio"):
                    log(f"order probe {v}")
                    try:
                        results["order"][v] = [run_order(v, args, redis)]
                    except benchlib.RUN_ERRORS as e:
                        results["order"][v] = [{"failed": f"{type(e).__name__}: {e}"}]
        finally:
            redis.stop()
    path = benchlib.write_results(args, results, leave_out=("retable",))
    print_table(results, args)
    print(f"raw results: {path}")
    print(f"HTML report: {write_html(results, args)}")
    bad = any(r.get("failures") or r.get("failed") for n, per in results.items() if n != "order"
              for v in VARIANTS for r in per[v])
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
