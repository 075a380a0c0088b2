// libFuzzer target: chat::OpParser (src/chat/json_op.h), which reads a JSON
// socket's text messages and HTTP publishes of application/json. The input
// is one message. What it accepts must be what it promises: a valid room,
// bounded numbers, and `data`/`id` that are themselves compact, valid,
// one-line JSON (other clients receive them verbatim). Errors carry a
// protocol code and a reason that never quotes the input.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "chat/json_op.h"
#include "fuzz_check.h"
#include "ringchat/chat/room_name.h"
#include "ringchat/ws/frame_encoder.h"
#include "ringchat/ws/utf8.h"

namespace {

using ringchat::chat::ClientOp;
using ringchat::chat::OpError;
using ringchat::chat::OpParser;
using ringchat::chat::OpType;

bool utf8(std::string_view s) { return ringchat::ws::is_valid_utf8(ringchat::ws::as_bytes(s)); }

// Compact JSON as OpParser re-encodes it: valid UTF-8, no raw line end
// (control characters are escaped), and a fixed point of minify().
void check_compact_json(OpParser& other, std::string_view json) {
  FUZZ_CHECK(!json.empty());
  FUZZ_CHECK(utf8(json));
  FUZZ_CHECK(json.find_first_of("\r\n") == std::string_view::npos);
  const std::string copy(json);
  const auto again = other.minify(copy);
  FUZZ_CHECK(again.has_value());
  FUZZ_CHECK(*again == copy);
}

bool known_code(std::string_view code) {
  for (std::string_view c : {"bad_json", "bad_type", "bad_field", "bad_room", "bad_since",
                             "bad_limit", "bad_before", "bad_id"}) {
    if (code == c) return true;
  }
  return false;
}

// A plain copy of a ClientOp (its views die with the next parse).
struct Op {
  OpType type;
  std::string room, data, id;
  std::optional<ringchat::chat::Position> since;
  uint64_t before;
  uint32_t limit;
  bool operator==(const Op&) const = default;
};

Op copy_of(const ClientOp& op) {
  return {
      op.type, std::string(op.room), std::string(op.data), std::string(op.id), op.since, op.before,
      op.limit};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static OpParser parser;  // kept across inputs, as a shard's is
  static OpParser checker;
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  auto r = parser.parse(text);
  std::optional<Op> first;
  std::string first_code;
  if (r.ok()) {
    const ClientOp& op = *r;
    if (op.type != OpType::kPing) FUZZ_CHECK(ringchat::chat::room_name_error(op.room) == nullptr);
    if (op.type == OpType::kPub) check_compact_json(checker, op.data);
    if (op.type == OpType::kHistory) {
      FUZZ_CHECK(op.limit >= 1 && op.limit <= ringchat::chat::kMaxHistoryLimit);
    }
    if (!op.id.empty()) check_compact_json(checker, op.id);
    first = copy_of(op);
  } else {
    const OpError& e = r.error();
    FUZZ_CHECK(known_code(e.code));
    FUZZ_CHECK(!e.reason.empty() && e.reason.size() < 200);
    for (char c : e.reason) FUZZ_CHECK(c >= 0x20 && c < 0x7f);
    if (e.code == "bad_json" || e.code == "bad_id") FUZZ_CHECK(e.id.empty());
    if (!e.id.empty()) check_compact_json(checker, e.id);
    first_code = std::string(e.code);
  }

  // The same verdict again: nothing of the last input lingers in the
  // parser's reused buffers.
  auto again = parser.parse(text);
  FUZZ_CHECK(again.ok() == first.has_value());
  if (again.ok()) {
    FUZZ_CHECK(copy_of(*again) == *first);
  } else {
    FUZZ_CHECK(again.error().code == first_code);
  }

  // An HTTP body of application/json.
  if (auto m = parser.minify(text)) check_compact_json(checker, *m);
  return 0;
}
