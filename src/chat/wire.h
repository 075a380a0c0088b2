#pragma once
// Private to the chat module: the one place that turns a sequenced message
// into the bytes of each wire format.
#include <span>
#include <string>
#include <string_view>

#include "ringchat/chat/message.h"
#include "ringchat/net/shared_buf.h"

namespace ringchat::chat {

// The bytes of `m` in format `f`, in a new SharedBuf with one reference,
// written straight into it (each format measures its bytes first).
// Pure. Thread: any (the owner shard calls it once per message and format).
//
// kRawWs   One unmasked WebSocket frame (RFC 6455 §5.2, minimal length
//          encoding): BINARY with the payload for Kind::kBinary, TEXT with
//          the payload for kText and kJson. The payload as it was sent.
//
// kJsonWs  One unmasked WebSocket TEXT frame whose payload is the envelope
//            {"type":"msg","room":"ROOM","seq":N,"ts":MS,"from":"ID",DATA}
//          with ROOM a JSON string (append_json_string) and DATA as in
//          append_json. Valid UTF-8 JSON given a valid Message (kText UTF-8,
//          kJson one valid JSON value).
//
// kSse     One Server-Sent Events event (WHATWG HTML §9.2), UTF-8:
//            id: EPOCH:SEQ\n      EPOCH 16 lowercase hex digits, SEQ decimal
//            event: binary\n      only for kBinary (others are "message")
//            data: LINE\n         one for each line of the text
//            \n
//          The text is the payload for kText and kJson, its base64 (one line)
//          for kBinary. It is split at CR, LF and CRLF, each of which ends a
//          line ("a\r\nb" is two lines, "a\n\rb" three: a, empty, b), and
//          each line is written after exactly one space, so no payload can
//          add a field or end the event early; an empty text is one empty
//          line. What a client reads back is the text with the lines joined
//          by LF: every CR and CRLF in the payload arrives as LF. That
//          normalisation is inherent to SSE (a client cannot tell them
//          apart); a client that needs the exact bytes uses a WebSocket.
net::SharedBuf* encode(Format f, const Message& m);

// `m` as one JSON object, appended to `out` (history reads):
//   {"seq":N,"ts":MS,"from":"ID","data":"TEXT"}        a text message
//   {"seq":N,"ts":MS,"from":"ID","data":VALUE}         a JSON one, verbatim
//   {"seq":N,"ts":MS,"from":"ID","data_base64":"B64"}  a binary one
// ID is the sender's anonymous id ("SHARD-SLOT-GEN": opaque to clients).
// The kJsonWs envelope carries the same fields after "type" and "room".
void append_json(std::string& out, const Message& m);

// [MESSAGE,...], each as append_json writes it, in the order given (a
// history answer's records).
void append_messages(std::string& out, std::span<Sequenced* const> msgs);

// A room member as clients see it, appended to `out`: {"id":"ID"}, ID as in
// append_json's "from" (presence answers and join/leave events).
void append_member(std::string& out, const Present& member);
// [MEMBER,...], each as append_member writes it, in the order given.
void append_members(std::string& out, std::span<const Present> members);

// `s` as a JSON string literal (RFC 8259 §7), appended to `out`. REQUIRES:
// `s` is UTF-8 (it is passed through, U+2028 and U+2029 included; only '"',
// '\\' and controls below 0x20 are escaped, controls as \u00XX).
void append_json_string(std::string& out, std::string_view s);

// The body of an HTTP error: {"code":CODE,"reason":REASON} and a newline.
std::string error_body(std::string_view code, std::string_view reason);

// RFC 4648 base64 of `bytes`, appended to `out`.
void append_base64(std::string& out, std::span<const std::byte> bytes);

}  // namespace ringchat::chat
