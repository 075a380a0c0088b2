#!/usr/bin/env bash
# End-to-end tests of token auth (docs/SECURITY.md) with clients nobody here
# wrote, each minting its own HS256 tokens from the server's secret:
#   auth_ws_test.py       Python websockets: the token in each place, the
#                         refusals (401/403 and their codes), room grants,
#                         raw-socket 1008, expiry (4001) and refresh
#   auth_node_test.js     npm ws (the token in each place), npm eventsource
#                         (?token=, expiry), fetch on the HTTP API (API key)
#   auth_page.html        a page in headless Chromium, from an origin in
#     + auth_chromium_test.js  --origins (WebSocket with bearer.<jwt>,
#                         EventSource with ?token=) and from one not in it
#
#   tests/e2e/auth_clients.sh RINGCHAT [ARGS...]
#
# Writes a random 48-byte secret and an API key to files, serves the page
# twice with python3 -m http.server (two loopback ports: two origins), picks
# a free loopback port and starts `RINGCHAT ARGS --threads 2 --port N --bind
# 127.0.0.1 --jwt-secret-file F --api-key-file K --origins
# http://127.0.0.1:PAGEPORT --clock-skew 0` (no skew: a token's expiry is
# seen within its second), waits for /healthz, runs every test, stops the
# server with SIGTERM and checks that it exits 0. Each check prints one
# PASS/FAIL line; the last line is `N passed, N failed`, and the exit status
# is 1 if anything failed. Chromium missing is a FAIL (tools/setup-deps.sh
# --test installs it). Everything it starts is killed on exit. About 12 s.
set -uo pipefail

if [[ $# -eq 0 ]]; then
  echo "usage: auth_clients.sh RINGCHAT [ARGS...]" >&2
  exit 2
fi
here="$(cd "$(dirname "$0")" && pwd)"
py=/usr/bin/python3      # Debian's, which has python3-websockets
work="$(mktemp -d)"
server_pid=""
page_pid=""
bad_page_pid=""
chrome_pid=""
test_pid=""

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
  stop "$test_pid" 3
  stop "$chrome_pid" 3
  stop "$page_pid" 3
  stop "$bad_page_pid" 3
  stop "$server_pid" 3
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

passed=0
failed=0
pass() { echo "PASS $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1${2:+: $2}"; failed=$((failed + 1)); }

free_port() {
  "$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# Runs one test program with a deadline; counts its PASS/FAIL lines, and a
# FAIL if it dies without one or ran no check. In the background, waited
# for: a signal to this script is handled at once, not after the test.
run_test() {
  local name="$1"; shift
  local out="$work/$name.out"
  timeout -k 5 "${E2E_TEST_TIMEOUT:-40}" "$@" >"$out" 2>&1 &
  test_pid=$!
  wait "$test_pid"
  local rc=$?
  test_pid=""
  cat "$out"
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

# The secret: 48 random bytes, raw. The server drops one final LF (and then
# a CR) of a secret file, so a secret ending in either is drawn again.
write_secrets() {
  "$py" - "$work/secret" "$work/api-key" <<'EOF'
import os, sys
while True:
    secret = os.urandom(48)
    if secret[-1:] not in (b"\n", b"\r"):
        break
with open(sys.argv[1], "wb") as f:
    f.write(secret)
with open(sys.argv[2], "w") as f:
    f.write(os.urandom(32).hex())
EOF
  chmod 600 "$work/secret" "$work/api-key"
}

# Serves auth_page.html alone, from its own directory, on a new port; sets
# $served_port and $served_pid.
serve_page() {
  local name="$1"
  mkdir -p "$work/page"
  cp "$here/auth_page.html" "$work/page/"
  served_port="$(free_port)"
  "$py" -m http.server "$served_port" --bind 127.0.0.1 --directory "$work/page" \
    >"$work/$name.log" 2>&1 &
  served_pid=$!
  for _ in $(seq 100); do
    curl -sf -o /dev/null --max-time 1 "http://127.0.0.1:$served_port/auth_page.html" && return 0
    kill -0 "$served_pid" 2>/dev/null || break
    sleep 0.1
  done
  return 1
}

start_server() {
  port="$(free_port)"
  local cmd=("${server_cmd[@]}" --threads 2 --port "$port" --bind 127.0.0.1
             --jwt-secret-file "$work/secret" --api-key-file "$work/api-key"
             --origins "http://127.0.0.1:$page_port" --clock-skew 0)
  echo "auth e2e: port=$port server: ${cmd[*]}"
  "${cmd[@]}" >"$work/server.log" 2>&1 &
  server_pid=$!
  local deadline=$((SECONDS + 20))
  while ((SECONDS < deadline)) && kill -0 "$server_pid" 2>/dev/null; do
    curl -sf -o /dev/null --max-time 1 "http://127.0.0.1:$port/healthz" && return 0
    sleep 0.1
  done
  return 1
}

run_chromium() {
  local chromium
  chromium="$(command -v chromium || command -v chromium-browser)"
  if [[ -z "$chromium" ]]; then
    fail "chromium: headless Chromium runs auth_page.html" \
      "chromium is not installed (tools/setup-deps.sh --test installs Debian's chromium)"
    return
  fi
  if ((!pages_ok)); then
    fail "chromium: python3 -m http.server serves auth_page.html on two ports" \
      "$(tail -5 "$work"/page*.log)"
    return
  fi
  local dir="$work/chrome"
  "$chromium" --headless=new --no-sandbox --disable-gpu --no-first-run \
    --no-default-browser-check --user-data-dir="$dir" --remote-debugging-port=0 about:blank \
    >"$work/chrome.log" 2>&1 &
  chrome_pid=$!
  E2E_PAGE_PORT="$page_port" E2E_BAD_PAGE_PORT="$bad_page_port" E2E_CHROME_DIR="$dir" \
    run_test chromium node "$here/auth_chromium_test.js"
  # auth_chromium_test.js closed the browser (Browser.close); make sure.
  wait_exit "$chrome_pid" 5
  stop "$chrome_pid" 5
  chrome_pid=""
  if grep -q '^FAIL ' "$work/chromium.out"; then
    echo "--- chromium log (tail)"; tail -n 20 "$work/chrome.log"
  fi
}

server_cmd=("$@")
started=$SECONDS
node_ok=0
ensure_node_modules && node_ok=1
write_secrets
pages_ok=0
page_port=0
bad_page_port=0
if serve_page page; then
  page_port=$served_port; page_pid=$served_pid
  if serve_page page-bad; then
    bad_page_port=$served_port; bad_page_pid=$served_pid; pages_ok=1
  else
    bad_page_pid=$served_pid
  fi
else
  page_pid=$served_pid
fi

if start_server; then
  pass "server with --jwt-secret-file, --api-key-file, --origins answers /healthz within 20 s"
  export E2E_PORT="$port" E2E_SECRET_FILE="$work/secret" E2E_API_KEY_FILE="$work/api-key"
  run_test ws "$py" "$here/auth_ws_test.py"
  if ((node_ok)); then
    run_test node node "$here/auth_node_test.js"
    run_chromium
  else
    fail "node: npm could not install ws and eventsource into tests/e2e/node_modules"
  fi

  kill -TERM "$server_pid"
  if wait_exit "$server_pid" 10; then
    wait "$server_pid"
    rc=$?
    if ((rc == 0)); then pass "server exits 0 on SIGTERM"; else fail "server exits 0 on SIGTERM" "status $rc"; fi
  else
    fail "server exits within 10 s of SIGTERM"
    kill -KILL "$server_pid" 2>/dev/null
  fi
  server_pid=""
else
  fail "server with --jwt-secret-file, --api-key-file, --origins answers /healthz within 20 s" \
    "$(tail -n 20 "$work/server.log")"
fi
if grep -q '^FAIL ' "$work"/*.out 2>/dev/null; then
  echo "--- server log (tail)"; tail -n 20 "$work/server.log"
fi
echo "auth e2e: $((SECONDS - started)) s"
echo "$passed passed, $failed failed"
((failed == 0))
