# Shared by the end-to-end scripts (source it): PASS/FAIL counting, free
# loopback ports, starting the server and stopping what a script started,
# running a test program with a deadline, npm packages, serving a test page
# and running headless Chromium on it. Each script keeps its own cleanup
# trap (stop "$server_pid", "$chrome_pid", ... there).
# shellcheck shell=bash

py=/usr/bin/python3  # Debian's, which has python3-websockets
e2e_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
passed=0
failed=0
test_pid=""
server_pid=""
chrome_pid=""
tag=""            # put before every PASS/FAIL name (chat_clients.sh: "[t2] ")
test_timeout=40   # run_test's deadline in s, unless E2E_TEST_TIMEOUT says
pass() { echo "PASS $tag$1"; passed=$((passed + 1)); }
fail() { echo "FAIL $tag$1${2:+: $2}"; failed=$((failed + 1)); }
check() {  # check NAME WHY-IF-FAILED CMD...: PASS if CMD succeeds
  local name="$1" why="$2"; shift 2
  if "$@"; then pass "$name"; else fail "$name" "$why"; fi
}
oneline() { tr '\r\n' '  ' <"$1" | cut -c 1-"${2:-400}"; }
# The closing line, and the exit status: 1 if anything failed.
summary() {
  echo "$passed passed, $failed failed"
  ((failed == 0))
}

free_port() {
  "$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# 12 random hex digits, for room names.
rand_hex() { head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n'; }

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

# Polls `curl -sf URL` (extra curl options after it) for up to $2 s while
# pid $3 lives; 0 once it answers.
wait_http() {
  local url="$1" secs="$2" pid="$3"; shift 3
  local deadline=$((SECONDS + secs))
  while ((SECONDS < deadline)) && kill -0 "$pid" 2>/dev/null; do
    curl -sf -o /dev/null --max-time 1 "$@" "$url" && return 0
    sleep 0.1
  done
  return 1
}

# start_server SECS URL [CURL-OPTS...] -- CMD...: starts CMD in the
# background (its output in $work/server.log, its pid in $server_pid), then
# waits at most SECS s for URL to answer (wait_http, with the curl options);
# 0 once it does.
start_server() {
  local secs="$1" url="$2" opts=()
  shift 2
  while (($#)) && [[ "$1" != -- ]]; do opts+=("$1"); shift; done
  shift
  "$@" >"$work/server.log" 2>&1 &
  server_pid=$!
  wait_http "$url" "$secs" "$server_pid" "${opts[@]}"
}

# sigterm_server WHO SECS: SIGTERM to $server_pid and the check "WHO exits 0
# on SIGTERM"; a FAIL, and SIGKILL, if it is still running after SECS s.
# Clears server_pid.
sigterm_server() {
  local who="$1" secs="$2" rc
  kill -TERM "$server_pid"
  if wait_exit "$server_pid" "$secs"; then
    wait "$server_pid"
    rc=$?
    check "$who exits 0 on SIGTERM" "exit status $rc" test "$rc" = 0
  else
    fail "$who exits within $secs s of SIGTERM"
    kill -KILL "$server_pid" 2>/dev/null
    wait "$server_pid" 2>/dev/null
  fi
  server_pid=""
}

# Runs one test program with a deadline (E2E_TEST_TIMEOUT, else
# $test_timeout s); counts its PASS/FAIL lines, and a FAIL if it dies
# without one or ran no check. In the background, waited for: a signal to
# the script is handled at once. Its output goes to $work/NAME.out, then to
# stdout (with $tag after PASS, FAIL and SKIP).
run_test() {
  local name="$1"; shift
  local out="$work/$name.out"
  timeout -k 5 "${E2E_TEST_TIMEOUT:-$test_timeout}" "$@" >"$out" 2>&1 &
  test_pid=$!
  wait "$test_pid"
  local rc=$?
  test_pid=""
  sed -E "s/^(PASS|FAIL|SKIP) /\1 $tag/" "$out"
  local p f
  p=$(grep -c '^PASS ' "$out")
  f=$(grep -c '^FAIL ' "$out")
  passed=$((passed + p))
  failed=$((failed + f))
  if ((rc != 0 && f == 0)); then fail "$name" "exited $rc without a FAIL line"; fi
  if ((p + f == 0 && rc == 0)); then fail "$name" "ran no check"; fi
}

# npm ws and eventsource (and the rest of package-lock.json) in
# tests/e2e/node_modules.
ensure_node_modules() {
  [[ -d "$e2e_dir/node_modules/ws" && -d "$e2e_dir/node_modules/eventsource" ]] && return 0
  (cd "$e2e_dir" && timeout 300 npm ci --no-audit --no-fund --loglevel=error) >"$work/npm.log" 2>&1 ||
    { cat "$work/npm.log"; return 1; }
}

# serve_page FILE LOG: serves tests/e2e/FILE alone, from its own directory
# ($work/page), with python3 -m http.server on a free loopback port: another
# origin than the server's. Its output goes to $work/LOG.log. Sets
# $served_port and $served_pid; 0 once the page answers (within 10 s).
serve_page() {
  mkdir -p "$work/page"
  cp "$e2e_dir/$1" "$work/page/"
  served_port="$(free_port)"
  "$py" -m http.server "$served_port" --bind 127.0.0.1 --directory "$work/page" \
    >"$work/$2.log" 2>&1 &
  served_pid=$!
  wait_http "http://127.0.0.1:$served_port/$1" 10 "$served_pid"
}

# have_chromium PAGE: 0 if Chromium is installed (its path in $chromium);
# else a FAIL for PAGE.
have_chromium() {
  chromium="$(command -v chromium || command -v chromium-browser)" && return 0
  fail "chromium: headless Chromium runs $1" \
    "chromium is not installed (tools/setup-deps.sh --test installs Debian's chromium)"
  return 1
}

# run_chromium DIR URL [FLAGS...] -- CMD...: starts headless Chromium (after
# have_chromium) on URL, with the flags, its user data in DIR and DevTools on
# a port it picks (it writes DevToolsActivePort into DIR: chromium.js reads
# it); runs CMD (a *_chromium_test.js) as the test "chromium" with
# E2E_PAGE_URL and E2E_CHROME_DIR set. CMD closes the browser; this makes
# sure it is gone, and shows the tail of its log if a check failed.
run_chromium() {
  local dir="$1" url="$2" flags=()
  shift 2
  while (($#)) && [[ "$1" != -- ]]; do flags+=("$1"); shift; done
  shift
  "$chromium" --headless=new --no-sandbox --disable-gpu --no-first-run --no-default-browser-check \
    "${flags[@]}" --user-data-dir="$dir" --remote-debugging-port=0 "$url" >"$work/chrome.log" 2>&1 &
  chrome_pid=$!
  E2E_PAGE_URL="$url" E2E_CHROME_DIR="$dir" run_test chromium "$@"
  wait_exit "$chrome_pid" 5
  stop "$chrome_pid" 5
  chrome_pid=""
  if grep -q '^FAIL ' "$work/chromium.out"; then
    echo "--- chromium log (tail)"; tail -n 20 "$work/chrome.log"
  fi
}

# server_log_tail N: the last N lines of $work/server.log, if a check failed.
server_log_tail() {
  ((failed == 0)) || { echo "--- server log (tail)"; tail -n "$1" "$work/server.log"; }
}
