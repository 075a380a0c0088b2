// libFuzzer target: ws::FrameParser. The first input byte picks the
// parser's configuration and how the rest (the wire bytes) is cut; the
// outcome must not depend on the cuts, and every event must keep the
// parser's promises (limits, UTF-8, control frame sizes).
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "fuzz_check.h"
#include "ringchat/ws/frame_encoder.h"
#include "ringchat/ws/frame_parser.h"
#include "ringchat/ws/utf8.h"

namespace {

using ringchat::ws::CloseCode;
using ringchat::ws::Event;
using ringchat::ws::FrameParser;
using ringchat::ws::Opcode;
using ringchat::ws::Role;

struct Config {
  Role role;
  size_t max_message;
  uint32_t max_fragments;
  uint8_t cut_seed;
};

Config config_of(uint8_t b) {
  static constexpr size_t kMessages[] = {1 << 20, 125, 1000, 65536};
  static constexpr uint32_t kFragments[] = {ringchat::ws::kDefaultMaxFragments, 1, 4, 64};
  return {(b & 1) != 0 ? Role::kClient : Role::kServer, kMessages[(b >> 1) & 3],
          kFragments[(b >> 3) & 3], static_cast<uint8_t>(b >> 5)};
}

struct Recorded {
  Event::Kind kind;
  Opcode opcode;
  std::string payload;
  uint16_t close_code;
  std::string reason;
  bool operator==(const Recorded&) const = default;
};

struct Outcome {
  std::vector<Recorded> events;
  std::optional<CloseCode> error;
  bool operator==(const Outcome&) const = default;
};

void check_event(const Config& c, const Event& ev) {
  switch (ev.kind) {
    case Event::Kind::kMessage:
      FUZZ_CHECK(ev.opcode == Opcode::kText || ev.opcode == Opcode::kBinary);
      FUZZ_CHECK(ev.payload.size() <= c.max_message);
      if (ev.opcode == Opcode::kText) FUZZ_CHECK(ringchat::ws::is_valid_utf8(ev.payload));
      break;
    case Event::Kind::kPing:
    case Event::Kind::kPong:
      FUZZ_CHECK(ev.payload.size() <= ringchat::ws::kMaxControlPayload);
      break;
    case Event::Kind::kClose:
      FUZZ_CHECK(ev.payload.size() <= ringchat::ws::kMaxControlPayload);
      FUZZ_CHECK(ringchat::ws::is_valid_utf8(ringchat::ws::as_bytes(ev.close_reason)));
      FUZZ_CHECK(ev.close_code == 1005 || ringchat::ws::is_valid_wire_close_code(ev.close_code));
      break;
    case Event::Kind::kNeedMore:
      FUZZ_CHECK(false);
  }
}

// Feeds `wire` in pieces of the sizes `cut` gives (0: all at once), each
// piece in its own buffer scribbled over afterwards, as a recycled receive
// buffer would be.
template <typename Cut>
Outcome run(const Config& c, std::span<const uint8_t> wire, Cut cut) {
  FrameParser parser(c.role, c.max_message, c.max_fragments);
  Outcome out;
  std::vector<std::byte> piece;
  size_t at = 0;
  while (at < wire.size()) {
    size_t n = cut(at);
    if (n == 0 || n > wire.size() - at) n = wire.size() - at;
    piece.assign(reinterpret_cast<const std::byte*>(wire.data() + at),
                 reinterpret_cast<const std::byte*>(wire.data() + at + n));
    at += n;
    std::span<std::byte> in(piece);
    for (;;) {
      const size_t before = in.size();
      auto ev = parser.next(in);
      FUZZ_CHECK(in.size() <= before);
      if (!ev.ok()) {
        out.error = ev.error();
        // Done: every further call is kProtocolError.
        auto again = parser.next(in);
        FUZZ_CHECK(!again.ok() && again.error() == CloseCode::kProtocolError);
        return out;
      }
      if (ev->kind == Event::Kind::kNeedMore) {
        FUZZ_CHECK(in.empty());
        break;
      }
      check_event(c, *ev);
      out.events.push_back({ev->kind, ev->opcode,
                            std::string(ringchat::ws::as_string_view(ev->payload)), ev->close_code,
                            std::string(ev->close_reason)});
      if (ev->kind == Event::Kind::kClose) return out;
    }
    std::memset(piece.data(), 0xEE, piece.size());
    parser.release();
    if (parser.idle()) FUZZ_CHECK(parser.buffer_capacity() == 0);
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const Config c = config_of(data[0]);
  std::span<const uint8_t> wire(data + 1, size - 1);
  const Outcome whole = run(c, wire, [](size_t) { return size_t{0}; });
  if (wire.size() <= 256) {
    FUZZ_CHECK(run(c, wire, [](size_t) { return size_t{1}; }) == whole);
  }
  // Cuts of 1 to 16 bytes, in a pattern the config byte picks.
  const uint32_t seed = c.cut_seed * 2654435761u + 1;
  FUZZ_CHECK(run(c, wire, [seed](size_t at) { return ((seed >> (at % 29)) + at) % 16 + 1; }) ==
             whole);
  return 0;
}
