# Shared by the end-to-end scripts (source it): PASS/FAIL counting, free
# loopback ports, stopping what a script started, running a test program
# with a deadline, npm packages. Each script keeps its own cleanup trap.
# shellcheck shell=bash

py=/usr/bin/python3  # Debian's, which has python3-websockets
passed=0
failed=0
test_pid=""
pass() { echo "PASS $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1${2:+: $2}"; failed=$((failed + 1)); }
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

# Runs one test program with a deadline (E2E_TEST_TIMEOUT, 40 s); counts its
# PASS/FAIL lines, and a FAIL if it dies without one or ran no check. In the
# background, waited for: a signal to the script is handled at once. Its
# output goes to $work/NAME.out, then to stdout.
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

# npm ws and eventsource (and the rest of package-lock.json) in
# tests/e2e/node_modules.
ensure_node_modules() {
  local here
  here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
  [[ -d "$here/node_modules/ws" && -d "$here/node_modules/eventsource" ]] && return 0
  (cd "$here" && timeout 300 npm ci --no-audit --no-fund --loglevel=error) >"$work/npm.log" 2>&1 ||
    { cat "$work/npm.log"; return 1; }
}
