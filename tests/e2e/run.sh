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

py=/usr/bin/python3      # Debian's, which has python3-websockets
work="$(mktemp -d)"
server_pid=""
cleanup() {
  if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill -KILL "$server_pid" 2>/dev/null
  fi
  rm -rf "$work"
}
trap cleanup EXIT

passed=0
failed=0
# Records one check: pass NAME / fail NAME WHY.
pass() { echo "PASS $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1${2:+: $2}"; failed=$((failed + 1)); }

free_port() {
  "$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# Polls /healthz until it answers 200 or the deadline (seconds) passes.
wait_healthy() {
  local deadline=$((SECONDS + $1))
  while ((SECONDS < deadline)); do
    if ! kill -0 "$server_pid" 2>/dev/null; then return 1; fi
    if curl -sf -o /dev/null --max-time 1 "http://127.0.0.1:$port/healthz"; then return 0; fi
    sleep 0.1
  done
  return 1
}

# Runs one test program with a deadline; counts its PASS/FAIL lines, and a
# FAIL if it dies without having printed any, or exits non-zero.
run_test() {
  local name="$1"; shift
  local out="$work/$name.out"
  timeout -k 5 "${E2E_TEST_TIMEOUT:-90}" "$@" >"$out" 2>&1
  local rc=$?
  cat "$out"
  local p f
  p=$(grep -c '^PASS ' "$out")
  f=$(grep -c '^FAIL ' "$out")
  passed=$((passed + p))
  failed=$((failed + f))
  if ((rc != 0 && f == 0)); then fail "$name" "exited $rc without a FAIL line"; fi
  if ((p + f == 0 && rc == 0)); then fail "$name" "ran no check"; fi
}

ensure_node_ws() {
  [[ -d "$here/node_modules/ws" ]] && return 0
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error) >"$work/npm.log" 2>&1 ||
    { cat "$work/npm.log"; return 1; }
}

port="$(free_port)"
echo "e2e: kind=$kind port=$port server: $* --port $port --bind 127.0.0.1"
"$@" --port "$port" --bind 127.0.0.1 >"$work/server.log" 2>&1 &
server_pid=$!

if wait_healthy "${E2E_START_TIMEOUT:-20}"; then
  pass "server answers /healthz within deadline"
else
  fail "server answers /healthz within deadline"
  echo "--- server log"; tail -n 50 "$work/server.log"
  echo "$passed passed, $failed failed"
  exit 1
fi

export E2E_PORT="$port" E2E_KIND="$kind" E2E_IDLE_S="$idle_s"
run_test python-websockets "$py" "$here/websockets_test.py"
run_test curl bash "$here/curl_test.sh"
if ensure_node_ws; then
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
kill -TERM "$server_pid"
deadline=$((SECONDS + ${E2E_STOP_TIMEOUT:-10}))
while kill -0 "$server_pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.1; done
if kill -0 "$server_pid" 2>/dev/null; then
  fail "server exits within ${E2E_STOP_TIMEOUT:-10}s of SIGTERM"
else
  wait "$server_pid"
  rc=$?
  server_pid=""
  if ((rc == 0)); then pass "server exits 0 on SIGTERM"; else fail "server exits 0 on SIGTERM" "exit status $rc"; fi
fi
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

if ((failed > 0)); then echo "--- server log (tail)"; tail -n 30 "$work/server.log"; fi
echo "$passed passed, $failed failed"
((failed == 0))
