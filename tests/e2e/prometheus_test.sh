#!/usr/bin/env bash
# /metrics as Prometheus itself sees it (docs/METRICS.md):
# - `promtool check metrics` finds nothing to complain about, before and
#   after traffic;
# - a real Prometheus server (Debian's `prometheus`), started here on a
#   loopback port with its own config and data dir, scrapes ringchat every
#   second: the target is up, and queries on ringchat metrics answer what the
#   test did (N HTTP publishes, the sum over shards; a loop-lag quantile from
#   the histogram; connections by transport).
#
#   tests/e2e/prometheus_test.sh RINGCHAT [ARGS...]
#
# Each check prints one PASS/FAIL line; the last line is `N passed, N
# failed`, and the exit status is 1 if anything failed. Prometheus missing is
# a FAIL (tools/setup-deps.sh --test installs it). Everything it starts is
# stopped on exit. About 10 s.
set -uo pipefail

if [[ $# -eq 0 ]]; then
  echo "usage: prometheus_test.sh RINGCHAT [ARGS...]" >&2
  exit 2
fi
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=tests/e2e/lib.sh
source "$here/lib.sh"
work="$(mktemp -d)"
prom_pid=""
cleanup() {
  stop "$prom_pid" 5
  stop "$server_pid" 5
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

for tool in promtool prometheus; do
  if ! command -v "$tool" >/dev/null; then
    fail "$tool is installed" "tools/setup-deps.sh --test installs the prometheus package"
    summary
    exit 1
  fi
done

port="$(free_port)"
base="http://127.0.0.1:$port"
if ! start_server 20 "$base/healthz" -- "$@" --threads 2 --port "$port" --bind 127.0.0.1; then
  fail "ringchat starts" "$(oneline "$work/server.log")"
  summary
  exit 1
fi

# `promtool check metrics` on a scrape: PASS when it exits 0 saying nothing.
promtool_check() {
  local name="$1" file="$work/metrics-$2.txt"
  curl -sf --max-time 5 "$base/metrics" >"$file" || { fail "$name" "GET /metrics failed"; return; }
  if promtool check metrics <"$file" >"$file.log" 2>&1 && ! [[ -s "$file.log" ]]; then
    pass "$name"
  else
    fail "$name" "$(oneline "$file.log")"
  fi
}
promtool_check "promtool check metrics: a fresh server's exposition is clean" 0

# Traffic: 25 HTTP publishes into rooms that land on both shards, and one
# SSE stream kept open while Prometheus scrapes.
published=25
for i in $(seq 1 "$published"); do
  curl -sf --max-time 5 -o /dev/null -X POST --data "hello $i" "$base/rooms/prom-$((i % 5))/messages" ||
    fail "publish $i" "curl failed"
done
curl -sN --max-time 30 "$base/sse/prom-0" >/dev/null 2>&1 &
sse_pid=$!

promtool_check "promtool check metrics: clean after traffic" 1

prom_port="$(free_port)"
cat >"$work/prometheus.yml" <<YAML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: ringchat
    static_configs:
      - targets: ['127.0.0.1:$port']
YAML
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/data" \
  --web.listen-address="127.0.0.1:$prom_port" >"$work/prometheus.log" 2>&1 &
prom_pid=$!
prom="http://127.0.0.1:$prom_port"
check "prometheus starts on 127.0.0.1:$prom_port" "$(tail -c 400 "$work/prometheus.log")" \
  wait_http "$prom/-/ready" 30 "$prom_pid"

# The value of an instant query's first result, or empty.
query() {
  curl -sf --max-time 5 --get --data-urlencode "query=$1" "$prom/api/v1/query" |
    "$py" -c 'import json,sys
r = json.load(sys.stdin)["data"]["result"]
print(r[0]["value"][1] if r else "")' 2>/dev/null
}
# Polls query $1 for up to $2 s until its value satisfies the Python
# expression $3 (on v, a float); prints the last value.
poll() {
  local deadline=$((SECONDS + $2)) v=""
  while ((SECONDS < deadline)); do
    v="$(query "$1")"
    if [[ -n "$v" ]] && "$py" -c "import sys; v=float(sys.argv[1]); sys.exit(0 if ($3) else 1)" "$v"; then
      echo "$v"
      return 0
    fi
    sleep 0.5
  done
  echo "${v:-no result}"
  return 1
}

v="$(poll 'up{job="ringchat"}' 30 'v == 1')"
check "the ringchat target is up" "up = $v" test "$v" = 1
v="$(poll 'sum(ringchat_http_publishes_total)' 20 "v == $published")"
check "sum(ringchat_http_publishes_total) answers the $published publishes" "got $v" \
  "$py" -c "import sys; sys.exit(float(sys.argv[1]) != $published)" "$v"
v="$(poll 'count(ringchat_publishes_total)' 10 'v == 2')"
check "one ringchat_publishes_total series per shard" "got $v" test "$v" = 2
v="$(poll 'sum(ringchat_connections{transport="sse"})' 10 'v == 1')"
check "the open SSE stream shows in ringchat_connections{transport=\"sse\"}" "got $v" test "$v" = 1
v="$(poll 'histogram_quantile(0.99, sum by (le) (rate(ringchat_loop_lag_seconds_bucket[10s])))' 20 \
  'v >= 0 and v < 5')"
check "a p99 of ringchat_loop_lag_seconds comes out of the histogram ($v s)" "got $v" \
  "$py" -c "import sys; v=float(sys.argv[1]); sys.exit(not (0 <= v < 5))" "$v"
v="$(poll 'sum(process_resident_memory_bytes{job="ringchat"})' 10 'v > 1e6')"
check "process_resident_memory_bytes is scraped ($v)" "got $v" \
  "$py" -c "import sys; sys.exit(not float(sys.argv[1]) > 1e6)" "$v"

kill "$sse_pid" 2>/dev/null
wait "$sse_pid" 2>/dev/null
stop "$prom_pid" 5
prom_pid=""
sigterm_server ringchat 15
summary
