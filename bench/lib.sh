# Shared helpers of the bench/*.sh scripts. Source it; it defines functions
# and these variables:
#   BENCH_ROOT    the repository root
#   RINGCHAT_BIN  ringchat's binary (env override; default build/ringchat)
#   RINGLOAD_BIN  ringload's binary (env override; default build/tools/ringload/ringload)
#   PY            Debian's python3 (has python3-websockets)
BENCH_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RINGCHAT_BIN="${RINGCHAT_BIN:-$BENCH_ROOT/build/ringchat}"
RINGLOAD_BIN="${RINGLOAD_BIN:-$BENCH_ROOT/build/tools/ringload/ringload}"
PY=/usr/bin/python3
SERVER_PID=""
# The process that holds the connections (nchan: nginx's worker, not its
# master); the same as SERVER_PID for ringchat and the Node peer.
SERVER_MEM_PID=""

bench_log() { echo "[$(date +%H:%M:%S)] $*" >&2; }
bench_die() { bench_log "error: $*"; exit 1; }

bench_free_port() {
  "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# bench_start_server KIND CPU PORT [SERVER_ARGS...]: starts ringchat, the
# Node peer or nginx with nchan (bench/peers/nchan; SSE only) pinned to CPU,
# listening on 127.0.0.1:PORT; sets SERVER_PID and SERVER_MEM_PID.
# Its output goes to $BENCH_TMP/server-KIND.log.
bench_start_server() {
  local kind="$1" cpu="$2" port="$3"; shift 3
  local log="${BENCH_TMP:-/tmp}/server-$kind.log"
  case "$kind" in
    ringchat)
      [[ -x "$RINGCHAT_BIN" ]] || bench_die "no ringchat binary at $RINGCHAT_BIN (build it, or set RINGCHAT_BIN)"
      taskset -c "$cpu" "$RINGCHAT_BIN" --port "$port" --bind 127.0.0.1 "$@" >"$log" 2>&1 &
      ;;
    peer|node-ws)
      "$BENCH_ROOT/bench/peers/node-ws/install.sh" >&2 || bench_die "npm install of the peer failed"
      taskset -c "$cpu" node "$BENCH_ROOT/bench/peers/node-ws/server.js" \
        --port "$port" --bind 127.0.0.1 "$@" >"$log" 2>&1 &
      ;;
    nchan)
      taskset -c "$cpu" "$BENCH_ROOT/bench/peers/nchan/start.sh" "${BENCH_TMP:-/tmp}/nchan" "$port" >"$log" 2>&1 &
      ;;
    *) bench_die "unknown server kind '$kind' (ringchat, peer or nchan)" ;;
  esac
  SERVER_PID=$!
  SERVER_MEM_PID=$SERVER_PID
  bench_wait_healthy "$port" 20 || { tail -n 20 "$log" >&2; bench_die "$kind did not answer /healthz"; }
  if [[ "$kind" == nchan ]]; then
    SERVER_MEM_PID=$(pgrep -P "$SERVER_PID" | head -n 1)
    [[ -n "$SERVER_MEM_PID" ]] || bench_die "nginx has no worker process"
  fi
}

# bench_wait_healthy PORT SECONDS: polls /healthz until 200 or the deadline.
bench_wait_healthy() {
  local deadline=$((SECONDS + $2))
  while ((SECONDS < deadline)); do
    kill -0 "$SERVER_PID" 2>/dev/null || return 1
    curl -sf -o /dev/null --max-time 1 "http://127.0.0.1:$1/healthz" && return 0
    sleep 0.1
  done
  return 1
}

# bench_stop_server: SIGTERM, then SIGKILL after 10 s; clears SERVER_PID.
bench_stop_server() {
  [[ -n "$SERVER_PID" ]] || return 0
  kill -TERM "$SERVER_PID" 2>/dev/null
  local deadline=$((SECONDS + 10))
  while kill -0 "$SERVER_PID" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.1; done
  kill -KILL "$SERVER_PID" 2>/dev/null
  wait "$SERVER_PID" 2>/dev/null
  SERVER_PID=""
  SERVER_MEM_PID=""
}

# bench_cpu_ticks PID: user+system CPU time of PID in clock ticks.
bench_cpu_ticks() {
  # Fields after the ")" of comm: utime is 12th, stime 13th (proc(5) 14, 15).
  sed 's/.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'
}

# bench_established PORT: established TCP connections whose local port is PORT.
bench_established() {
  ss -Htn state established "( sport = :$1 )" | wc -l
}

# bench_wait_established PORT N SECONDS: until N server-side connections exist.
bench_wait_established() {
  local deadline=$((SECONDS + $3)) n=0
  while ((SECONDS < deadline)); do
    n=$(bench_established "$1")
    ((n >= $2)) && return 0
    sleep 0.5
  done
  bench_log "only $n of $2 connections established after $3 s"
  return 1
}

bench_have_ringload() { [[ -x "$RINGLOAD_BIN" ]]; }

# bench_median: median of the numbers on stdin, one per line.
bench_median() {
  sort -g | awk '{a[NR]=$1} END {if (NR==0) print "nan"; else if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'
}
