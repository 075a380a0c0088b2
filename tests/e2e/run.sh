#!/usr/bin/env bash
# End-to-end tests of a /ws/{room} server with clients nobody here wrote:
# Python websockets (Debian python3-websockets), Node ws (npm) and curl.
#
#   tests/e2e/run.sh [--kind ringchat|node-ws] [--idle-seconds S] [--] SERVER_CMD [ARGS...]
#
# Picks a free loopback port, starts `SERVER_CMD ARGS --port N --bind 127.0.0.1`,
# waits for /healthz, runs every test, then stops the server with SIGTERM
# (a connected client must get close 1001 from ringchat) and checks that it
# exits 0. Each check prints one PASS/FAIL line; the last line is
# `N passed, N failed`, and the exit status is 1 if anything failed.
# --kind names the server so that expectations that are ringchat's own (and
# that the Node peer need not share) are only checked on ringchat.
# --idle-seconds S (default 11, longer than ringchat's default 10 s handshake
# timeout; 0 skips): the server sits idle S seconds, then new connections
# must still complete their handshake. Pass a short --handshake-timeout to
# the server and a matching short S to keep the run quick.
#
# Examples:
#   tests/e2e/run.sh -- build/ringchat
#   tests/e2e/run.sh --kind node-ws -- node bench/peers/node-ws/server.js
set -uo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
kind=ringchat
idle_s=11
while [[ $# -gt 0 ]]; do
  case "$1" in
    --kind) kind="$2"; shift 2 ;;
    --kind=*) kind="${1#--kind=}"; shift ;;
    --idle-seconds) idle_s="$2"; shift 2 ;;
    --) shift; break ;;
    -*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
    *) break ;;
  esac
done
if [[ $# -eq 0 ]]; then
  echo "usage: run.sh [--kind ringchat|node-ws] [--] SERVER_CMD [ARGS...]" >&2
  exit 2
fi
case "$kind" in ringchat|node-ws) ;; *) echo "run.sh: bad --kind $kind" >&2; exit 2 ;; esac

# shellcheck source=tests/e2e/lib.sh
source "$here/lib.sh"
test_timeout=90
work="$(mktemp -d)"
cleanup() {
  stop "$test_pid" 3
  stop "$server_pid" 3
  rm -rf "$work"
}
trap cleanup EXIT

port="$(free_port)"
echo "e2e: kind=$kind port=$port server: $* --port $port --bind 127.0.0.1"
if start_server "${E2E_START_TIMEOUT:-20}" "http://127.0.0.1:$port/healthz" -- \
     "$@" --port "$port" --bind 127.0.0.1; then
  pass "server answers /healthz within deadline"
else
  fail "server answers /healthz within deadline"
  echo "--- server log"; tail -n 50 "$work/server.log"
  summary
  exit 1
fi

export E2E_PORT="$port" E2E_KIND="$kind" E2E_IDLE_S="$idle_s"
run_test python-websockets "$py" "$here/websockets_test.py"
run_test curl bash "$here/curl_test.sh"
if ensure_node_modules; then
  run_test node-ws node "$here/node_ws_test.js"
else
  fail "node-ws" "npm could not install ws into tests/e2e/node_modules"
fi
# ringchat's own: a second server on the port refuses to start unless it is
# given --reuse-port.
if [[ "$kind" == ringchat ]]; then
  run_test port bash "$here/port_test.sh" "$@"
fi

# Shutdown: a connected client must be closed with 1001 (Going Away) by
# ringchat, and the server must exit 0 within the deadline.
timeout -k 2 30 "$py" "$here/shutdown_watch.py" >"$work/watch.out" 2>&1 &
watch_pid=$!
for _ in $(seq 100); do
  grep -q '^READY' "$work/watch.out" 2>/dev/null && break
  kill -0 "$watch_pid" 2>/dev/null || break
  sleep 0.1
done
sigterm_server server "${E2E_STOP_TIMEOUT:-10}"
wait "$watch_pid"
code="$(sed -n 's/^CLOSED \([0-9]*\).*/\1/p' "$work/watch.out")"
if [[ "$code" == 1001 ]]; then
  pass "connected client gets close 1001 on SIGTERM"
  # ringchat's reason says when to come back (docs/PROTOCOL.md, "Draining").
  if [[ "$kind" == ringchat ]]; then
    if grep -Eq '^CLOSED 1001 draining; retry_ms=[0-9]+$' "$work/watch.out"; then
      pass "the 1001 reason is 'draining; retry_ms=N'"
    else
      fail "the 1001 reason is 'draining; retry_ms=N'" "$(tr '\n' ' ' <"$work/watch.out")"
    fi
  fi
elif [[ "$kind" == ringchat ]]; then
  fail "connected client gets close 1001 on SIGTERM" "$(tr '\n' ' ' <"$work/watch.out")"
else
  echo "INFO $kind closed the watcher with: $(tr '\n' ' ' <"$work/watch.out")"
fi

server_log_tail 30
summary
