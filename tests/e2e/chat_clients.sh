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
py=/usr/bin/python3      # Debian's, which has python3-websockets
work="$(mktemp -d)"
server_pid=""
page_pid=""
chrome_pid=""
# Waits (at most $2 s) until pid $1 has exited; 0 if it has.
wait_exit() {
  local deadline=$((SECONDS + $2))
  while kill -0 "$1" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.1; done
  ! kill -0 "$1" 2>/dev/null
}

# Stops a process we started, by pid: SIGTERM, then SIGKILL after $2 s.
stop() {
  [[ -n "$1" ]] || return 0
  kill -TERM "$1" 2>/dev/null
  wait_exit "$1" "$2" || kill -KILL "$1" 2>/dev/null
  wait "$1" 2>/dev/null
}

cleanup() {
  stop "$chrome_pid" 3
  stop "$page_pid" 3
  stop "$server_pid" 3
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

passed=0
failed=0
tag=""
pass() { echo "PASS $tag$1"; passed=$((passed + 1)); }
fail() { echo "FAIL $tag$1${2:+: $2}"; failed=$((failed + 1)); }

free_port() {
  "$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# Runs one test program with a deadline; counts its PASS/FAIL lines (shown
# with the round's tag), and a FAIL if it dies without one or ran no check.
run_test() {
  local name="$1"; shift
  local out="$work/$name.out"
  timeout -k 5 "${E2E_TEST_TIMEOUT:-60}" "$@" >"$out" 2>&1
  local rc=$?
  sed -E "s/^(PASS|FAIL|SKIP) /\1 $tag/" "$out"
  local p f
  p=$(grep -c '^PASS ' "$out")
  f=$(grep -c '^FAIL ' "$out")
  passed=$((passed + p))
  failed=$((failed + f))
  if ((rc != 0 && f == 0)); then fail "$name" "exited $rc without a FAIL line"; fi
  if ((p + f == 0 && rc == 0)); then fail "$name" "ran no check"; fi
}

# npm ws and eventsource in tests/e2e/node_modules (from package-lock.json).
ensure_node_modules() {
  [[ -d "$here/node_modules/ws" && -d "$here/node_modules/eventsource" ]] && return 0
  (cd "$here" && timeout 300 npm ci --no-audit --no-fund --loglevel=error) >"$work/npm.log" 2>&1 ||
    { cat "$work/npm.log"; return 1; }
}

# The page is served alone, from its own directory, on another port than
# ringchat's: a cross-origin page.
start_page_server() {
  mkdir -p "$work/page"
  cp "$here/chat_page.html" "$work/page/"
  page_port="$(free_port)"
  "$py" -m http.server "$page_port" --bind 127.0.0.1 --directory "$work/page" \
    >"$work/page.log" 2>&1 &
  page_pid=$!
  for _ in $(seq 100); do
    curl -sf -o /dev/null --max-time 1 "http://127.0.0.1:$page_port/chat_page.html" && return 0
    kill -0 "$page_pid" 2>/dev/null || break
    sleep 0.1
  done
  return 1
}

run_chromium() {
  local chromium
  chromium="$(command -v chromium || command -v chromium-browser)"
  if [[ -z "$chromium" ]]; then
    fail "chromium: headless Chromium runs chat_page.html" \
      "chromium is not installed (tools/setup-deps.sh --test installs Debian's chromium)"
    return
  fi
  if [[ -z "$page_pid" ]] && ! start_page_server; then
    fail "chromium: python3 -m http.server serves chat_page.html" "$(tail -5 "$work/page.log")"
    return
  fi
  local room url dir="$work/chrome-$threads"
  room="chromium-$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  url="http://127.0.0.1:$page_port/chat_page.html?port=$port&room=$room"
  "$chromium" --headless=new --no-sandbox --disable-gpu --no-first-run \
    --no-default-browser-check --user-data-dir="$dir" --remote-debugging-port=0 "$url" \
    >"$work/chrome.log" 2>&1 &
  chrome_pid=$!
  E2E_PAGE_URL="$url" E2E_CHROME_DIR="$dir" run_test chromium node "$here/chat_chromium_test.js"
  # chat_chromium_test.js closed the browser (Browser.close); make sure.
  wait_exit "$chrome_pid" 5
  stop "$chrome_pid" 5
  chrome_pid=""
  if grep -q '^FAIL ' "$work/chromium.out"; then
    echo "--- chromium log (tail)"; tail -n 20 "$work/chrome.log"
  fi
}

# One round: a server with --threads $1, every client test, then SIGTERM.
round() {
  threads="$1"
  tag="[t$threads] "
  port="$(free_port)"
  echo "chat e2e: port=$port server: ${server_cmd[*]} --threads $threads --port $port --bind 127.0.0.1"
  "${server_cmd[@]}" --threads "$threads" --port "$port" --bind 127.0.0.1 >"$work/server.log" 2>&1 &
  server_pid=$!
  local deadline=$((SECONDS + 20)) up=0
  while ((SECONDS < deadline)) && kill -0 "$server_pid" 2>/dev/null; do
    if curl -sf -o /dev/null --max-time 1 "http://127.0.0.1:$port/healthz"; then up=1; break; fi
    sleep 0.1
  done
  if ((up)); then
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
    run_chromium
  else
    fail "chromium: the DevTools reader needs npm ws"
  fi

  kill -TERM "$server_pid"
  if wait_exit "$server_pid" 10; then
    wait "$server_pid"
    local rc=$?
    if ((rc == 0)); then pass "server exits 0 on SIGTERM"; else fail "server exits 0 on SIGTERM" "status $rc"; fi
  else
    fail "server exits within 10 s of SIGTERM"
    kill -KILL "$server_pid" 2>/dev/null
  fi
  server_pid=""
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
echo "$passed passed, $failed failed"
((failed == 0))
