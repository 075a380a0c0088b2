#!/usr/bin/env python3
"""Writes the seed corpora of fuzz/corpus/<target>/: small, valid inputs of
each kind, made by hand, so the fuzzers start from what real clients send.
Deterministic; rerun after changing it (the files are in git)."""
import os
import shutil
import struct

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
MASK = bytes([0x37, 0xFA, 0x21, 0x3D])


def client_frame(op, payload=b"", fin=True, mask=MASK, length_form=None):
    b0 = (0x80 if fin else 0) | op
    n = len(payload)
    m = 0x80 if mask is not None else 0
    if length_form == 126 or (length_form is None and 126 <= n <= 0xFFFF):
        head = bytes([b0, m | 126]) + struct.pack(">H", n)
    elif length_form == 127 or (length_form is None and n > 0xFFFF):
        head = bytes([b0, m | 127]) + struct.pack(">Q", n)
    else:
        head = bytes([b0, m | n])
    if mask is None:
        return head + payload
    return head + mask + bytes(c ^ mask[i % 4] for i, c in enumerate(payload))


def close_body(code, reason=b""):
    return struct.pack(">H", code) + reason


def frame_parser_seeds():
    # First byte: bit 0 client role, bits 1-2 max message (1M, 125, 1000,
    # 64K), bits 3-4 max fragments (1024, 1, 4, 64), bits 5-7 cut pattern.
    TEXT, BIN, CONT, CLOSE, PING, PONG = 1, 2, 0, 8, 9, 10
    s = {}
    s["text"] = b"\x00" + client_frame(TEXT, b"hello")
    s["binary"] = b"\x20" + client_frame(BIN, bytes(range(40)))
    s["empty_text"] = b"\x40" + client_frame(TEXT)
    s["utf8"] = b"\x60" + client_frame(TEXT, "h\u00e9llo \u20ac \U0001F600".encode())
    s["len16"] = b"\x00" + client_frame(BIN, b"x" * 300)
    s["len64_nonminimal"] = b"\x00" + client_frame(BIN, b"abc", length_form=127)
    s["len16_nonminimal"] = b"\x00" + client_frame(TEXT, b"abc", length_form=126)
    s["fragments"] = b"\x00" + client_frame(TEXT, b"Hel", False) + client_frame(
        CONT, b"lo ", False) + client_frame(CONT, b"world")
    s["fragments_ping"] = b"\x80" + client_frame(TEXT, b"a", False) + client_frame(
        PING, b"p") + client_frame(CONT, b"b")
    s["fragments_limit4"] = bytes([2 << 3]) + b"".join(
        client_frame(BIN if i == 0 else CONT, b"xy", i == 3) for i in range(4))
    s["fragments_over4"] = bytes([2 << 3]) + b"".join(
        client_frame(BIN if i == 0 else CONT, b"", i == 4) for i in range(5))
    s["one_fragment_only"] = bytes([1 << 3]) + client_frame(BIN, b"ab", False) + client_frame(
        CONT, b"c")
    s["utf8_across_fragments"] = b"\x00" + client_frame(TEXT, b"a\xe2\x82", False) + client_frame(
        CONT, b"\xac!")
    s["ping"] = b"\x00" + client_frame(PING, b"are you there")
    s["pong"] = b"\x00" + client_frame(PONG, b"")
    s["ping125"] = b"\x00" + client_frame(PING, b"p" * 125)
    s["close_empty"] = b"\x00" + client_frame(CLOSE)
    s["close_code"] = b"\x00" + client_frame(CLOSE, close_body(1000, b"bye"))
    s["close_4000"] = b"\x00" + client_frame(CLOSE, close_body(4000, "r\u00e9".encode()))
    s["many"] = b"\xa0" + b"".join(client_frame(TEXT, str(i).encode()) for i in range(20))
    s["max125_exact"] = bytes([1 << 1]) + client_frame(BIN, b"m" * 125)
    s["max125_over"] = bytes([1 << 1]) + client_frame(BIN, b"m" * 126)
    s["max1000_fragments"] = bytes([2 << 1]) + client_frame(TEXT, b"a" * 600, False) + \
        client_frame(CONT, b"b" * 400)
    s["client_role"] = b"\x01" + client_frame(TEXT, b"from server", mask=None)
    s["client_role_close"] = b"\x01" + client_frame(CLOSE, close_body(1001), mask=None)
    s["client_role_frag"] = b"\x61" + client_frame(BIN, b"12", False, mask=None) + client_frame(
        CONT, b"34", mask=None)
    s["bad_utf8"] = b"\x00" + client_frame(TEXT, b"ok \xc0\x80")
    s["rsv1"] = b"\x00" + bytes([0xC1, 0x80]) + MASK
    s["unmasked_to_server"] = b"\x00" + client_frame(TEXT, b"hi", mask=None)
    return s


def http_seeds():
    s = {}
    s["ws_upgrade"] = (b"GET /ws/lobby?since=0123456789abcdef:41 HTTP/1.1\r\nHost: chat.test:8080\r\n"
                       b"Upgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n"
                       b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                       b"Sec-WebSocket-Protocol: chat, bearer.abc\r\nOrigin: http://chat.test\r\n\r\n"
                       + client_frame(1, b"hi"))
    s["ws_json"] = (b"GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    b"Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==\r\nSec-WebSocket-Version: 13\r\n\r\n")
    s["ws_bad_version"] = (b"GET /ws/r HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n"
                           b"Connection: Upgrade\r\nSec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==\r\n"
                           b"Sec-WebSocket-Version: 8\r\n\r\n")
    s["ws_dup_key"] = (b"GET /ws/r HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                       b"Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==\r\n"
                       b"Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==\r\nSec-WebSocket-Version: 13\r\n\r\n")
    s["sse"] = b"GET /sse/room HTTP/1.1\r\nHost: h\r\nLast-Event-ID: 0123456789abcdef:9\r\n\r\n"
    s["sse_query"] = b"GET /sse/a.b?lastEventId=0123456789abcdef%3A9 HTTP/1.1\r\nHost: h\r\n\r\n"
    s["healthz"] = b"GET /healthz HTTP/1.1\r\nHost: h\r\n\r\n"
    s["head"] = b"HEAD /metrics HTTP/1.1\r\nHost: h\r\n\r\n"
    s["http10"] = b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
    s["post_length"] = (b"POST /rooms/lobby/messages HTTP/1.1\r\nHost: h\r\n"
                        b"Content-Type: text/plain\r\nContent-Length: 11\r\n\r\nhello world")
    s["post_json"] = (b"POST /rooms/lobby/messages HTTP/1.1\r\nHost: h\r\n"
                      b"Content-Type: application/json\r\nContent-Length: 13\r\n\r\n{\"a\":[1,2.5]}")
    s["post_chunked"] = (b"POST /rooms/r/messages HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                         b"5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n")
    s["chunked_ext_quoted"] = (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                               b"3;a=\"b c\";d\r\nabc\r\n0\r\n\r\n")
    s["chunked_trailers"] = (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n"
                             b"A: 1\r\nB:\r\nC: 3\r\n\r\n")
    s["history"] = b"GET /rooms/r/messages?since=0123456789abcdef:3&limit=5 HTTP/1.1\r\nHost: h\r\n\r\n"
    s["presence"] = b"GET /rooms/r/presence HTTP/1.1\r\nAuthorization: Bearer a.b.c\r\n\r\n"
    s["rooms"] = b"GET /rooms?after=a&limit=2 HTTP/1.1\r\nHost: h\r\n\r\n"
    s["absolute_form"] = b"GET http://h:1/rooms/a?x=1 HTTP/1.1\r\nHost: h:1\r\n\r\n"
    s["asterisk"] = b"OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n"
    s["percent"] = b"GET /ws/lobby%20one%2Fx?a=%41+b HTTP/1.1\r\nHost: h\r\n\r\n"
    s["pipelined"] = (b"GET /healthz HTTP/1.1\r\nHost: h\r\n\r\n"
                      b"POST /rooms/r/messages HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi"
                      b"GET /readyz HTTP/1.1\r\nConnection: close\r\n\r\n")
    s["delete"] = b"DELETE /ws/r HTTP/1.1\r\nContent-Length: 0\r\n\r\n"
    s["patch"] = b"PATCH /rooms HTTP/1.1\r\nHost: h\r\n\r\n"
    s["connect"] = b"CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n"
    s["list_headers"] = (b"GET /ws HTTP/1.1\r\nConnection: keep-alive\r\nConnection:\r\n"
                         b"Connection: Upgrade\r\nUpgrade: websocket\r\nUpgrade: h2c\r\n\r\n")
    s["obs_fold"] = b"GET / HTTP/1.1\r\nHost: h\r\nX-A: a\r\n b\r\n\r\n"
    s["http19"] = b"GET / HTTP/1.9\r\nHost: h\r\n\r\n"
    s["http2_preface"] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
    s["te_http10"] = b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
    s["cl_and_te"] = b"POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
    s["leading_crlf"] = b"\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n"
    return s


def json_op_seeds():
    ops = [
        '{"type":"join","room":"lobby"}',
        '{"type":"join","room":"lobby","since":"0123456789abcdef:41","id":"j1"}',
        '{"type":"leave","room":"a.b:c@d-e_f","id":7}',
        '{"type":"pub","room":"lobby","data":"hello"}',
        '{"type":"pub","room":"r","data":{"text":"hi","n":[1,2.5,-3e2,true,false,null]},"id":"p"}',
        '{"type":"pub","room":"r","data":"line1\\nline2\\r\\n\\u2028\\ud83d\\ude00\\u0000"}',
        '{"type":"pub","room":"r","data":[[[[[]]]],{}]}',
        '{"type":"pub","room":"r","data":18446744073709551615}',
        '{"type":"pub","room":"r","data":-9223372036854775808}',
        '{"type":"pub","room":"r","data":1e-400}',
        '{"type":"history","room":"r"}',
        '{"type":"history","room":"r","before":42,"limit":1000}',
        '{"type":"history","room":"r","limit":0}',
        '{"type":"presence","room":"r"}',
        '{"type":"ping"}',
        '{"type":"ping","id":"' + 'i' * 128 + '"}',
        '  {\n "type" : "ping" , "room" : 5 }\t',
        '{"ty\\u0070e":"ping"}',
        '{"type":"ping","type":"join"}',
        '{"type":"join","room":"no/slash"}',
        '{"type":"join","room":""}',
        '{"type":"join","room":"' + 'r' * 200 + '"}',
        '{"type":"join","room":"r","since":"zz"}',
        '{"type":"pub","room":"r"}',
        '{"type":"nope"}',
        '{"room":"r"}',
        '[1,2]',
        '"just a string"',
        '{"type":"pub","room":"r","data":1e999}',
        '{"type":"pub","room":"r","data":"\\ud800"}',
        '{"type":"pub","room":"r","data":"caf\xc3\xa9"}',
        '{"type":"pub","room":"r","data":',
        '',
    ]
    return {"op%02d" % i: o.encode("latin-1") if "\xc3" in o else o.encode() for i, o in enumerate(ops)}


def wire_encode_seeds():
    # Byte 0: kind (0 text, 1 binary, 2 JSON); byte 1: seq; then the payload.
    s = {}
    texts = [b"hello", b"", b"a\nb", b"a\r\nb", b"a\rb", b"a\n\rb", b"\r\n\r\n", b"\n", b"\r",
             b"trailing\n", b"data: injected\n\nid: 1", "\u00e9\u20ac\U0001F600\u2028".encode(),
             b"x" * 100 + b"\r" + b"y" * 50, b"\x00nul", b"tab\there"]
    for i, t in enumerate(texts):
        s["text%02d" % i] = bytes([0, i]) + t
    for i, b in enumerate([b"\x00\x01\x02", b"\xff" * 7, bytes(range(256)), b"\r\n"]):
        s["binary%02d" % i] = bytes([1, i]) + b
    for i, j in enumerate([b'{"a":1}', b'"str\\ning"', b"[1, 2.50, 1e2]", b"null", b'"\\r\\n"',
                           b'{"k":"\\u2028"}']):
        s["json%02d" % i] = bytes([2, i]) + j
    return s


def config_seeds():
    s = {}
    s["toml_basic"] = b"port = 9000\nbind = \"127.0.0.1\"\nthreads = 2\n"
    s["toml_sizes"] = b"max-message = \"64K\"\nmax-header = \"16K\"\nsend-backlog = \"8M\"\n"
    s["toml_underscore"] = b"max_message = 1048576\nmax_fragments = 64\n"
    s["toml_flags"] = b"no-echo = true\nreuse-port = true\nlog-level = \"debug\"\n"
    s["toml_comments"] = b"# comment\nport = 8080 # trailing\n\n   ping-interval = 25000\n"
    s["toml_quotes"] = b"bind = '::1'\nlog-level = 'warn'\n"
    s["toml_array"] = b"bind = [\"a\", \"b\"]\n"
    s["toml_section"] = b"[ringchat]\nport = 1\n"
    s["ini_basic"] = b"[default]\nport=9001\nhistory=10\n"
    s["ini_colon"] = b"port: 9002\nroom-ttl: 1000\n"
    s["bad_key"] = b"prot = 9000\n"
    s["bad_value"] = b"port = 70000\n"
    s["bad_size"] = b"max-message = \"1T\"\n"
    s["empty"] = b""
    s["all"] = (b"port = 0\nbind = \"0.0.0.0\"\nthreads = 0\nmax-message = 125\nmax-fragments = 1\n"
                b"max-header = 1024\nping-interval = 100\nhandshake-timeout = 100\n"
                b"drain-timeout = 0\nsend-backlog = 4096\nshard-backlog = \"1M\"\nhistory = 0\n"
                b"history-bytes = 1024\nhistory-total = \"1M\"\nroom-ttl = 0\n"
                b"max-rooms-per-conn = 1\npresence-events-max = 0\nsse-heartbeat = 100\n"
                b"rcvbuf = 0\nsndbuf = \"64K\"\nlog-level = \"error\"\n")
    s["multiline"] = b"bind = \"\"\"\n127.0.0.1\"\"\"\n"
    s["escapes"] = b"bind = \"\\u0031\\t\"\n"
    s["dotted"] = b"a.b.c = 1\n"
    return s


def write(target, seeds):
    d = os.path.join(ROOT, target)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    for name, data in sorted(seeds.items()):
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)


def main():
    write("frame_parser", frame_parser_seeds())
    write("http_request", http_seeds())
    write("json_op", json_op_seeds())
    write("wire_encode", wire_encode_seeds())
    write("config", config_seeds())


if __name__ == "__main__":
    main()
