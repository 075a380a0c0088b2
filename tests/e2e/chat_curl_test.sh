#!/usr/bin/env bash
# End-to-end checks of GET /sse/{room} and the HTTP API with curl (not
# written here). Port from E2E_PORT. Prints a PASS or FAIL line per check;
# exits 1 if any failed. JSON answers are read with /usr/bin/python3.
set -uo pipefail

port="${E2E_PORT:?}"
base="http://127.0.0.1:$port"
py=/usr/bin/python3
work="$(mktemp -d)"
sse_pid=""
cleanup() {
  [[ -n "$sse_pid" ]] && kill "$sse_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

failed=0
check() {  # check NAME WHY-IF-FAILED CMD...: PASS if CMD succeeds
  local name="$1" why="$2"; shift 2
  if "$@"; then echo "PASS curl: $name"; else echo "FAIL curl: $name: $why"; failed=$((failed + 1)); fi
}
# jq-like: json_ok FILE PYTHON-EXPR (with `j` the parsed body) -> status
json_ok() { "$py" -c "import json,sys; j=json.load(open(sys.argv[1])); sys.exit(0 if ($2) else 1)" "$1" 2>/dev/null; }
# status_json_ok STATUS WANT FILE EXPR: the status is WANT and json_ok FILE EXPR
status_json_ok() { [[ "$1" == "$2" ]] && json_ok "$3" "$4"; }
room="curl-$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')"

# --- SSE: headers, retry, joined, and a message published meanwhile. curl
# ends itself after 3 s (exit 28); we publish once `joined` is in the file.
curl -sN -D "$work/sse.head" --max-time 3 "$base/sse/$room" >"$work/sse.body" 2>/dev/null &
sse_pid=$!
for _ in $(seq 50); do grep -q '^event: joined' "$work/sse.body" 2>/dev/null && break; sleep 0.1; done
curl -s --max-time 5 -o "$work/presence.json" "$base/rooms/$room/presence"
curl -s --max-time 5 -o "$work/post_text.json" -w '%{http_code}' -H 'Content-Type: text/plain' \
  --data-binary 'hello from curl' "$base/rooms/$room/messages" >"$work/post_text.code"
wait "$sse_pid"
sse_rc=$?
sse_pid=""
head_lc="$(tr -d '\r' <"$work/sse.head" | tr '[:upper:]' '[:lower:]')"
body="$(cat "$work/sse.body")"
sse_headers_ok() {
  grep -q "^http/1.1 200" <<<"$head_lc" && grep -q "^content-type: text/event-stream" <<<"$head_lc" &&
    grep -q "^cache-control: no-cache$" <<<"$head_lc" && grep -q "^x-accel-buffering: no$" <<<"$head_lc" &&
    grep -q "^access-control-allow-origin: \*$" <<<"$head_lc"
}
starts_with_retry() { [[ "$(head -1 <<<"$body")" =~ ^retry:\ [0-9]+$ ]]; }
epoch="$(sed -n 's/^id: \([0-9a-f]\{16\}\):0$/\1/p' "$work/sse.body" | head -1)"
check "curl -sN /sse/{room} runs until --max-time (exit 28: the stream stays open)" \
  "exit $sse_rc" test "$sse_rc" = 28
check "SSE headers: 200, text/event-stream, Cache-Control: no-cache, X-Accel-Buffering: no, ACAO: *" \
  "$(tr '\r\n' '  ' <"$work/sse.head")" sse_headers_ok
check "SSE body starts with a retry: line" "$(head -c 200 <<<"$body")" starts_with_retry
check "SSE joined event: id EPOCH:0, data with epoch, seq 0, recovered false" "$body" \
  grep -qzE "event: joined
id: $epoch:0
data: \\{\"epoch\":\"$epoch\",\"seq\":0,\"recovered\":false\\}" "$work/sse.body"
check "SSE carries the message published meanwhile (id EPOCH:1, data)" "$body" \
  grep -qzE "
id: $epoch:1
data: hello from curl
" "$work/sse.body"
check "presence counts the open SSE stream" "$(cat "$work/presence.json")" \
  json_ok "$work/presence.json" "j['room']=='$room' and j['count']==1 and len(j['members'])==1"
check "POST text/plain: 201 {room, epoch, seq 1}" "$(cat "$work/post_text.code") $(cat "$work/post_text.json")" \
  status_json_ok "$(cat "$work/post_text.code")" 201 "$work/post_text.json" \
  "j=={'room':'$room','epoch':'$epoch','seq':1}"

# --- The HTTP API.
code=$(curl -s --max-time 5 -D "$work/post.head" -o "$work/post_json.json" -w '%{http_code}' \
  -H 'Content-Type: application/json' --data-binary '{ "k" : [1, 2.50, "\u00e9"] , "n": null }' \
  "$base/rooms/$room/messages")
check "POST application/json: 201 {room, epoch, seq 2}" "$code $(cat "$work/post_json.json")" \
  status_json_ok "$code" 201 "$work/post_json.json" "j=={'room':'$room','epoch':'$epoch','seq':2}"
check "the answer is Content-Type: application/json" "$(tr '\r\n' '  ' <"$work/post.head")" \
  grep -qi "^content-type: application/json" "$work/post.head"
code=$(curl -s --max-time 5 -o "$work/bad_json.json" -w '%{http_code}' -H 'Content-Type: application/json' \
  --data-binary '{"k":' "$base/rooms/$room/messages")
check "POST application/json that is not JSON: 400 bad_json" "$code $(cat "$work/bad_json.json")" \
  status_json_ok "$code" 400 "$work/bad_json.json" "j['code']=='bad_json'"
printf '\xff\x00\x01' >"$work/bin"
curl -s --max-time 5 -o /dev/null -H 'Content-Type: application/octet-stream' --data-binary @"$work/bin" \
  "$base/rooms/$room/messages"

curl -s --max-time 5 -o "$work/msgs.json" "$base/rooms/$room/messages"
check "GET /rooms/{room}/messages: text, JSON and binary messages, oldest first" "$(cat "$work/msgs.json")" \
  json_ok "$work/msgs.json" "j['room']=='$room' and j['epoch']=='$epoch' and j['seq']==3 and j['recovered'] is False
  and [m['seq'] for m in j['messages']]==[1,2,3] and j['messages'][0]['data']=='hello from curl'
  and j['messages'][1]['data']=={'k':[1,2.5,'\u00e9'],'n':None} and j['messages'][2]['data_base64']=='/wAB'
  and 'data' not in j['messages'][2] and all(isinstance(m['ts'],int) and m['from'] for m in j['messages'])"
curl -s --max-time 5 -o "$work/since.json" "$base/rooms/$room/messages?since=$epoch:1&limit=1"
check "GET /rooms/{room}/messages?since=EPOCH:1&limit=1: message 2, recovered true" "$(cat "$work/since.json")" \
  json_ok "$work/since.json" "j['recovered'] is True and [m['seq'] for m in j['messages']]==[2]"
code=$(curl -s --max-time 5 -o "$work/bad_limit.json" -w '%{http_code}' "$base/rooms/$room/messages?limit=0")
check "GET messages?limit=0: 400 bad_limit" "$code $(cat "$work/bad_limit.json")" \
  status_json_ok "$code" 400 "$work/bad_limit.json" "j['code']=='bad_limit'"
code=$(curl -s --max-time 5 -o "$work/bad_since.json" -w '%{http_code}' "$base/rooms/$room/messages?since=zz")
check "GET messages?since=zz: 400 bad_since" "$code $(cat "$work/bad_since.json")" \
  status_json_ok "$code" 400 "$work/bad_since.json" "j['code']=='bad_since'"
code=$(curl -s --max-time 5 -o "$work/bad_room.json" -w '%{http_code}' "$base/rooms/bad%20room/messages")
check "GET /rooms/bad%20room/messages: 400 bad_room" "$code $(cat "$work/bad_room.json")" \
  status_json_ok "$code" 400 "$work/bad_room.json" "j['code']=='bad_room'"

curl -s --max-time 5 -o "$work/presence0.json" "$base/rooms/$room/presence"
check "GET /rooms/{room}/presence after the stream ended: count 0" "$(cat "$work/presence0.json")" \
  json_ok "$work/presence0.json" "j=={'room':'$room','count':0,'members':[]}"

# Two more rooms that sort right after ours, so that paging is seen.
curl -s --max-time 5 -o /dev/null --data-binary x "$base/rooms/$room-b/messages"
curl -s --max-time 5 -o /dev/null --data-binary x "$base/rooms/$room-c/messages"
prev="${room%?}"  # a name just before ours
curl -s --max-time 5 -o "$work/rooms1.json" "$base/rooms?after=$prev&limit=2"
next="$("$py" -c 'import json,sys; print(json.load(open(sys.argv[1])).get("next") or "")' "$work/rooms1.json" 2>/dev/null)"
curl -s --max-time 5 -o "$work/rooms2.json" "$base/rooms?after=$next&limit=1"
check "GET /rooms?after=&limit=: the rooms by name, with members, paged by next" \
  "$(cat "$work/rooms1.json") / $(cat "$work/rooms2.json")" \
  json_ok "$work/rooms1.json" "j=={'rooms':[{'room':'$room','members':0},{'room':'$room-b','members':0}],'next':'$room-b'}
  and json.load(open('$work/rooms2.json'))['rooms']==[{'room':'$room-c','members':0}]"

exit $((failed > 0))
