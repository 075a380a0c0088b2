#!/usr/bin/env bash
# End-to-end HTTP checks with curl against a /ws/{room} server.
# Port from E2E_PORT; E2E_KIND is ringchat or node-ws. Prints PASS/FAIL lines.
set -uo pipefail
base="http://127.0.0.1:$E2E_PORT"
kind="${E2E_KIND:-ringchat}"
failed=0
check() {  # check NAME COND_STATUS [WHY]
  if [[ "$2" == 0 ]]; then echo "PASS curl: $1"; else echo "FAIL curl: $1${3:+: $3}"; failed=1; fi
}
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
ws_headers=(-H 'Upgrade: websocket' -H 'Connection: Upgrade'
  -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' -H 'Sec-WebSocket-Version: 13')

curl -sf --max-time 5 -o /dev/null "$base/healthz"
check "GET /healthz answers 2xx" $?

code=$(curl -s --max-time 5 -D "$tmp/h" -o /dev/null -w '%{http_code}' "$base/ws/room1")
grep -qi '^Sec-WebSocket-Version: *13' "$tmp/h"; hv=$?
[[ "$code" == 426 && $hv == 0 ]]
check "GET /ws/room without Upgrade gets 426 with Sec-WebSocket-Version: 13" $? "status $code"

code=$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' "${ws_headers[@]}" "$base/ws/bad%20room")
[[ "$code" == 400 ]]
check "upgrade to a bad room name gets 400" $? "status $code"

code=$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' "$base/no/such/path")
[[ "$code" == 404 ]]
check "unknown path gets 404" $? "status $code"

# The RFC 6455 §1.3 sample key has a known accept value. curl waits on the
# upgraded connection until --max-time; the headers are what we check.
curl -s --http1.1 --max-time 2 -D "$tmp/up" -o /dev/null "${ws_headers[@]}" "$base/ws/room1"
head -n1 "$tmp/up" | grep -q ' 101'; s=$?
grep -qi '^Sec-WebSocket-Accept: *s3pPLMBiTxaQ9kYGzzhZRbK+xOo=' "$tmp/up"; a=$?
[[ $s == 0 && $a == 0 ]]
check "handshake gets 101 with the RFC 6455 sample Sec-WebSocket-Accept" $? "$(tr -d '\r' <"$tmp/up" | tr '\n' '|')"

curl -sv --max-time 5 -o /dev/null -o /dev/null "$base/healthz" "$base/healthz" 2>"$tmp/ka"
grep -qi 're-using existing connection\|reusing existing connection' "$tmp/ka"
check "two requests reuse one keep-alive connection" $?

big="$(head -c 65536 /dev/zero | tr '\0' 'x')"
code=$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' -H "X-Big: $big" "$base/healthz")
[[ "$code" == 431 ]]
check "a 64 KiB request header gets 431" $? "status $code"

if [[ "$kind" == ringchat ]]; then
  code=$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' -X POST "$base/healthz")
  [[ "$code" == 405 ]]
  check "POST /healthz gets 405 (ringchat-specific)" $? "status $code"

  out=$(curl -s --max-time 5 -w ' %{http_code}' --data-binary 'hello from curl' \
    "$base/rooms/curl-room/messages" | tr -d '\n')
  [[ "$out" =~ ^\{\"room\":\"curl-room\",\"epoch\":\"[0-9a-f]{16}\",\"seq\":1\}\ 201$ ]]
  check "POST /rooms/{room}/messages publishes and answers 201 with epoch and seq" $? "$out"
fi
exit $failed
