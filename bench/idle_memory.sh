#!/usr/bin/env bash
# Memory per idle WebSocket connection of ringchat or the Node peer, or per
# idle SSE subscription of ringchat or nginx with nchan.
#
#   bench/idle_memory.sh [--server ringchat|peer|nchan] [-n 10000] [--rooms 100]
#                        [--protocol raw|sse] [--client auto|ringload|python] [--tls]
#                        [--json FILE] [--deadline S] [-- SERVER_ARGS...]
#
# --tls (ringchat and ringload only) holds the connections on ringchat's TLS
# port instead (wss:// or https://, a certificate made with openssl req for
# the run): every connection has done its handshake before it is counted.
#
# --protocol sse holds GET /sse/{room} streams (nchan: GET /sub/{room}) with
# ringload --protocol sse; nchan serves SSE only. For nchan the memory is
# nginx's worker's (it holds the connections; the master holds none).
# Starts the server pinned to CPU 0, warms it up with a few connections,
# measures it, opens N idle connections from a client pinned to CPU 1
# (tools/ringload --mode idle when built, else bench/idle_clients.py),
# waits until the server holds all N, and measures again. Reports:
#   user-space bytes per connection = delta VmRSS / N (and delta Pss_Anon / N
#     from smaps_rollup, which leaves out shared file pages);
#   kernel socket memory separately: the buffers of the server's own sockets
#     (ss -m skmem), the slab object sizes of one socket (tcp_sock, inode,
#     file, dentry), and machine-wide deltas of /proc/net/sockstat TCP `mem`
#     pages and `sockets: used` and of Slab (both ends of the loopback
#     connections; noisy when other work runs);
#   the server's CPU use while holding the idle connections (5 s window).
# Ends with one line of JSON (also written to --json FILE). Every wait has a
# deadline; the whole run is bounded by --deadline (default 300 s).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

server=ringchat n=10000 rooms=100 client=auto json_out="" deadline=300 protocol=raw tls=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --server) server="$2"; shift 2 ;;
    -n|--connections) n="$2"; shift 2 ;;
    --rooms) rooms="$2"; shift 2 ;;
    --client) client="$2"; shift 2 ;;
    --protocol) protocol="$2"; shift 2 ;;
    --tls) tls=1; shift ;;
    --json) json_out="$2"; shift 2 ;;
    --deadline) deadline="$2"; shift 2 ;;
    --) shift; break ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "idle_memory.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
[[ "$n" =~ ^[0-9]+$ && "$n" -gt 0 ]] || { echo "idle_memory.sh: -n must be a positive integer" >&2; exit 2; }
if [[ "$client" == auto ]]; then
  if bench_have_ringload; then client=ringload; else client=python; fi
fi
[[ "$protocol" == raw || "$protocol" == sse ]] || { echo "idle_memory.sh: --protocol is raw or sse" >&2; exit 2; }
if [[ "$server" == nchan && "$protocol" != sse ]]; then echo "idle_memory.sh: nchan is measured with --protocol sse" >&2; exit 2; fi
if [[ "$protocol" == sse && "$client" != ringload ]]; then echo "idle_memory.sh: SSE streams need ringload (build it)" >&2; exit 2; fi
if ((tls)) && [[ "$server" != ringchat || "$client" != ringload ]]; then echo "idle_memory.sh: --tls needs ringchat and ringload" >&2; exit 2; fi

BENCH_TMP="$(mktemp -d)"
client_pid=""
cleanup() {
  set +e  # runs on exit: it must not change the script's exit status
  if [[ -n "$client_pid" ]]; then kill -TERM "$client_pid" 2>/dev/null; wait "$client_pid" 2>/dev/null; fi
  bench_stop_server
  rm -rf "$BENCH_TMP"
}
trap cleanup EXIT
# A watchdog bounds the whole run even if something below hangs.
# Its output goes nowhere: a leftover `sleep` must not hold a caller's pipe.
( trap 'kill $s 2>/dev/null; exit 0' TERM
  sleep "$deadline" & s=$!
  wait $s && kill -TERM $$ ) >/dev/null 2>&1 &
watchdog=$!
trap 'rc=$?; kill $watchdog 2>/dev/null; cleanup; exit $rc' EXIT

kb_of() { awk -v k="$1:" '$1 == k {print $2; exit}' "$2"; }
sockstat_tcp_mem() { awk '$1 == "TCP:" {for (i = 2; i < NF; i++) if ($i == "mem") print $(i+1)}' /proc/net/sockstat; }
sockstat_used() { awk '$1 == "sockets:" {print $3}' /proc/net/sockstat; }
slab_kb() { awk '$1 == "Slab:" {print $2}' /proc/meminfo; }
# Buffer memory the kernel holds for the server's own sockets: the sum over
# them of skmem r+t+f+w+o (ss -m: receive, transmit, forward-alloc, queued,
# options), so other work on the machine does not blur it.
server_skmem_bytes() {
  ss -Htmn state established "( sport = :$1 )" | grep -o 'skmem:([^)]*)' |
    awk -F'[(),]' '{for (i = 2; i <= NF; i++) { k = substr($i, 1, 1); v = substr($i, 2);
      if ($i ~ /^(r|t|f|w|o)[0-9]/) s += v } } END {print s + 0}'
}
# Kernel objects per socket (slab object sizes): tcp_sock, socket inode,
# struct file, dentry. An estimate: it leaves out slab overhead.
socket_struct_bytes() {
  awk '$1 == "TCP" || $1 == "sock_inode_cache" || $1 == "filp" || $1 == "dentry" {s += $4} END {print s + 0}' /proc/slabinfo 2>/dev/null || echo 0
}

# Source addresses, only past one range: each has its own ephemeral ports
# (~28k). Binding a source address reserves its port exclusively, so it is
# not done when one address is enough.
src_flag=()
if ((n > 20000)); then src_flag=(--src-ips 127.0.0.1,127.0.0.2,127.0.0.3); fi

start_clients() {  # start_clients COUNT HOLD_S
  if [[ "$client" == ringload ]]; then
    local url="ws://127.0.0.1:$port/ws/" tls_flags=()
    if [[ "$protocol" == sse ]]; then
      url="http://127.0.0.1:$port/sse/"
      [[ "$server" == nchan ]] && url="http://127.0.0.1:$port/sub/"
    fi
    if ((tls)); then
      url="${url/#ws:/wss:}"; url="${url/#http:/https:}"; url="${url/:$port\//:$conn_port/}"
      tls_flags=(--tls --tls-ca "$BENCH_TMP/cert.pem")
    fi
    taskset -c 1 "$RINGLOAD_BIN" --url "$url" --protocol "$protocol" --mode idle -c "$1" \
      --rooms "$rooms" --room-prefix idle --steady "$2" --drain 0 --cpus 1 \
      "${tls_flags[@]}" "${src_flag[@]}" --progress never >"$BENCH_TMP/client.log" 2>&1 &
  else
    ((n <= 19000)) || bench_die "the Python client holds at most ~19000 connections (fd limit); build tools/ringload"
    taskset -c 1 "$PY" "$BENCH_ROOT/bench/idle_clients.py" --port "$port" -n "$1" \
      --rooms "$rooms" "${src_flag[@]}" --hold "$2" >"$BENCH_TMP/client.log" 2>&1 &
  fi
  client_pid=$!
}

port="$(bench_free_port)"
conn_port=$port  # where the idle connections are held and counted
tls_args=()
if ((tls)); then
  conn_port="$(bench_free_port)"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=localhost \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" -keyout "$BENCH_TMP/key.pem" \
    -out "$BENCH_TMP/cert.pem" >/dev/null 2>&1 || bench_die "openssl req failed"
  tls_args=(--tls-port "$conn_port" --tls-cert "$BENCH_TMP/cert.pem" --tls-key "$BENCH_TMP/key.pem")
fi
bench_log "starting $server on 127.0.0.1:$port (connections on $conn_port) (CPU 0); client $client (CPU 1), $n connections"
bench_start_server "$server" 0 "$port" "${tls_args[@]}" "$@"

# Warm-up: a few connections come and go so that lazily built state exists.
start_clients 64 1
bench_wait_established "$conn_port" 64 30 || bench_die "warm-up connections did not come up"
wait "$client_pid" || true
client_pid=""
for _ in $(seq 100); do (( $(bench_established "$conn_port") == 0 )) && break; sleep 0.1; done
sleep 1  # let the server finish closing and return freed memory

st="/proc/$SERVER_MEM_PID/status" roll="/proc/$SERVER_MEM_PID/smaps_rollup"
rss0=$(kb_of VmRSS "$st"); pss0=$(kb_of Pss_Anon "$roll"); tcp0=$(sockstat_tcp_mem); used0=$(sockstat_used); slab0=$(slab_kb)

start_clients "$n" "$deadline"
t0=$SECONDS
bench_wait_established "$conn_port" "$n" "$((deadline / 2))" || { tail -n 20 "$BENCH_TMP/client.log" >&2; bench_die "server did not reach $n connections"; }
connect_s=$((SECONDS - t0))
sleep 2  # idle: let in-flight handshakes and allocator caches settle
held=$(bench_established "$conn_port")
skmem=$(server_skmem_bytes "$conn_port"); structs=$(socket_struct_bytes)
rss1=$(kb_of VmRSS "$st"); pss1=$(kb_of Pss_Anon "$roll"); tcp1=$(sockstat_tcp_mem); used1=$(sockstat_used); slab1=$(slab_kb)
ticks0=$(bench_cpu_ticks "$SERVER_MEM_PID"); sleep 5; ticks1=$(bench_cpu_ticks "$SERVER_MEM_PID")



export tls server client protocol n held connect_s rss0 rss1 pss0 pss1 tcp0 tcp1 used0 used1 slab0 slab1 skmem structs ticks0 ticks1
export hz="$(getconf CLK_TCK)" page="$(getconf PAGESIZE)"
result=$("$PY" - <<'PYEOF'
import json, os
e = os.environ
i = lambda k: int(e[k])
n = i("n")
r = {"bench": "idle_memory", "server": e["server"], "client": e["client"], "protocol": e["protocol"],
     "tls": e["tls"] == "1",
     "connections": n, "held": i("held"), "connect_s": i("connect_s"),
     "rss_before_kb": i("rss0"), "rss_after_kb": i("rss1"),
     "user_bytes_per_conn": round((i("rss1") - i("rss0")) * 1024 / n),
     "pss_anon_bytes_per_conn": round((i("pss1") - i("pss0")) * 1024 / n),
     "kernel_tcp_mem_bytes_per_conn": round((i("tcp1") - i("tcp0")) * i("page") / n),
     "kernel_buffer_bytes_per_conn": round(i("skmem") / max(i("held"), 1)),
     "kernel_struct_bytes_per_conn_est": i("structs"),
     "kernel_slab_bytes_per_conn": round((i("slab1") - i("slab0")) * 1024 / n),
     "sockets_used_delta": i("used1") - i("used0"),
     "idle_cpu_pct": round((i("ticks1") - i("ticks0")) * 100 / i("hz") / 5, 2)}
print(json.dumps(r))
PYEOF
)
RESULT="$result" "$PY" - <<'PYEOF'
import json, os
r = json.loads(os.environ["RESULT"])
print(f"server {r['server']}: {r['held']} of {r['connections']} idle {'TLS ' if r['tls'] else ''}connections held "
      f"(client {r['client']}, connected in {r['connect_s']} s)")
print(f"  RSS {r['rss_before_kb']} kB -> {r['rss_after_kb']} kB: {r['user_bytes_per_conn']} B "
      f"per connection (Pss_Anon: {r['pss_anon_bytes_per_conn']} B)")
print(f"  kernel, server sockets only: buffers {r['kernel_buffer_bytes_per_conn']} B per connection "
      f"(ss skmem), socket structures ~{r['kernel_struct_bytes_per_conn_est']} B (slab object sizes)")
print(f"  kernel, machine-wide deltas (both loopback ends; noisy when other work runs): "
      f"TCP mem {r['kernel_tcp_mem_bytes_per_conn']} B per "
      f"connection, Slab "
      f"{r['kernel_slab_bytes_per_conn']} B per connection; sockets used +{r['sockets_used_delta']}")
print(f"  server CPU while idle: {r['idle_cpu_pct']}% of a core")
PYEOF
echo "$result"
[[ -z "$json_out" ]] || echo "$result" >"$json_out"
