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
# shellcheck source=tests/e2e/lib.sh
source "$here/lib.sh"
work="$(mktemp -d)"
page_pid=""
bad_page_pid=""
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

start_auth_server() {
  port="$(free_port)"
  local cmd=("${server_cmd[@]}" --threads 2 --port "$port" --bind 127.0.0.1
             --jwt-secret-file "$work/secret" --api-key-file "$work/api-key"
             --origins "http://127.0.0.1:$page_port" --clock-skew 0)
  echo "auth e2e: port=$port server: ${cmd[*]}"
  start_server 20 "http://127.0.0.1:$port/healthz" -- "${cmd[@]}"
}

# about:blank: auth_chromium_test.js navigates the tab to each page.
auth_chromium() {
  have_chromium auth_page.html || return
  if ((!pages_ok)); then
    fail "chromium: python3 -m http.server serves auth_page.html on two ports" \
      "$(tail -5 "$work"/page*.log)"
    return
  fi
  E2E_PAGE_PORT="$page_port" E2E_BAD_PAGE_PORT="$bad_page_port" \
    run_chromium "$work/chrome" about:blank -- node "$here/auth_chromium_test.js"
}

server_cmd=("$@")
started=$SECONDS
node_ok=0
ensure_node_modules && node_ok=1
write_secrets
pages_ok=0
page_port=0
bad_page_port=0
if serve_page auth_page.html page; then
  page_port=$served_port; page_pid=$served_pid
  if serve_page auth_page.html page-bad; then
    bad_page_port=$served_port; bad_page_pid=$served_pid; pages_ok=1
  else
    bad_page_pid=$served_pid
  fi
else
  page_pid=$served_pid
fi

if start_auth_server; then
  pass "server with --jwt-secret-file, --api-key-file, --origins answers /healthz within 20 s"
  export E2E_PORT="$port" E2E_SECRET_FILE="$work/secret" E2E_API_KEY_FILE="$work/api-key"
  run_test ws "$py" "$here/auth_ws_test.py"
  if ((node_ok)); then
    run_test node node "$here/auth_node_test.js"
    auth_chromium
  else
    fail "node: npm could not install ws and eventsource into tests/e2e/node_modules"
  fi

  sigterm_server server 10
else
  fail "server with --jwt-secret-file, --api-key-file, --origins answers /healthz within 20 s" \
    "$(tail -n 20 "$work/server.log")"
fi
if grep -q '^FAIL ' "$work"/*.out 2>/dev/null; then
  echo "--- server log (tail)"; tail -n 20 "$work/server.log"
fi
echo "auth e2e: $((SECONDS - started)) s"
summary
