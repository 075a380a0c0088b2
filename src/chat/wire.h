#pragma once
// Private to the chat module: the one place that turns a sequenced message
// into the bytes of each wire format.
#include <span>
#include <string>
#include <string_view>

#include "ringchat/chat/message.h"
#include "ringchat/net/shared_buf.h"

namespace ringchat::chat {

// The bytes of `m` in format `f`, in a new SharedBuf with one reference.
// Pure. Thread: any (the owner shard calls it once per message and format).
net::SharedBuf* encode(Format f, const Message& m);

// `m` as one JSON object, appended to `out`:
//   {"seq":N,"ts":MS,"from":"ID","data":"TEXT"}        a text message
//   {"seq":N,"ts":MS,"from":"ID","data_base64":"B64"}  a binary one
// ID is the sender's anonymous id ("SHARD-SLOT-GEN": opaque to clients).
void append_json(std::string& out, const Message& m);

// `s` as a JSON string literal (RFC 8259 §7), appended to `out`. REQUIRES:
// `s` is UTF-8 (it is passed through; only '"', '\\' and controls are escaped).
void append_json_string(std::string& out, std::string_view s);

// RFC 4648 base64 of `bytes`, appended to `out`.
void append_base64(std::string& out, std::span<const std::byte> bytes);

}  // namespace ringchat::chat
