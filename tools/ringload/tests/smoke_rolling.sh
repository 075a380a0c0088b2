#!/usr/bin/env bash
# The rolling-restart scenario against the real server: ringload starts two
# ringchat processes on one port (--reuse-port), runs rate load, starts a
# replacement and sends SIGTERM to the first, once per protocol. Checks that
# ringload exits 0, clients were dropped and all came back, nothing was lost
# silently, reconnects waited for the draining server's retry_ms hint, the
# clients that moved were told of an epoch change (there is no shared history
# between the processes), and no server outlives the run.
#   smoke_rolling.sh RINGLOAD RINGCHAT_BINARY
set -euo pipefail
ringload="$1" ringchat="$2"
py=/usr/bin/python3
here="$(cd "$(dirname "$0")" && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

run() {
  local name="$1" url="$2"; shift 2
  local port
  port="$($py -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
  url="${url/PORT/$port}"
  # timeout: a hung run fails here, not at meson's limit.
  if ! timeout 45 "$ringload" --url "$url" --room-prefix "rolling-$name" --cpus 0 \
      --rolling-server "$ringchat" --rolling-log "$tmp/$name" \
      --rolling-args "--threads 1 --pub-rate 0 --drain-timeout 1000 --log-level warn" \
      --rolling-at 1 --mode rate -c 30 --rooms 3 --senders 6 --rate 20 --steady 6 --drain 1 \
      --progress never --json "$tmp/$name.json" --html "$tmp/$name.html" "$@" >"$tmp/$name.txt" 2>&1; then
    echo "FAIL: ringload $name exited non-zero"; cat "$tmp/$name.txt"
    tail -n 20 "$tmp/$name".*.log || true
    exit 1
  fi
  $py - "$tmp/$name.json" "$name" <<'PY'
import json, os, sys
r = json.load(open(sys.argv[1]))
name = sys.argv[2]
ro = r["rolling"]
sv, rc, m, pub = ro["servers"], ro["reconnect"], ro["messages"], ro["publishes"]
assert r["verdict"]["ok"], r["verdict"]
assert sv["problem"] == "", sv
assert len(sv["pids"]) == 3, sv
assert 0 < sv["replacement_started_s"] <= sv["replacement_ready_s"] <= sv["term_s"], sv
assert sv["old_exit_s"] >= sv["term_s"] and sv["old_exit_status"] == 0, sv
for pid in sv["pids"]:  # every server was stopped with the run
    try:
        os.kill(pid, 0)
        raise AssertionError(f"server {pid} still runs")
    except ProcessLookupError:
        pass
assert rc["clients"] == 30, rc
assert rc["dropped"] > 0 and rc["reconnected"] > 0, rc
assert rc["hinted"] > 0, rc  # the draining server says when to come back (retry_ms)
assert 0 <= rc["full_reconnect_s"] < 15, rc
curve = ro["curve"]
assert curve["bucket_ms"] == 100 and len(curve["connected"]) == len(curve["reconnects"]) > 0, curve
assert max(curve["connected"]) == 30 and sum(curve["reconnects"]) >= rc["reconnected"], curve
assert m["lost_silently"] == 0 and m["seq_gaps"] == 0 and m["payload_gaps"] == 0, m
assert m["epoch_changes"] > 0, m  # no shared history: every resume on the other process is told
assert r["seq"]["epoch_changes"] == m["epoch_changes"] and r["seq"]["not_recovered"] == 0, r["seq"]
for k in ["refused", "unacked", "senders_refused", "senders_unacked"]:
    assert k in pub, k
assert r["phases"][0]["sent"] > 0 and r["phases"][0]["delivered"] > 0, r["phases"][0]
print(f"PASS: rolling {name}: dropped {rc['dropped']} reconnected {rc['reconnected']} "
      f"(hinted {rc['hinted']}) all back {rc['full_reconnect_s']:.1f}s; epoch changes "
      f"{m['epoch_changes']}, told lost {m['told_lost']}, lost silently {m['lost_silently']}; "
      f"publishes refused {pub['refused']} unacked {pub['unacked']}")
PY
  grep -q "rolling: servers" "$tmp/$name.txt" || { echo "FAIL: no rolling line in the summary"; cat "$tmp/$name.txt"; exit 1; }
  $py "$here/check_report_html.py" "$tmp/$name.html" "$tmp/$name.json" || exit 1
  echo "PASS: rolling $name: the HTML report (with the reconnect curve)"
}

run raw "ws://127.0.0.1:PORT/ws/"
run json "ws://127.0.0.1:PORT/ws" --protocol json
run sse "http://127.0.0.1:PORT/sse/" --protocol sse
echo "smoke rolling: all passed"
