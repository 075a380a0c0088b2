#!/usr/bin/env bash
# A short ringload run against a real server; checks that the run succeeds,
# the JSON report parses with the expected fields and the --html report of
# the same run is well-formed and shows it (check_report_html.py).
#   smoke.sh peer     RINGLOAD SOURCE_ROOT     (the Node ws peer, bench/peers/node-ws)
#   smoke.sh ringchat RINGLOAD RINGCHAT_BINARY
# Exit 77 (meson: skipped) when the server cannot be started here.
set -euo pipefail
kind="$1" ringload="$2" arg="$3"
py=/usr/bin/python3
here="$(cd "$(dirname "$0")" && pwd)"
tmp="$(mktemp -d)"
server_pid=""
cleanup() {
  if [[ -n "$server_pid" ]]; then kill -TERM "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

port="$($py -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
case "$kind" in
  peer)
    peer="$arg/bench/peers/node-ws"
    if ! command -v node >/dev/null; then
      echo "SKIP: node is not installed"; exit 77
    fi
    # The peer's npm dependencies: installed here so the test does not depend
    # on which other test ran first.
    "$peer/install.sh" || { echo "FAIL: $peer/install.sh could not install ws"; exit 1; }
    node "$peer/server.js" --port "$port" --bind 127.0.0.1 >"$tmp/server.log" 2>&1 &
    ;;
  ringchat)
    # --pub-rate 0: ringload publishes as fast as the rounds go.
    "$arg" --port "$port" --bind 127.0.0.1 --threads 1 --pub-rate 0 >"$tmp/server.log" 2>&1 &
    ;;
  *) echo "unknown server kind $kind"; exit 2 ;;
esac
server_pid=$!

# Wait (bounded) until the port accepts connections.
for _ in $(seq 1 100); do
  if $py -c "import socket,sys; socket.create_connection(('127.0.0.1',$port),0.2)" 2>/dev/null; then break; fi
  sleep 0.1
done

run() {
  local name="$1"; shift
  local url="${URL:-ws://127.0.0.1:$port/ws/}"
  if ! "$ringload" --url "$url" --room-prefix "smoke-$name" --cpus 0 \
      --steady 1 --drain 1 --progress never --server-pid "$server_pid" --json "$tmp/$name.json" --html "$tmp/$name.html" "$@" \
      >"$tmp/$name.txt" 2>&1; then
    echo "FAIL: ringload $name exited non-zero"; cat "$tmp/$name.txt"; tail -20 "$tmp/server.log"; exit 1
  fi
  $py - "$tmp/$name.json" "$name" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
name = sys.argv[2]
p = r["phases"][0]
for k in ["name", "duration_s", "sent", "delivered", "msgs_per_s_sent", "msgs_per_s_delivered", "latency_us", "errors"]:
    assert k in p, k
for k in ["p50", "p90", "p95", "p99", "p999", "max"]:
    assert k in p["latency_us"], k
for k in ["gaps", "duplicates", "reorders"]:
    assert r["order"][k] == 0, (k, r["order"])
assert r["verdict"]["ok"], r["verdict"]
for k in ["checked", "gaps", "duplicates", "resumes", "recovered", "not_recovered"]:
    assert k in r["seq"], k
assert r["seq"]["ok"], r["seq"]
if name.startswith(("json", "sse")) and name != "sse-idle":
    assert r["seq"]["checked"] > 0, r["seq"]  # room seqs come with every message
if "churn" in name:
    assert r["connections"]["resets"] > 0 and r["seq"]["resumes"] > 0, (r["connections"], r["seq"])
    assert r["seq"]["recovered"] > 0, r["seq"]
for k in ["opened", "failed", "reconnects"]:
    assert k in r["connections"], k
for k in ["somaxconn", "ip_local_port_range", "rmem_max", "wmem_max", "nofile"]:
    assert k in r["kernel"], k
assert "client_cpu_s" in r and "server_cpu_s" in r and "totals" in r
assert r["connections"]["opened"] >= r["scenario"]["connections"], r["connections"]
if "idle" not in name:
    assert p["sent"] > 0 and p["delivered"] > 0, p
print(f"PASS: {name}: sent {p['sent']} delivered {p['delivered']} p99 {p['latency_us']['p99']} us")
PY
  $py "$here/check_report_html.py" "$tmp/$name.html" "$tmp/$name.json" || exit 1
  echo "PASS: $name: the HTML report"
}

run echo --mode echo -c 10 --size 20
run fanout --mode fanout -c 20 --rooms 2
run rate --mode rate -c 20 --rooms 4 --rate 50 --size 64 --size-max 256
run idle --mode idle -c 50 --rooms 5
if [[ "$kind" == ringchat ]]; then
  # The JSON socket and SSE streams (ringchat's own protocols), and resumes:
  # subscribers reset now and then and resume from their position.
  run json-fanout --protocol json --mode fanout -c 20 --rooms 2
  URL="http://127.0.0.1:$port/sse/" run sse-fanout --protocol sse --mode fanout -c 20 --rooms 2 --senders 2
  URL="http://127.0.0.1:$port/sse/" run sse-idle --protocol sse --mode idle -c 20 --rooms 2
  run raw-churn --mode rate -c 20 --rooms 2 --senders 4 --rate 100 --churn 3
  run json-churn --protocol json --mode rate -c 20 --rooms 2 --senders 4 --rate 100 --churn 3
  URL="http://127.0.0.1:$port/sse/" run sse-churn --protocol sse --mode rate -c 20 --rooms 2 --senders 4 --rate 100 --churn 3
fi
echo "smoke $kind: all passed"
