"""ringchat over TLS against plain, under tools/ringload --tls.

Run through bench/tls.sh. The method is bench/benchlib.py's: every run gets a fresh
ringchat (--threads 1, TLS on, an EC P-256 certificate made with openssl
req) pinned to CPU 0 and ringload pinned to CPU 1; the two variants of a
scenario alternate order every repetition (A/B interleaved) and the table
shows medians and their ratio. Server CPU comes from ringload's steady phase
(--server-pid). Both variants talk to the same server configuration: ws to
its plain port, wss to its TLS port.

ringload does the client's half of TLS on its one core (it decrypts every
delivery the server encrypts), so at full load the generator may saturate
before the server: the table says so ("generator-bound"), and then the
throughput ratio is the pair's, not the server's. Server CPU per delivery
holds either way.

Scenarios (one line each):
  echo-1k        one client per room (100 clients), each sends 1 KiB and waits for its echo:
                 ws vs wss, server CPU per delivery and deliveries/s (target wss/ws >= 0.7)
  echo-64        the same with 64 B messages
  fanout-1k      fan-out rounds, one room of 100 members, every member sends 1 KiB: the same
  fanout-64      the same with 64 B messages
  hs13           handshake mode (connect, TLS 1.3 handshake, close; 8 at a time): full vs
                 resumed (--tls-resume) handshakes, handshakes per server CPU-second and server
                 CPU per handshake; tcp: the same cycle without TLS, for scale
  hs12           the same in TLS 1.2 (whose resumption skips the key exchange too)
  idle           server memory per idle connection, ws vs wss (bench/idle_memory.sh [--tls])
"""
import os
import subprocess
import sys
import tempfile

import benchlib
from benchlib import RINGCHAT, RINGLOAD


def echo(size):
    return ["--mode", "echo", "-c", "100", "--size", str(size)]


def fanout(size):
    return ["--mode", "fanout", "-c", "100", "--rooms", "1", "--size", str(size)]


HS = ["--mode", "handshake", "-c", "8"]
# name -> (variants, ringload args, metric)
SCENARIOS = {
    "echo-1k": (("ws", "wss"), echo(1024), "delivered_per_s"),
    "echo-64": (("ws", "wss"), echo(64), "delivered_per_s"),
    "fanout-1k": (("ws", "wss"), fanout(1024), "delivered_per_s"),
    "fanout-64": (("ws", "wss"), fanout(64), "delivered_per_s"),
    "hs13": (("full", "resumed", "tcp"), HS + ["--tls-version", "1.3"], "handshakes_per_cpu_s"),
    "hs12": (("full", "resumed"), HS + ["--tls-version", "1.2"], "handshakes_per_cpu_s"),
}
IDLE = ("ws", "wss")


def make_cert(tmp):
    cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                   check=True, capture_output=True, timeout=30)
    return cert, key


def start_server(port, tls_port, args, log_path):
    cmd = [RINGCHAT, "--threads", "1", "--port", str(port), "--bind", "127.0.0.1", "--pub-rate", "0",
           "--tls-port", str(tls_port), "--tls-cert", args.cert, "--tls-key", args.key] + args.ringchat_args
    return benchlib.pinned_server("ringchat", cmd, args.server_cpu, port, log_path)


def summarize(report):
    def handshakes(steady, cpu):
        hs = steady.get("handshakes", {})
        cycles = hs.get("cycles", 0)
        return {
            "handshakes_per_s": hs.get("per_s"),
            "handshakes_per_cpu_s": cycles / cpu if cycles and cpu > 0 else None,
            "cpu_us_per_handshake": cpu * 1e6 / cycles if cycles else None,
            "full": hs.get("full"), "resumed": hs.get("resumed"),
            "server_cpu_pct": 100.0 * cpu / steady["duration_s"] if steady.get("duration_s") else None,
        }
    out = benchlib.steady_summary(report, handshakes)
    out["tls"] = report.get("tls", {})
    return out


def run_load(variant, name, rargs, args, rep):
    port, tls_port = benchlib.free_port(), benchlib.free_port()
    tag = f"{name}-{variant}-{rep}"
    jpath = os.path.join(args.out, f"{tag}.json")
    with start_server(port, tls_port, args, os.path.join(args.out, f"{tag}.server.log")) as proc:
        plain = variant in ("ws", "tcp")
        url = f"ws://127.0.0.1:{port}/ws/" if plain else f"wss://localhost:{tls_port}/ws/"
        if plain:  # TLS-only flags do not apply
            rargs = [a for i, a in enumerate(rargs) if a != "--tls-version" and
                     (i == 0 or rargs[i - 1] != "--tls-version")]
        cmd = ["taskset", "-c", args.client_cpus, RINGLOAD, "--url", url, "--cpus", args.client_cpus,
               "--steady", str(args.steady), "--drain", "1", "--progress", "never",
               "--seed", str(rep + 1), "--room-prefix", f"tls{rep}", "--server-pid", str(proc.pid),
               "--json", jpath] + rargs
        if not plain:
            cmd += ["--tls", "--tls-ca", args.cert]
        if variant == "resumed":
            cmd += ["--tls-resume"]
        res, busy, wall = benchlib.run_busy(cmd, timeout=args.steady + 90)
    return benchlib.load_result(cmd, res, busy, wall, jpath, os.path.join(args.out, f"{tag}.ringload.txt"),
                                summarize)


def run_idle(variant, args, rep):
    jpath = os.path.join(args.out, f"idle-{variant}-{rep}.json")
    cmd = [benchlib.IDLE_MEMORY, "--server", "ringchat", "-n", str(args.idle_n),
           "--rooms", "100", "--json", jpath]
    if variant == "wss":
        cmd.append("--tls")
    cmd += ["--", "--threads", "1"] + args.ringchat_args
    r = benchlib.idle_memory(cmd, jpath, transcript=os.path.join(args.out, f"idle-{variant}-{rep}.txt"))
    if "failed" in r:
        return r
    return {"bytes_per_conn": r["user_bytes_per_conn"], "pss_bytes_per_conn": r["pss_anon_bytes_per_conn"],
            "held": r["held"]}


def fmt(v, key):
    if v is None:
        return "n/a"
    if key.startswith("cpu_us"):
        return f"{v:.2f} us"
    if key.endswith("bytes_per_conn"):
        return f"{v:,.0f} B"
    if key == "p99_us":
        return f"{v:,.0f} us"
    if key.endswith("_pct"):
        return f"{v:.0f}%"
    return f"{v:,.0f}"


def rows_for(name, per):
    vs = per["variants"]
    if name == "idle":
        return [("bytes_per_conn", "wss-ws", None), ("pss_bytes_per_conn", "", None)]
    if name.startswith("hs"):
        return [("handshakes_per_cpu_s", "", None), ("cpu_us_per_handshake", "", None),
                ("handshakes_per_s", "", None), ("server_cpu_pct", "", None), ("gen_busy_pct", "", None),
                ("p99_us", "", None)]
    target = 0.7 if name == "echo-1k" else None
    return [("delivered_per_s", "wss/ws", target), ("cpu_us_per_delivered", "wss/ws", None),
            ("server_cpu_pct", "", None), ("gen_busy_pct", "", None), ("p99_us", "", None)]


def table(results, args):
    rows = [("scenario", "metric") + tuple(["A", "B", "C"]) + ("ratio", "target", "ok")]
    for name, per in results.items():
        vs = per["variants"]
        for key, how, target in rows_for(name, per):
            meds = [benchlib.median_of(per[v], key) for v in vs]
            cells = [f"{v} {fmt(m, key)}" for v, m in zip(vs, meds)] + [""] * (3 - len(vs))
            ratio, tgt, ok = "", "", ""
            if how == "wss/ws" and meds[0] and meds[1]:
                r = meds[1] / meds[0]
                ratio = f"wss/ws = {r:.3g}"
                if target:
                    tgt, ok = f">= {target}", "yes" if r >= target else "NO"
            elif how == "wss-ws" and meds[0] is not None and meds[1] is not None:
                ratio = f"wss-ws = {meds[1] - meds[0]:,.0f} B"
            if key == "handshakes_per_cpu_s" and meds[0] and meds[1]:
                ratio = f"resumed/full = {meds[1] / meds[0]:.3g}"
            if key in ("delivered_per_s", "handshakes_per_s"):
                busy = [benchlib.median_of(per[v], "gen_busy_pct") or 0 for v in vs]
                if max(busy) > 90:
                    ok += " (generator-bound)"
            rows.append((name, key, *cells, ratio, tgt, ok))
        rows += benchlib.problem_rows(name, per, vs, len(rows[0]))
    benchlib.print_table(rows)
    tls = next((r["tls"] for per in results.values() for v in per["variants"] for r in per[v]
                if r.get("tls")), {})
    print(f"\nmedians of {args.reps} A/B-interleaved repetitions, {args.steady} s steady each; ringchat "
          f"--threads 1 on CPU {args.server_cpu}, ringload on CPU {args.client_cpus}; TLS "
          f"{tls.get('version', '?')} {tls.get('cipher', '?')}, EC P-256 certificate verified by ringload; "
          f"server CPU of the steady phase; server_cpu = its share of its one core; gen_busy = ringload's "
          f"busiest worker. Generator-bound: ringload's CPU was full, so throughput is the pair's limit")


def variants_of(name):
    return SCENARIOS[name][0] if name in SCENARIOS else IDLE


def main():
    args = benchlib.parse_args(
        "ringchat over TLS vs plain (ws vs wss, handshakes, idle memory)", "tls",
        "comma-separated scenario names or prefixes (echo, fanout, hs, idle)",
        after_only=lambda p: p.add_argument("--idle-n", type=int, default=10000, help="idle: connections held"))
    results = benchlib.empty_results(args, list(SCENARIOS) + ["idle"], variants_of)

    def run_one(name, v, rep):
        if name == "idle":
            return run_idle(v, args, rep)
        return run_load(v, name, SCENARIOS[name][1], args, rep)

    with tempfile.TemporaryDirectory(prefix="tls-bench-") as tmp:
        args.cert, args.key = make_cert(tmp)
        # 1 s between runs lets the closed connections drain.
        benchlib.interleaved(results, variants_of, args.reps, run_one, pause_s=1)
    return benchlib.finish(args, results, variants_of, table, "failures", leave_out=("cert", "key"))


if __name__ == "__main__":
    sys.exit(main())
