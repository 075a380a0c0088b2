#!/usr/bin/env bash
# The rolling-restart scenario in cluster mode: ringload starts two ringchat
# processes on one port (--reuse-port), both with --redis at a redis-server
# this script starts (its own dir and config, a free loopback port, no
# persistence), runs rate load, starts a replacement and sends SIGTERM to
# the first, once per protocol. With Redis the room's epoch and history
# outlive the process, so every client that moves resumes recovered: checks
# that ringload exits 0, clients were dropped and all came back, nothing was
# lost silently, no resume was told of an epoch change (told-lost 0), the
# order held and no server outlives the run.
#   smoke_rolling_redis.sh RINGLOAD RINGCHAT_BINARY [REDIS_SERVER]
# Exit 77 (skipped) when redis-server is missing.
set -euo pipefail
ringload="$1" ringchat="$2" redis_server="${3:-$(command -v redis-server || true)}"
py=/usr/bin/python3
here="$(cd "$(dirname "$0")" && pwd)"
[[ -n "$redis_server" && -x "$redis_server" ]] || { echo "SKIP: no redis-server"; exit 77; }
tmp="$(mktemp -d)"
redis_pid=""
cleanup() {
  [[ -n "$redis_pid" ]] && kill "$redis_pid" 2>/dev/null && wait "$redis_pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

free_port() { $py -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

rport="$(free_port)"
mkdir -p "$tmp/redis"
printf 'port %s\nbind 127.0.0.1\ndir %s\nsave ""\nappendonly no\ndaemonize no\nlogfile redis.log\n' \
  "$rport" "$tmp/redis" >"$tmp/redis/redis.conf"
"$redis_server" "$tmp/redis/redis.conf" &
redis_pid=$!
for _ in $(seq 100); do
  if $py -c "import socket,sys; s=socket.create_connection(('127.0.0.1',$rport),1); s.sendall(b'PING\r\n'); sys.exit(0 if s.recv(16).startswith(b'+PONG') else 1)" 2>/dev/null; then
    break
  fi
  kill -0 "$redis_pid" 2>/dev/null || { echo "FAIL: redis-server exited"; cat "$tmp/redis/redis.log"; exit 1; }
  sleep 0.1
done

run() {
  local name="$1" url="$2"; shift 2
  local port
  port="$(free_port)"
  url="${url/PORT/$port}"
  # timeout: a hung run fails here, not at meson's limit.
  if ! timeout 40 "$ringload" --url "$url" --room-prefix "rolling-redis-$name-$$" --cpus 0 \
      --rolling-server "$ringchat" --rolling-log "$tmp/$name" \
      --rolling-args "--threads 1 --pub-rate 0 --drain-timeout 500 --log-level warn --redis redis://127.0.0.1:$rport" \
      --rolling-at 1 --mode rate -c 30 --rooms 3 --senders 6 --rate 20 --steady 4 --drain 1 \
      --progress never --json "$tmp/$name.json" "$@" >"$tmp/$name.txt" 2>&1; then
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
assert sv["old_exit_s"] >= sv["term_s"] and sv["old_exit_status"] == 0, sv
for pid in sv["pids"]:  # every server was stopped with the run
    try:
        os.kill(pid, 0)
        raise AssertionError(f"server {pid} still runs")
    except ProcessLookupError:
        pass
assert rc["clients"] == 30, rc
assert rc["dropped"] > 0 and rc["reconnected"] > 0, rc  # the restart moved clients
assert rc["reconnected"] >= rc["dropped"], rc  # every client came back
assert max(ro["curve"]["connected"]) == 30 and ro["curve"]["connected"][-1] == 30, ro["curve"]
# Redis keeps the epoch: no resume is told of a new one, nothing is lost, told or not.
assert m["lost_silently"] == 0 and m["seq_gaps"] == 0 and m["payload_gaps"] == 0, m
assert m["epoch_changes"] == 0 and m["told_lost"] == 0, m
seq = r["seq"]
assert seq["ok"] and seq["epoch_changes"] == 0 and seq["not_recovered"] == 0, seq
assert seq["unrecoverable"] == 0 and seq["gaps"] == 0 and seq["duplicates"] == 0, seq
assert seq["resumes"] > 0 and seq["recovered"] == seq["resumes"], seq  # every resume recovered
o = r["order"]
assert o["ok"] and o["gaps"] == 0 and o["duplicates"] == 0 and o["reorders"] == 0, o
assert r["phases"][0]["sent"] > 0 and r["phases"][0]["delivered"] > 0, r["phases"][0]
print(f"PASS: rolling over redis {name}: dropped {rc['dropped']} reconnected {rc['reconnected']} "
      f"(hinted {rc['hinted']}) all back {rc['full_reconnect_s']:.1f}s; resumes {seq['resumes']} "
      f"recovered {seq['recovered']}; epoch changes {m['epoch_changes']}, told lost {m['told_lost']}, "
      f"lost silently {m['lost_silently']}; publishes refused {pub['refused']} unacked {pub['unacked']}")
PY
}

run raw "ws://127.0.0.1:PORT/ws/"
run json "ws://127.0.0.1:PORT/ws" --protocol json
run sse "http://127.0.0.1:PORT/sse/" --protocol sse
echo "smoke rolling redis: all passed"
