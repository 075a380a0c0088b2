#!/usr/bin/env bash
# ringload --tls against a real ringchat TLS port: every protocol (raw, json,
# sse with HTTPS publishers) delivers every message, in order, once; resumes
# and the handshake mode count full and resumed handshakes as the server
# does (its /metrics); a wrong CA fails every handshake.
#   smoke_tls.sh RINGLOAD RINGCHAT_BINARY
# The certificates are made here with `openssl req`. Exit 77 (meson:
# skipped) without openssl.
set -euo pipefail
ringload="$1" ringchat="$2"
py=/usr/bin/python3
tmp="$(mktemp -d)"
server_pid=""
cleanup() {
  if [[ -n "$server_pid" ]]; then kill -TERM "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
command -v openssl >/dev/null || { echo "SKIP: openssl is not installed"; exit 77; }

make_cert() {  # make_cert NAME: $tmp/NAME.pem, $tmp/NAME-key.pem (EC P-256, localhost, 127.0.0.1)
  timeout 20 openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$tmp/$1-key.pem" -out "$tmp/$1.pem" -days 2 -subj /CN=localhost \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" >"$tmp/openssl.log" 2>&1 ||
    { echo "FAIL: openssl req"; cat "$tmp/openssl.log"; exit 1; }
}
make_cert cert
make_cert other
free_port() { $py -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port="$(free_port)" tls_port="$(free_port)"
# Two shards: a resumed session may land on the other one.
"$ringchat" --port "$port" --tls-port "$tls_port" --bind 127.0.0.1 --threads 2 --pub-rate 0 \
  --tls-cert "$tmp/cert.pem" --tls-key "$tmp/cert-key.pem" >"$tmp/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do
  curl -sf -o /dev/null --max-time 1 --cacert "$tmp/cert.pem" "https://localhost:$tls_port/healthz" && break
  kill -0 "$server_pid" 2>/dev/null || { echo "FAIL: ringchat exited"; cat "$tmp/server.log"; exit 1; }
  sleep 0.1
done

# The server's handshake counters, summed over shards: "FULL RESUMED".
server_handshakes() {
  curl -sf --max-time 5 "http://127.0.0.1:$port/metrics" |
    awk '/^ringchat_tls_handshakes_total/ { if ($0 ~ /kind="full"/) f += $NF; else r += $NF }
         END { print f + 0, r + 0 }'
}

# run NAME EXPECT [ringload args...]: EXPECT is a Python expression over r
# (the JSON report) and p (its first phase) that must hold.
run() {
  local name="$1" expect="$2"; shift 2
  local url="${URL:-wss://localhost:$tls_port/ws/}" rc=0 before after
  before="$(server_handshakes)"
  "$ringload" --url "$url" --tls --room-prefix "tls-$name" --cpus 0 --steady "${STEADY:-1}" --drain 1 \
    --progress never --server-pid "$server_pid" --json "$tmp/$name.json" "$@" >"$tmp/$name.txt" 2>&1 || rc=$?
  after="$(server_handshakes)"
  [[ -f "$tmp/$name.json" ]] || { echo "FAIL: $name: no report (exit $rc)"; cat "$tmp/$name.txt"; exit 1; }
  if ! $py - "$tmp/$name.json" "$name" "$expect" "$rc" "$before" "$after" <<'PY'; then
import json, sys
r = json.load(open(sys.argv[1]))
name, expect, rc = sys.argv[2], sys.argv[3], int(sys.argv[4])
b, a = [list(map(int, x.split())) for x in sys.argv[5:7]]
server = {"full": a[0] - b[0], "resumed": a[1] - b[1]}
p, t, tls = r["phases"][0], r["totals"], r["tls"]
assert eval(expect), (expect, rc, r["verdict"], r["connections"], t["handshakes"], t["errors"])
if rc == 0:
    assert r["verdict"]["ok"], r["verdict"]
    for k in ["gaps", "duplicates", "reorders"]:
        assert r["order"][k] == 0, (k, r["order"])
    assert r["seq"]["ok"], r["seq"]
    # Every handshake ringload finished, the server counted alike.
    assert (t["handshakes"]["full"], t["handshakes"]["resumed"]) == (server["full"], server["resumed"]), \
        (t["handshakes"], server)
print(f"PASS: {name}: sent {t['sent']} delivered {t['delivered']} handshakes {t['handshakes']} "
      f"server {server} {tls['version']} {tls['cipher']} verified={tls['verified']}")
PY
    echo "FAIL: $name (ringload exit $rc)"; cat "$tmp/$name.txt"; tail -20 "$tmp/server.log"; exit 1
  fi
}

ca=(--tls-ca "$tmp/cert.pem")
# Every message once, in order: echo gets each one back; a fan-out round
# reaches every member (rooms of 10, so 10 deliveries per message).
run echo 'rc == 0 and t["delivered"] == t["sent"] > 0 and tls["verified"]' \
  "${ca[@]}" --mode echo -c 10 --size 20
run echo-1k 'rc == 0 and t["delivered"] == t["sent"] > 0' "${ca[@]}" --mode echo -c 4 --size 1024
run echo-64k 'rc == 0 and t["delivered"] == t["sent"] > 0' "${ca[@]}" --mode echo -c 2 --size 65536
run fanout 'rc == 0 and t["delivered"] == 10 * t["sent"] > 0' "${ca[@]}" --mode fanout -c 20 --rooms 2
run rate 'rc == 0 and t["delivered"] == 5 * t["sent"] > 0' \
  "${ca[@]}" --mode rate -c 20 --rooms 4 --rate 50 --size 64 --size-max 2048
run idle 'rc == 0 and r["connections"]["opened"] == 50 and t["handshakes"]["full"] == 50' \
  "${ca[@]}" --mode idle -c 50 --rooms 5
run json-fanout 'rc == 0 and t["delivered"] == 10 * t["sent"] > 0 and r["seq"]["checked"] > 0' \
  "${ca[@]}" --protocol json --mode fanout -c 20 --rooms 2
URL="https://localhost:$tls_port/sse/" run sse-fanout \
  'rc == 0 and t["delivered"] == 10 * t["sent"] > 0 and r["connections"]["opened"] == 24' \
  "${ca[@]}" --protocol sse --mode fanout -c 20 --rooms 2 --senders 2
# Resets and resumes over TLS; reconnects offer the previous TLS session.
run raw-churn-resume 'rc == 0 and r["connections"]["resets"] > 0 and t["handshakes"]["resumed"] > 0' \
  "${ca[@]}" --mode rate -c 20 --rooms 2 --senders 4 --rate 100 --churn 3 --tls-resume
URL="https://localhost:$tls_port/sse/" run sse-churn 'rc == 0 and r["seq"]["resumes"] > 0' \
  "${ca[@]}" --protocol sse --mode rate -c 20 --rooms 2 --senders 4 --rate 100 --churn 3
# The handshake mode: N connect-handshake-close cycles; with --tls-resume
# all but each slot's first are resumed. TLS 1.2 too.
# (--steady 20 is the bound in time; --handshakes ends the phase long before.)
STEADY=20 run handshake-full 'rc == 0 and t["handshakes"]["cycles"] == 200 == t["handshakes"]["full"]' \
  "${ca[@]}" --mode handshake -c 4 --handshakes 200
STEADY=20 run handshake-resumed \
  'rc == 0 and t["handshakes"]["cycles"] == 200 and t["handshakes"]["resumed"] == 196' \
  "${ca[@]}" --mode handshake -c 4 --handshakes 200 --tls-resume
STEADY=20 run handshake-tls12-resumed \
  'rc == 0 and t["handshakes"]["resumed"] == 196 and tls["version"] == "TLSv1.2"' \
  "${ca[@]}" --mode handshake -c 4 --handshakes 200 --tls-resume --tls-version 1.2
# An address for a host: the chain is verified, the name is not (see README).
URL="wss://127.0.0.1:$tls_port/ws/" run by-address 'rc == 0 and tls["verified"]' \
  "${ca[@]}" --mode echo -c 2
# No CA: nothing verified, and the report says so.
run no-ca 'rc == 0 and not tls["verified"]' --mode echo -c 2
grep -q "certificate NOT verified (no --tls-ca)" "$tmp/no-ca.txt" || { echo "FAIL: no-ca: the summary does not say so"; exit 1; }
# A CA that did not sign the server's certificate: every handshake fails.
run wrong-ca 'rc == 1 and r["connections"]["opened"] == 0 and any(k.startswith("tls:") for k in t["errors"])' \
  --tls-ca "$tmp/other.pem" --mode echo -c 2 --max-retries 0
echo "smoke tls: all passed"
