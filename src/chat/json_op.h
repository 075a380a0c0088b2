#pragma once
// Private to the chat module: the client operations of the JSON WebSocket
// protocol (docs/PROTOCOL.md), read from one text message each.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "ringchat/chat/message.h"
#include "ringchat/core/result.h"

namespace ringchat::chat {

// The `type` of a client op:
//   {"type":"join","room":R,"since":"EPOCH:SEQ"?}
//   {"type":"leave","room":R}
//   {"type":"pub","room":R,"data":ANY}
//   {"type":"history","room":R,"before":SEQ?,"limit":N?}
//   {"type":"presence","room":R}
//   {"type":"ping"}
// Any op may carry "id" (a string or an integer), echoed in the reply.
enum class OpType : uint8_t { kJoin, kLeave, kPub, kHistory, kPresence, kPing, kRefresh };

inline constexpr uint32_t kDefaultHistoryLimit = 100;
inline constexpr uint32_t kMaxHistoryLimit = 1000;
inline constexpr size_t kMaxOpId = 128;  // bytes of a string id, unescaped

// One client op. A plain view: its string_views point into the OpParser that
// read it and are valid until that parser's next parse() or minify().
struct ClientOp {
  OpType type = OpType::kPing;
  std::string_view room;                  // a valid room name, for all but ping and refresh
  std::optional<Position> since;          // join
  uint64_t before = 0;                    // history: only seqs below it; 0 = from the newest
  uint32_t limit = kDefaultHistoryLimit;  // history: 1 to kMaxHistoryLimit
  // pub: the value as compact JSON: valid UTF-8, one line (see OpParser).
  std::string_view data;
  std::string_view id;     // "id" as JSON text ("\"a1\"", "17"), empty if absent
  std::string_view token;  // refresh: the new token, unescaped
};

// Why an op was refused. `code` is part of the protocol (the `error` reply):
//   bad_json    not JSON (RFC 8259), not an object, nested too deep, a number
//               out of range, invalid UTF-8, trailing bytes
//   bad_type    `type` missing, not a string, or not an op's name
//   bad_field   a required field missing, or a field of the wrong JSON type
//   bad_room    `room` is not a room name (room_name_error())
//   bad_since   `since` is a string but not EPOCH:SEQ
//   bad_limit   `limit` is a number but not an integer 1 to 1000
//   bad_before  `before` is a number but not an integer >= 1
//   bad_id      `id` neither a string nor an integer, or a longer string
//               than kMaxOpId bytes
// `reason` names the field and never quotes the input.
struct OpError {
  std::string_view code;  // a static string
  std::string reason;
  // The op's id (as ClientOp::id) when it was read before the error: every
  // error but bad_json and bad_id carries it.
  std::string_view id;
};

// Reads client ops with simdjson's DOM parser, which validates the whole
// message (UTF-8, escapes, numbers, every value), so `data`, which other
// clients receive, is always valid JSON.
//
// What it accepts, beyond the op shapes above:
// - Keys are compared after unescaping. A key given twice counts the first
//   time (later ones are ignored, as are keys it does not know).
// - Fields an op does not use are ignored whatever their value ("room" in a
//   ping, "limit" in a join); null is not "absent" but a wrong JSON type.
// - `data` and `id` are re-encoded from the parsed value, not copied: no
//   whitespace, strings escaped only where JSON requires it ("\u0041" comes
//   back as "A", a newline as "\n"), integers with the same digits, other
//   numbers in the shortest form that reads back as the same double
//   (1e2 -> 100.0, 1.50 -> 1.5).
// - Numbers simdjson cannot represent are bad_json, not rounded: an integer
//   outside int64/uint64 (123456789012345678901234567890) and a double that
//   overflows (1e999). One that underflows reads as 0.0 (1e-400).
// - A \u escape of a lone UTF-16 surrogate ("\ud800") is bad_json: it
//   names no character, and simdjson refuses it.
// - The op object counts as one level of nesting: `data` may nest
//   max_depth - 1 deeper.
//
// Memory: it keeps and reuses its buffers. They grow to about 16 bytes per
// byte of the largest input; past 64 KiB that is given back after 256
// smaller inputs in a row.
// Thread: owner shard only (one per shard).
class OpParser {
 public:
  // `max_depth`: how deep arrays and objects may nest, the op's own
  // object included. REQUIRES: max_depth >= 1.
  explicit OpParser(size_t max_depth = 32);
  ~OpParser();
  OpParser(const OpParser&) = delete;
  OpParser& operator=(const OpParser&) = delete;

  // The op in `text`, one WebSocket text message. `text` need not outlive
  // the call.
  Result<ClientOp, OpError> parse(std::string_view text);

  // `text` as one JSON value (an HTTP body of application/json), compact as
  // ClientOp::data, or nullopt if it is not valid JSON or nests deeper than
  // max_depth. The view is valid until the next parse() or minify().
  std::optional<std::string_view> minify(std::string_view text);

 private:
  struct Impl;  // simdjson's parser and our output buffers, kept out of this header
  std::unique_ptr<Impl> impl_;
};

}  // namespace ringchat::chat
