#!/usr/bin/env bash
# End-to-end tests of the chat protocol (docs/PROTOCOL.md) with clients
# nobody here wrote:
#   chat_json_test.py     Python websockets on the JSON socket GET /ws
#   chat_sse_test.js      npm eventsource on GET /sse/{room}, npm ws on /ws
#                         and /ws/{room}, fetch on the HTTP API: one order
#   chat_curl_test.sh     curl on /sse/{room} and the HTTP API
#   chat_page.html        a page in headless Chromium (another origin, served
#     + chat_chromium_test.js  by python3 -m http.server): WebSocket + EventSource
#
#   tests/e2e/chat_clients.sh RINGCHAT [ARGS...]
#
# For --threads 2, then 4: picks a free loopback port, starts `RINGCHAT
# ARGS --threads T --port N --bind 127.0.0.1`, waits for /healthz, runs every
# test, stops the server with SIGTERM and checks that it exits 0. Each check
# prints one PASS/FAIL line (tagged [tT]); the last line is `N passed, N
# failed`, and the exit status is 1 if anything failed. Chromium missing is
# a FAIL (tools/setup-deps.sh --test installs it). Everything it starts is
# killed on exit. About 15 s for both rounds.
set -uo pipefail

if [[ $# -eq 0 ]]; then
  echo "usage: chat_clients.sh RINGCHAT [ARGS...]" >&2
  exit 2
fi
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=tests/e2e/lib.sh
source "$here/lib.sh"
test_timeout=60
work="$(mktemp -d)"
page_pid=""
cleanup() {
  stop "$test_pid" 3
  stop "$chrome_pid" 3
  stop "$page_pid" 3
  stop "$server_pid" 3
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# The page is served once, on another port than ringchat's (another origin),
# for both rounds.
chat_chromium() {
  have_chromium chat_page.html || return
  if [[ -z "$page_pid" ]]; then
    serve_page chat_page.html page
    local ok=$?
    page_pid=$served_pid page_port=$served_port
    if ((ok != 0)); then
      fail "chromium: python3 -m http.server serves chat_page.html" "$(tail -5 "$work/page.log")"
      return
    fi
  fi
  local room url
  room="chromium-$(rand_hex)"
  url="http://127.0.0.1:$page_port/chat_page.html?port=$port&room=$room"
  run_chromium "$work/chrome-$threads" "$url" -- node "$here/chat_chromium_test.js"
}

# One round: a server with --threads $1, every client test, then SIGTERM.
round() {
  threads="$1"
  tag="[t$threads] "
  port="$(free_port)"
  echo "chat e2e: port=$port server: ${server_cmd[*]} --threads $threads --port $port --bind 127.0.0.1"
  if start_server 20 "http://127.0.0.1:$port/healthz" -- \
       "${server_cmd[@]}" --threads "$threads" --port "$port" --bind 127.0.0.1; then
    pass "server answers /healthz within 20 s"
  else
    fail "server answers /healthz within 20 s" "$(tail -n 20 "$work/server.log")"
    return
  fi

  export E2E_PORT="$port"
  run_test json "$py" "$here/chat_json_test.py"
  if ((node_ok)); then
    run_test sse node "$here/chat_sse_test.js"
  else
    fail "sse: npm could not install ws and eventsource into tests/e2e/node_modules"
  fi
  run_test curl bash "$here/chat_curl_test.sh"
  if ((node_ok)); then
    chat_chromium
  else
    fail "chromium: the DevTools reader needs npm ws"
  fi

  sigterm_server server 10
  if grep -q '^FAIL ' "$work"/*.out 2>/dev/null; then
    echo "--- server log (tail)"; tail -n 20 "$work/server.log"
  fi
  rm -f "$work"/*.out
}

server_cmd=("$@")
node_ok=0
ensure_node_modules && node_ok=1
started=$SECONDS
for t in 2 4; do round "$t"; done
echo "chat e2e: $((SECONDS - started)) s"
summary
