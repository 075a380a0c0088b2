#!/usr/bin/env bash
# Runs the Artillery scenario briefly (its default smoke phase) against a server and checks
# Artillery's report: every virtual user completed, none failed, messages
# went out and came back, and both scenarios ran.
#
#   bench/artillery/test.sh [--kind ringchat|node-ws] [--] SERVER_CMD [ARGS...]
#
# The server gets `--port N --bind 127.0.0.1`. Prints PASS/FAIL lines and
# `N passed, N failed`; exits 1 if any failed.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
[[ "${1:-}" == --kind ]] && shift 2
[[ "${1:-}" == -- ]] && shift
[[ $# -gt 0 ]] || { echo "usage: test.sh [--kind K] [--] SERVER_CMD [ARGS...]" >&2; exit 2; }
py=/usr/bin/python3
work="$(mktemp -d)"
server_pid=""
trap '[[ -n "$server_pid" ]] && kill -KILL "$server_pid" 2>/dev/null; rm -rf "$work"' EXIT

port="$("$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')"
"$@" --port "$port" --bind 127.0.0.1 >"$work/server.log" 2>&1 &
server_pid=$!
deadline=$((SECONDS + 20))
until curl -sf -o /dev/null --max-time 1 "http://127.0.0.1:$port/healthz"; do
  if ((SECONDS > deadline)) || ! kill -0 "$server_pid" 2>/dev/null; then
    echo "FAIL artillery: server did not answer /healthz"; cat "$work/server.log"
    echo "0 passed, 1 failed"; exit 1
  fi
  sleep 0.1
done

timeout -k 5 600 "$here/run.sh" --target "ws://127.0.0.1:$port" \
  --output "$work/report.json" >"$work/artillery.log" 2>&1
rc=$?
kill -TERM "$server_pid"; wait "$server_pid" 2>/dev/null; server_pid=""

RC="$rc" REPORT="$work/report.json" LOG="$work/artillery.log" "$py" - <<'PYEOF'
import json, os, sys
passed = failed = 0
def check(name, ok, why=""):
    global passed, failed
    print(f"{'PASS' if ok else 'FAIL'} artillery: {name}{'' if ok else ': ' + why}")
    passed += ok
    failed += not ok
try:
    with open(os.environ["REPORT"]) as f:
        c = json.load(f)["aggregate"]["counters"]
except (OSError, ValueError, KeyError) as e:
    check("artillery wrote a report", False, f"{e}; exit {os.environ['RC']}")
    print(open(os.environ["LOG"]).read()[-3000:])
    print(f"{passed} passed, {failed} failed")
    sys.exit(1)
created, done = c.get("vusers.created", 0), c.get("vusers.completed", 0)
check("artillery exits 0", os.environ["RC"] == "0", f"exit {os.environ['RC']}")
check("virtual users were created", created >= 8, f"created {created}")
check("every virtual user completed", done == created, f"{done} of {created}")
check("no virtual user failed", c.get("vusers.failed", 0) == 0,
      json.dumps({k: v for k, v in c.items() if k.startswith("errors.")}))
check("both scenarios ran", c.get("vusers.created_by_name.echo", 0) > 0 and
      c.get("vusers.created_by_name.chat", 0) > 0, json.dumps(c))
check("messages went out and came back",
      c.get("websocket.messages_sent", 0) >= 10 * done and
      c.get("websocket.messages_received", 0) > 0, json.dumps(c))
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
PYEOF
