"""ringchat over TLS against plain, under tools/ringload --tls.

Run through bench/tls.sh. Like bench/transports.py: every run gets a fresh
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


def cpu_busy_s():
    """Seconds of CPU time tasks have used on every CPU since boot (/proc/stat)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return (v[0] + v[1] + v[2] + v[7]) / os.sysconf("SC_CLK_TCK")


def make_cert(tmp):
    cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                   check=True, capture_output=True, timeout=30)
    return cert, key


def start_server(port, tls_port, args, logf):
    cmd = [RINGCHAT, "--threads", "1", "--port", str(port), "--bind", "127.0.0.1", "--pub-rate", "0",
           "--tls-port", str(tls_port), "--tls-cert", args.cert, "--tls-key", args.key] + args.ringchat_args
    proc = subprocess.Popen(["taskset", "-c", args.server_cpu] + cmd, stdout=logf, stderr=subprocess.STDOUT)
    if not wait_healthy(proc, port):
        stop(proc)
        raise RuntimeError(f"ringchat did not answer /healthz: {shlex.join(cmd)}")
    return proc


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
    hs = steady.get("handshakes", {})
    cycles = hs.get("cycles", 0)
    verdict = report.get("verdict", {})
    return {
        "delivered_per_s": steady.get("msgs_per_s_delivered", 0.0),
        "cpu_us_per_delivered": cpu * 1e6 / delivered if delivered else None,
        "handshakes_per_s": hs.get("per_s"),
        "handshakes_per_cpu_s": cycles / cpu if cycles and cpu > 0 else None,
        "cpu_us_per_handshake": cpu * 1e6 / cycles if cycles else None,
        "full": hs.get("full"), "resumed": hs.get("resumed"),
        "server_cpu_pct": 100.0 * cpu / steady["duration_s"] if steady.get("duration_s") else None,
        "p99_us": steady.get("latency_us", {}).get("p99"),
        "gen_busy_pct": 100.0 * steady.get("max_worker_busy", 0.0),
        "errors": sum(steady.get("errors", {}).values()),
        "verdict_ok": verdict.get("ok", False),
        "failures": verdict.get("failures", []),
        "tls": report.get("tls", {}),
    }


def run_load(variant, name, rargs, args, rep):
    port, tls_port = free_port(), free_port()
    tag = f"{name}-{variant}-{rep}"
    jpath = os.path.join(args.out, f"{tag}.json")
    with open(os.path.join(args.out, f"{tag}.server.log"), "wb") as slog:
        proc = start_server(port, tls_port, args, slog)
        try:
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
    ours = max(report.get("server_cpu_s", 0), 0) + report.get("client_cpu_s", 0)
    out["other_cpu_pct"] = 100.0 * max(busy - ours, 0) / wall if wall > 0 else 0
    return out


def run_idle(variant, args, rep):
    jpath = os.path.join(args.out, f"idle-{variant}-{rep}.json")
    cmd = [os.path.join(ROOT, "bench", "idle_memory.sh"), "--server", "ringchat", "-n", str(args.idle_n),
           "--rooms", "100", "--json", jpath]
    if variant == "wss":
        cmd.append("--tls")
    cmd += ["--", "--threads", "1"] + args.ringchat_args
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=400)
    with open(os.path.join(args.out, f"idle-{variant}-{rep}.txt"), "w") as f:
        f.write(shlex.join(cmd) + "\n" + res.stdout + res.stderr)
    if res.returncode != 0 or not os.path.exists(jpath):
        return {"failed": (res.stderr.strip().splitlines() or ["?"])[-1]}
    with open(jpath) as f:
        r = json.load(f)
    return {"bytes_per_conn": r["user_bytes_per_conn"], "pss_bytes_per_conn": r["pss_anon_bytes_per_conn"],
            "held": r["held"]}


def median_of(runs, key):
    vals = [r[key] for r in runs if "failed" not in r and r.get(key) is not None]
    return statistics.median(vals) if vals else None


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
            meds = [median_of(per[v], key) for v in vs]
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
                busy = [median_of(per[v], "gen_busy_pct") or 0 for v in vs]
                if max(busy) > 90:
                    ok += " (generator-bound)"
            rows.append((name, key, *cells, ratio, tgt, ok))
        for v in vs:
            for r in per[v]:
                if "failed" in r:
                    rows.append((name, f"{v} run failed", r["failed"][:70], "", "", "", "", ""))
                elif r.get("failures"):
                    rows.append((name, f"{v} VERDICT FAILED", "; ".join(r["failures"])[:70], "", "", "", "", ""))
                elif r.get("other_cpu_pct", 0) > 20:
                    rows.append((name, f"{v} DISTURBED", f"other work used {r['other_cpu_pct']:.0f}% "
                                 "of a CPU during the run", "", "", "", "", ""))
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    for j, r in enumerate(rows):
        print("| " + " | ".join(str(c).ljust(w) for c, w in zip(r, widths)) + " |")
        if j == 0:
            print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    tls = next((r["tls"] for per in results.values() for v in per["variants"] for r in per[v]
                if r.get("tls")), {})
    print(f"\nmedians of {args.reps} A/B-interleaved repetitions, {args.steady} s steady each; ringchat "
          f"--threads 1 on CPU {args.server_cpu}, ringload on CPU {args.client_cpus}; TLS "
          f"{tls.get('version', '?')} {tls.get('cipher', '?')}, EC P-256 certificate verified by ringload; "
          f"server CPU of the steady phase; server_cpu = its share of its one core; gen_busy = ringload's "
          f"busiest worker. Generator-bound: ringload's CPU was full, so throughput is the pair's limit")


def parse_args():
    p = argparse.ArgumentParser(description="ringchat over TLS vs plain (ws vs wss, handshakes, idle memory)")
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--steady", type=float, default=5.0)
    p.add_argument("--only", default="", help="comma-separated scenario names or prefixes (echo, fanout, hs, idle)")
    p.add_argument("--idle-n", type=int, default=10000, help="idle: connections held")
    p.add_argument("--server-cpu", default="0")
    p.add_argument("--client-cpus", default="1")
    p.add_argument("--out", default=os.path.join(ROOT, "out", "tls"))
    p.add_argument("--ringchat-args", default="", help="extra ringchat flags, one string")
    a = p.parse_args()
    a.ringchat_args = shlex.split(a.ringchat_args)
    return a


def main():
    args = parse_args()
    os.makedirs(args.out, exist_ok=True)
    names = list(SCENARIOS) + ["idle"]
    if args.only:
        names = [n for n in names if any(n.startswith(w) for w in args.only.split(","))]
    results = {n: {"variants": SCENARIOS[n][0] if n in SCENARIOS else IDLE} for n in names}
    for per in results.values():
        for v in per["variants"]:
            per[v] = []
    with tempfile.TemporaryDirectory(prefix="tls-bench-") as tmp:
        args.cert, args.key = make_cert(tmp)
        for rep in range(args.reps):
            for name in names:
                variants = results[name]["variants"]
                for v in (variants if rep % 2 == 0 else variants[::-1]):
                    log(f"rep {rep + 1}/{args.reps} {name} {v}")
                    try:
                        if name == "idle":
                            r = run_idle(v, args, rep)
                        else:
                            r = run_load(v, name, SCENARIOS[name][1], args, rep)
                    except (RuntimeError, subprocess.TimeoutExpired, subprocess.CalledProcessError, OSError,
                            ValueError) as e:
                        r = {"failed": f"{type(e).__name__}: {e}"}
                    results[name][v].append(r)
                    time.sleep(1)  # let the closed connections drain
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump({"args": {k: v for k, v in vars(args).items() if k not in ("cert", "key")},
                   "results": results}, f, indent=1)
    table(results, args)
    print(f"raw results: {os.path.join(args.out, 'results.json')}")
    bad = any(r.get("failures") for per in results.values() for v in per["variants"] for r in per[v])
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
