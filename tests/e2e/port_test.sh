#!/usr/bin/env bash
# A second ringchat on the port of a running one (ringchat-specific; run.sh
# runs it while its server listens on 127.0.0.1:E2E_PORT):
# - without --reuse-port it exits non-zero within seconds, saying the port
#   is in use, and the first goes on serving;
# - with --reuse-port it starts next to the first (a rolling restart) and
#   exits 0 on SIGTERM, leaving the first serving.
#
#   E2E_PORT=N tests/e2e/port_test.sh SERVER_CMD [ARGS...]
#
# Prints PASS/FAIL lines; kills whatever it started.
set -uo pipefail
base="http://127.0.0.1:$E2E_PORT"
failed=0
check() {  # check NAME COND_STATUS [WHY]
  if [[ "$2" == 0 ]]; then echo "PASS port: $1"; else echo "FAIL port: $1${3:+: $3}"; failed=1; fi
}
tmp="$(mktemp -d)"
pid=""
cleanup() {
  if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

# Waits up to $2 seconds for process $1 to exit; returns its status, or 124
# after killing it.
wait_exit() {
  local deadline=$((SECONDS + $2))
  while kill -0 "$1" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.05; done
  if kill -0 "$1" 2>/dev/null; then
    kill -KILL "$1" 2>/dev/null
    wait "$1" 2>/dev/null
    return 124
  fi
  wait "$1"
}

"$@" --port "$E2E_PORT" --bind 127.0.0.1 >"$tmp/second.out" 2>"$tmp/second.err" &
pid=$!
wait_exit "$pid" 5
rc=$?
[[ $rc != 0 && $rc != 124 ]]
check "a second server on the port exits non-zero within 5 s" $? "status $rc"
grep -q "port $E2E_PORT on 127.0.0.1 is already in use" "$tmp/second.err" &&
  grep -q -- "--reuse-port" "$tmp/second.err"
check "it says on stderr that the port is in use and how to share it" $? \
  "$(tr '\n' ' ' <"$tmp/second.err")"
curl -sf --max-time 5 -o /dev/null "$base/healthz"
check "the first server still answers /healthz" $?

"$@" --port "$E2E_PORT" --bind 127.0.0.1 --reuse-port >"$tmp/reuse.out" 2>"$tmp/reuse.err" &
pid=$!
deadline=$((SECONDS + 10))
until grep -q "listening on" "$tmp/reuse.err" || ! kill -0 "$pid" 2>/dev/null ||
  ((SECONDS >= deadline)); do
  sleep 0.05
done
kill -0 "$pid" 2>/dev/null && grep -q "listening on" "$tmp/reuse.err"
check "with --reuse-port a second server starts on the port" $? \
  "$(tr '\n' ' ' <"$tmp/reuse.err")"
ok=0
for _ in 1 2 3 4 5 6 7 8; do
  curl -sf --max-time 5 -o /dev/null "$base/healthz" && ok=$((ok + 1))
done
[[ $ok == 8 ]]
check "while both listen every /healthz is answered" $? "$ok of 8"
kill -TERM "$pid" 2>/dev/null
wait_exit "$pid" 10
rc=$?
pid=""
[[ $rc == 0 ]]
check "the --reuse-port server exits 0 on SIGTERM" $? "status $rc"
curl -sf --max-time 5 -o /dev/null "$base/healthz"
check "the first server still answers /healthz after it left" $?
exit $failed
