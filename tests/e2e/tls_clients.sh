#!/usr/bin/env bash
# End-to-end tests of the TLS port (README "TLS") with clients nobody here
# wrote:
#   openssl s_client      TLS 1.2 and 1.3, verification, ALPN, resumption
#                         (-reconnect, -sess_out/-sess_in), on both shards
#   curl                  https:// HTTP API, SSE (-N), /metrics, ALPN
#   tls_ws_test.py        Python websockets over wss://: raw room with 200 KB
#                         messages, the JSON socket
#   tls_node_test.js      npm ws over wss:// (`ca`), npm eventsource over
#                         https:// (NODE_EXTRA_CA_CERTS)
#   chat_page.html?tls=1  a page in headless Chromium (--ignore-certificate-
#     + tls_chromium_test.js  errors): wss:// WebSocket + https:// EventSource
# and bad input on the TLS port: plaintext HTTP (400 in clear), random bytes,
# a stalled handshake, a forged record; a TLS hello on the plain port.
#
#   tests/e2e/tls_clients.sh RINGCHAT [ARGS...]
#
# Makes an EC P-256 self-signed certificate for localhost and 127.0.0.1 (and
# another one it did not sign, for the refusals) with the openssl command
# line in a temp dir, picks two free loopback ports and starts `RINGCHAT
# ARGS --threads 2 --port N --tls-port M --bind 127.0.0.1 --tls-cert C
# --tls-key K --handshake-timeout 3000` (3 s: a stalled handshake is closed
# soon, yet later than the 2 s in which bad bytes must be), waits for
# /healthz, runs every check, stops the server with SIGTERM and checks that
# it exits 0. Each check prints one PASS/FAIL line; the last line is `N
# passed, N failed`, and the exit status is 1 if anything failed. Chromium
# missing is a FAIL (tools/setup-deps.sh --test installs it). Everything it
# starts is killed on exit. About 8 s.
set -uo pipefail

if [[ $# -eq 0 ]]; then
  echo "usage: tls_clients.sh RINGCHAT [ARGS...]" >&2
  exit 2
fi
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=tests/e2e/lib.sh
source "$here/lib.sh"
work="$(mktemp -d)"
page_pid=""
sse_pid=""
cleanup() {
  stop "$sse_pid" 3
  stop "$test_pid" 3
  stop "$chrome_pid" 3
  stop "$page_pid" 3
  stop "$server_pid" 3
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# $1.pem and $1-key.pem: EC P-256, self-signed, CN=localhost, SAN
# DNS:localhost and IP:127.0.0.1, valid for 2 days.
make_cert() {
  timeout 20 openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$work/$1-key.pem" -out "$work/$1.pem" -days 2 -subj /CN=localhost \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" >"$work/openssl-req.log" 2>&1
}

start_tls_server() {
  port="$(free_port)"
  tls_port="$(free_port)"
  local cmd=("${server_cmd[@]}" --threads 2 --port "$port" --tls-port "$tls_port" --bind 127.0.0.1
             --tls-cert "$work/cert.pem" --tls-key "$work/cert-key.pem" --handshake-timeout 3000)
  echo "tls e2e: port=$port tls_port=$tls_port server: ${cmd[*]}"
  start_server 20 "https://127.0.0.1:$tls_port/healthz" --cacert "$work/cert.pem" -- "${cmd[@]}"
}

# --- metrics, read over the plain port (the TLS port's are checked with curl)
metrics() { curl -s --max-time 5 "http://127.0.0.1:$port/metrics"; }
# Sum of ringchat_tls_$1_total{...kind="$2"} over shards, or of shard $3 alone.
metric_sum() {
  metrics | awk -v name="ringchat_tls_$1_total" -v kind="$2" -v shard="${3:-}" '
    index($1, name "{") == 1 && index($1, "kind=\"" kind "\"") &&
    (shard == "" || index($1, "shard=\"" shard "\"")) { s += $2 }
    END { print s + 0 }'
}

# --- openssl s_client: `sclient OUT ARGS...` to the TLS port, stdin from
# the caller; OUT gets stdout and stderr, the exit status is s_client's.
sclient() {
  local out="$1"; shift
  timeout 5 openssl s_client -connect "127.0.0.1:$tls_port" -servername localhost "$@" >"$out" 2>&1
}
http_req() { printf 'GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n'; }
# The lines of s_client's output OUT that tell what happened, on one line.
sclient_summary() { grep -E '^(New|Reused),|Verify return|verify error|ALPN|Ticket|^HTTP/|error' "$1" | tr '\n' ' '; }

check_s_client() {
  local v out rc name
  for v in 1_2 1_3; do
    out="$work/s_client-$v.out"
    http_req | sclient "$out" "-tls$v" -CAfile "$work/cert.pem" -verify_return_error \
      -verify_hostname localhost -verify_ip 127.0.0.1 -alpn h2,http/1.1 -ign_eof
    rc=$?
    name="openssl s_client -tls$v -CAfile: TLSv${v/_/.}, Verify return code: 0 (name and IP checked), GET /healthz answers ok"
    if ((rc == 0)) && grep -q "^New, TLSv${v/_/.}, " "$out" && grep -q '^ *Verify return code: 0 (ok)' "$out" &&
       grep -q '^HTTP/1.1 200' "$out" && grep -qx 'ok' "$out"; then
      pass "$name"
    else
      fail "$name" "exit $rc: $(sclient_summary "$out")"
    fi
    check "openssl s_client -tls$v -alpn h2,http/1.1: the server picks http/1.1" "$(sclient_summary "$out")" \
      grep -q '^ALPN protocol: http/1.1$' "$out"
  done
  out="$work/s_client-other.out"
  sclient "$out" -CAfile "$work/other.pem" -verify_return_error </dev/null
  rc=$?
  name="openssl s_client -CAfile (another certificate) -verify_return_error: refused (verify error)"
  if ((rc != 0 && rc != 124)) && grep -q 'verify error' "$out"; then
    pass "$name"
  else
    fail "$name" "exit $rc: $(sclient_summary "$out")"
  fi
}

# Per-shard resumed handshakes, "N0 N1".
resumed_by_shard() { echo "$(metric_sum handshakes resumed 0) $(metric_sum handshakes resumed 1)"; }

# `resume_until_both_shards V`: a full handshake saves its session (-sess_out;
# a TLS 1.3 ticket comes after the handshake, so it reads an answer with
# -ign_eof), then resumes it (-sess_in, chained through -sess_out in case a
# ticket is good once) until both shards have counted a resumed handshake,
# at most 16 times. Every one must say Reused (the first that does not ends
# the loop): a session is good on any shard.
resume_until_both_shards() {
  local v="$1" out="$work/sess-$1-0.out" cur="$work/sess-$1-0.pem" name i before after
  local tries=0 reused=0
  http_req | sclient "$out" "-tls$v" -CAfile "$work/cert.pem" -sess_out "$cur" -ign_eof
  name="openssl s_client -tls$v -sess_out: a full handshake saves its session"
  if grep -q "^New, TLSv${v/_/.}, " "$out" && grep -q '^HTTP/1.1 200' "$out" && [[ -s "$cur" ]]; then
    pass "$name"
  else
    fail "$name" "$(sclient_summary "$out")"
  fi
  read -r -a before <<<"$(resumed_by_shard)"
  for i in $(seq 16); do
    out="$work/sess-$v-$i.out"
    http_req | sclient "$out" "-tls$v" -CAfile "$work/cert.pem" -sess_in "$cur" \
      -sess_out "$work/sess-$v-$i.pem" -ign_eof
    tries=$((tries + 1))
    read -r -a after <<<"$(resumed_by_shard)"
    if ! grep -q "^Reused, TLSv${v/_/.}, " "$out" || ! grep -q '^HTTP/1.1 200' "$out"; then break; fi
    reused=$((reused + 1))
    [[ -s "$work/sess-$v-$i.pem" ]] && cur="$work/sess-$v-$i.pem"
    ((after[0] > before[0] && after[1] > before[1])) && break
  done
  reused_seen=$((reused_seen + reused))
  name="openssl s_client -tls$v -sess_in: every resumption says Reused and gets its answer ($reused of $tries), on both shards"
  if ((reused == tries && after[0] > before[0] && after[1] > before[1])); then
    pass "$name"
  else
    fail "$name" "resumed per shard before ${before[*]}, after ${after[*]}; last: $(sclient_summary "$out")"
  fi
}

check_resumption() {
  local out="$work/reconnect.out" n_new n_reused before after name
  before="$(metric_sum handshakes resumed)"
  sclient "$out" -tls1_2 -CAfile "$work/cert.pem" -reconnect </dev/null
  n_new=$(grep -c '^New, TLSv1.2, ' "$out")
  n_reused=$(grep -c '^Reused, TLSv1.2, ' "$out")
  reused_seen=$((reused_seen + n_reused))
  name="openssl s_client -tls1_2 -reconnect: one New, then 5 Reused"
  if ((n_new == 1 && n_reused == 5)); then pass "$name"; else fail "$name" "$(sclient_summary "$out")"; fi
  after="$(metric_sum handshakes resumed)"
  check "/metrics counts those 5 (ringchat_tls_handshakes_total{kind=\"resumed\"} $before -> $after)" \
    "before $before, after $after" test "$((after - before))" = 5
  resume_until_both_shards 1_2
  # TLS 1.3 resumes with a NewSessionTicket's PSK (RFC 8446 §4.6.1, §2.2).
  resume_until_both_shards 1_3
}

# --- curl over https
# json_ok FILE PYTHON-EXPR [ARG]: the expression holds, with `j` the parsed
# file and `a` ARG.
json_ok() {
  "$py" -c "import json, sys; j = json.load(open(sys.argv[1])); a = sys.argv[2]; sys.exit(0 if ($2) else 1)" \
    "$1" "${3:-}" 2>/dev/null
}

check_curl() {
  local base="https://127.0.0.1:$tls_port" ca=(--cacert "$work/cert.pem") room code rc name epoch
  room="tls-curl-$(rand_hex)"
  curl -s --max-time 5 -o /dev/null "$base/healthz"
  rc=$?
  check "curl without --cacert refuses the certificate (exit 60)" "exit $rc" test "$rc" = 60
  code=$(curl -s --max-time 5 --http2 "${ca[@]}" -o /dev/null -w '%{http_code} %{http_version}' "$base/healthz")
  check "curl --http2 over https: ALPN settles on HTTP/1.1, /healthz answers 200" "$code" \
    test "$code" = "200 1.1"

  # SSE: publish once `joined` is in, stop curl once the message is.
  curl -sN "${ca[@]}" -D "$work/sse.head" --max-time 10 "$base/sse/$room" >"$work/sse.body" 2>&1 &
  sse_pid=$!
  for _ in $(seq 50); do grep -q '^event: joined' "$work/sse.body" 2>/dev/null && break; sleep 0.1; done
  code=$(curl -s --max-time 5 "${ca[@]}" -o "$work/post.json" -w '%{http_code}' \
    -H 'Content-Type: text/plain' --data-binary 'hello over https' "$base/rooms/$room/messages")
  name="curl POST https://.../rooms/{room}/messages: 201 {room, epoch, seq: 1}"
  if [[ "$code" == 201 ]] &&
     json_ok "$work/post.json" 'j["room"] == a and len(j["epoch"]) == 16 and j["seq"] == 1' "$room"; then
    pass "$name"
  else
    fail "$name" "$code $(oneline "$work/post.json")"
  fi
  for _ in $(seq 50); do grep -q '^data: hello over https' "$work/sse.body" 2>/dev/null && break; sleep 0.1; done
  stop "$sse_pid" 3
  sse_pid=""
  epoch="$("$py" -c 'import json,sys; print(json.load(open(sys.argv[1]))["epoch"])' "$work/post.json" 2>/dev/null)"
  name="curl -N https://.../sse/{room}: text/event-stream, joined, then the message published meanwhile with id: EPOCH:1"
  if grep -q '^HTTP/1.1 200' "$work/sse.head" && grep -qi '^content-type: text/event-stream' "$work/sse.head" &&
     grep -q '^event: joined' "$work/sse.body" &&
     grep -A1 -x "id: $epoch:1" "$work/sse.body" | grep -qx 'data: hello over https'; then
    pass "$name"
  else
    fail "$name" "$(oneline "$work/sse.head" 200) | $(oneline "$work/sse.body")"
  fi

  code=$(curl -s --max-time 5 "${ca[@]}" -o "$work/history.json" -w '%{http_code}' \
    "$base/rooms/$room/messages?since=0:0")
  name="curl GET https://.../rooms/{room}/messages?since=0:0: 200, the message (seq 1, same text) in history"
  if [[ "$code" == 200 ]] &&
     json_ok "$work/history.json" '[(m["seq"], m.get("data")) for m in j["messages"]] == [(1, a)]' \
       'hello over https'; then
    pass "$name"
  else
    fail "$name" "$code $(oneline "$work/history.json")"
  fi

  code=$(curl -s --max-time 5 "${ca[@]}" -o "$work/metrics.txt" -w '%{http_code}' "$base/metrics")
  name="curl https://.../metrics: 200 with ringchat_tls_handshakes_total{shard,kind=\"full\"} > 0"
  if [[ "$code" == 200 ]] &&
     grep -qE '^ringchat_tls_handshakes_total\{shard="[01]",kind="full"\} [1-9]' "$work/metrics.txt"; then
    pass "$name"
  else
    fail "$name" "$code $(head -c 300 "$work/metrics.txt")"
  fi
}

# --- Chromium: the page is served over plain http from another port.
tls_chromium() {
  have_chromium chat_page.html || return
  serve_page chat_page.html page
  local ok=$?
  page_pid=$served_pid
  if ((ok != 0)); then
    fail "chromium: python3 -m http.server serves chat_page.html" "$(tail -5 "$work/page.log")"
    return
  fi
  local room url
  room="tls-chromium-$(rand_hex)"
  url="http://127.0.0.1:$served_port/chat_page.html?port=$tls_port&room=$room&tls=1"
  # --ignore-certificate-errors: the certificate is self-signed (test only).
  run_chromium "$work/chrome" "$url" --ignore-certificate-errors -- node "$here/tls_chromium_test.js"
  stop "$page_pid" 3
  page_pid=""
}

# --- bad input. `probe KIND PORT` opens a raw socket, misbehaves and prints
# "closed after S s" (EOF or reset) or "open after S s" (deadline: 8 s):
#   random   300 random bytes; the first is drawn again while it is a TLS
#            record's content type (0x14-0x17: wolfSSL then takes bytes 4-5
#            for the record's length, up to 16 KB and more, and waits for
#            them until --handshake-timeout) or has its top bit set (an SSLv2
#            hello, the same), or is a capital letter, which the server takes
#            for a request line (400, counted as plain_http: the curl check's)
#   stall    the first 11 bytes of a ClientHello, then nothing
#   record   a TLS 1.3 handshake (Python's ssl), then an application_data
#            record of 32 random bytes, which cannot decrypt
probe() {
  "$py" - "$@" "$work/cert.pem" <<'EOF'
import os, socket, ssl, sys, time
kind, port, ca = sys.argv[1], int(sys.argv[2]), sys.argv[3]
s = socket.create_connection(("127.0.0.1", port), timeout=5)
if kind == "random":
    data = os.urandom(300)
    while 0x14 <= data[0] <= 0x17 or data[0] & 0x80 or 0x41 <= data[0] <= 0x5A:
        data = os.urandom(1) + data[1:]
    s.sendall(data)
elif kind == "stall":
    s.sendall(bytes.fromhex("16030100c8010000c40303"))
elif kind == "record":
    ctx = ssl.create_default_context(cafile=ca)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    t = ctx.wrap_socket(s, server_hostname="127.0.0.1")
    s = socket.socket(fileno=os.dup(t.fileno()))  # the same TCP stream, bypassing ssl
    s.sendall(bytes.fromhex("1703030020") + os.urandom(32))
start = time.monotonic()
s.settimeout(0.2)
while time.monotonic() - start < 8:
    try:
        if not s.recv(65536):
            break
    except socket.timeout:
        continue
    except OSError:  # a reset
        break
else:
    print(f"open after {time.monotonic() - start:.2f} s")
    sys.exit(0)
print(f"closed after {time.monotonic() - start:.2f} s")
EOF
}
# closed_within RESULT SECONDS
closed_within() { [[ "$1" =~ ^closed\ after\ ([0-9.]+)\ s$ ]] && "$py" -c "import sys; sys.exit(0 if ${BASH_REMATCH[1]} <= $2 else 1)"; }

check_bad_input() {
  local code r i rc name before_http before_hs before_rec after_http after_hs after_rec
  before_http="$(metric_sum failures plain_http)"
  before_hs="$(metric_sum failures handshake)"
  before_rec="$(metric_sum failures record)"
  code=$(curl -s --max-time 5 -o "$work/plain.body" -w '%{http_code}' "http://127.0.0.1:$tls_port/healthz")
  name="plain curl http://127.0.0.1:TLSPORT/healthz: 400 in clear, \"This port speaks TLS\""
  if [[ "$code" == 400 ]] && grep -q 'This port speaks TLS' "$work/plain.body"; then
    pass "$name"
  else
    fail "$name" "$code $(oneline "$work/plain.body")"
  fi

  for i in 1 2 3; do
    r="$(probe random "$tls_port")"
    check "300 random bytes to the TLS port ($i/3): closed within 2 s ($r)" "$r" closed_within "$r" 2
  done
  r="$(probe stall "$tls_port")"
  check "a ClientHello cut short, then silence: closed by --handshake-timeout 3000 within 6 s ($r)" "$r" \
    closed_within "$r" 6
  r="$(probe record "$tls_port")"
  check "after a TLS 1.3 handshake, a record that does not decrypt: closed within 2 s ($r)" "$r" \
    closed_within "$r" 2

  # A TLS 1.2 client asking to renegotiate (s_client's R command): refused
  # with an alert and closed, counted as a bad record.
  { printf 'R\n'; sleep 1; printf 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n'; sleep 1; } |
    timeout 10 openssl s_client -connect "127.0.0.1:$tls_port" -tls1_2 -CAfile "$work/cert.pem" \
      >"$work/reneg.out" 2>&1
  name="openssl s_client -tls1_2, R (renegotiate): refused with an alert, no answer after it"
  if grep -q RENEGOTIATING "$work/reneg.out" && grep -q 'alert' "$work/reneg.out" &&
    ! grep -q '^ok' "$work/reneg.out"; then
    pass "$name"
  else
    fail "$name" "$(sclient_summary "$work/reneg.out")"
  fi

  timeout 10 openssl s_client -connect "127.0.0.1:$port" </dev/null >"$work/hello-plain.out" 2>&1
  rc=$?
  check "a TLS ClientHello on the plain port: refused at once (s_client exits $rc, not a timeout)" \
    "$(oneline "$work/hello-plain.out")" test "$rc" != 0 -a "$rc" != 124
  code=$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/healthz")
  if [[ "$code" == 200 ]] && kill -0 "$server_pid" 2>/dev/null; then
    pass "the server lives on: plain /healthz answers 200"
  else
    fail "the server lives on: plain /healthz answers 200" "$code"
  fi

  run_test fresh "$py" "$here/tls_ws_test.py" --fresh

  after_http="$(metric_sum failures plain_http)"
  after_hs="$(metric_sum failures handshake)"
  after_rec="$(metric_sum failures record)"
  name="/metrics: ringchat_tls_failures_total counts them: plain_http $before_http -> $after_http (+1),"
  name+=" handshake $before_hs -> $after_hs (+3 at least), record $before_rec -> $after_rec (+2:"
  name+=" the forged record, the renegotiation)"
  if ((after_http - before_http == 1 && after_hs - before_hs >= 3 && after_rec - before_rec == 2)); then
    pass "$name"
  else
    fail "$name" "$(metrics | grep '^ringchat_tls_failures_total' | tr '\n' ' ')"
  fi
}

# SIGHUP reloads the certificate files: new connections get the new ones,
# a connection made before keeps going, and a file that does not load
# leaves the last good ones in place.
check_reload() {
  local before_log name rc
  cp "$work/cert.pem" "$work/old.pem"
  make_cert renewed || { fail "openssl req makes the renewed certificate"; return; }
  # A wss client joined before the reload; it publishes after it.
  "$py" - "$tls_port" "$work/old.pem" "$work/reloaded" >"$work/reload-client.out" 2>&1 <<'PY' &
import asyncio, os, ssl, sys, time, websockets
port, ca, flag = sys.argv[1], sys.argv[2], sys.argv[3]
async def main():
    ctx = ssl.create_default_context(cafile=ca)
    async with websockets.connect(f"wss://localhost:{port}/ws/reload", ssl=ctx) as ws:
        print("joined", flush=True)
        deadline = time.monotonic() + 15
        while not os.path.exists(flag) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        await ws.send("after the reload")
        got = await asyncio.wait_for(ws.recv(), 5)
        print("echo", got, flush=True)
        sys.exit(0 if got == "after the reload" else 1)
asyncio.run(main())
PY
  local client=$!
  local deadline=$((SECONDS + 10))
  until grep -q joined "$work/reload-client.out" 2>/dev/null || ((SECONDS >= deadline)); do sleep 0.05; done
  cp "$work/renewed.pem" "$work/cert.pem"
  cp "$work/renewed-key.pem" "$work/cert-key.pem"
  kill -HUP "$server_pid"
  deadline=$((SECONDS + 5))
  until grep -q "TLS certificates reloaded" "$work/server.log" || ((SECONDS >= deadline)); do sleep 0.05; done
  http_req | sclient "$work/reload-new.out" -CAfile "$work/renewed.pem" -verify_return_error -ign_eof
  check "SIGHUP: a new connection gets the renewed certificate (Verify return code: 0)" \
    "$(sclient_summary "$work/reload-new.out")" grep -q "Verify return code: 0" "$work/reload-new.out"
  sclient "$work/reload-old.out" -CAfile "$work/old.pem" -verify_return_error </dev/null
  rc=$?
  check "SIGHUP: a client trusting only the old certificate is refused now" \
    "$(sclient_summary "$work/reload-old.out")" test "$rc" != 0
  touch "$work/reloaded"
  wait "$client"
  rc=$?
  check "SIGHUP: a wss connection made before the reload goes on (its echo comes back)" \
    "$(tr '\n' ' ' <"$work/reload-client.out")" test "$rc" = 0
  # A broken file: the last good certificate stays.
  before_log=$(grep -c "not reloaded" "$work/server.log")
  echo "not a certificate" >"$work/cert.pem"
  kill -HUP "$server_pid"
  deadline=$((SECONDS + 5))
  until (($(grep -c "not reloaded" "$work/server.log") > before_log)) || ((SECONDS >= deadline)); do sleep 0.05; done
  name="SIGHUP with a broken --tls-cert: logged, the renewed certificate still served"
  http_req | sclient "$work/reload-bad.out" -CAfile "$work/renewed.pem" -verify_return_error -ign_eof
  if (($(grep -c "not reloaded" "$work/server.log") > before_log)) &&
    grep -q "Verify return code: 0" "$work/reload-bad.out"; then
    pass "$name"
  else
    fail "$name" "$(grep SIGHUP "$work/server.log" | tail -2 | tr '\n' ' ') $(sclient_summary "$work/reload-bad.out")"
  fi
}

server_cmd=("$@")
started=$SECONDS
node_ok=0
ensure_node_modules && node_ok=1
reused_seen=0
if ! make_cert cert || ! make_cert other; then
  fail "openssl req makes EC P-256 self-signed certificates" "$(tail -5 "$work/openssl-req.log")"
elif ! start_tls_server; then
  fail "server with --tls-cert, --tls-key answers /healthz over https within 20 s" \
    "$(tail -n 20 "$work/server.log")"
else
  pass "server with --tls-cert, --tls-key answers /healthz over https within 20 s"
  export E2E_TLS_PORT="$tls_port" E2E_CA="$work/cert.pem" E2E_OTHER_CA="$work/other.pem"
  check_s_client
  check_resumption
  check_curl
  run_test websockets "$py" "$here/tls_ws_test.py"
  if ((node_ok)); then
    NODE_EXTRA_CA_CERTS="$work/cert.pem" run_test node node "$here/tls_node_test.js"
    tls_chromium
  else
    fail "node: npm could not install ws and eventsource into tests/e2e/node_modules"
  fi
  check_bad_input
  check_reload
  resumed="$(metric_sum handshakes resumed)"
  name="/metrics: ringchat_tls_handshakes_total{kind=\"resumed\"} ($resumed) counts every Reused openssl saw ($reused_seen)"
  if ((resumed >= reused_seen && reused_seen > 0)); then
    pass "$name"
  else
    fail "$name" "$(metrics | grep '^ringchat_tls_handshakes_total' | tr '\n' ' ')"
  fi

  sigterm_server server 10
fi
server_log_tail 30
echo "tls e2e: $((SECONDS - started)) s"
summary
