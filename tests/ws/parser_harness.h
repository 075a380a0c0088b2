#pragma once
#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <ostream>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "ringchat/ws/frame_encoder.h"
#include "ringchat/ws/frame_parser.h"

// Test vocabulary for FrameParser: build wire bytes, feed them in chunks,
// record what comes out. Each chunk is copied into its own buffer that is
// scribbled over once the parser has returned kNeedMore, as a recv buffer
// would be recycled, so a parser that kept a pointer into `in` fails.
namespace ringchat::ws::testing {

constexpr uint32_t kMask = 0x37FA213D;
constexpr size_t kDefaultMax = 4u << 20;

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

inline void PrintTo(const Recorded& r, std::ostream* os) {
  *os << "{kind " << static_cast<int>(r.kind) << ", op " << static_cast<int>(r.opcode) << ", "
      << r.payload.size() << " bytes, code " << r.close_code << "}";
}

inline void PrintTo(const Outcome& o, std::ostream* os) {
  *os << o.events.size() << " events [";
  for (const auto& r : o.events) PrintTo(r, os);
  *os << "], error " << (o.error ? static_cast<int>(*o.error) : 0);
}

inline std::string bytes(std::initializer_list<int> list) {
  std::string s;
  for (int b : list) s.push_back(static_cast<char>(b));
  return s;
}

// Appends one client frame (masked) carrying `payload`.
inline void frame(std::string& wire, Opcode op, std::string_view payload, bool fin = true) {
  append_client_frame(wire, op, as_bytes(payload), kMask, fin);
}

inline std::string client_frame(Opcode op, std::string_view payload, bool fin = true) {
  std::string wire;
  frame(wire, op, payload, fin);
  return wire;
}

inline Recorded record(const Event& ev) {
  return {ev.kind, ev.opcode, std::string(as_string_view(ev.payload)), ev.close_code,
          std::string(ev.close_reason)};
}

// Feeds `wire` to a fresh parser in pieces ending at `cuts` (ascending).
inline Outcome run(Role role, size_t max, std::string_view wire, const std::vector<size_t>& cuts,
                   uint32_t max_fragments = kDefaultMaxFragments) {
  FrameParser parser(role, max, max_fragments);
  Outcome out;
  size_t begin = 0;
  std::vector<std::byte> chunk;
  for (size_t i = 0; i <= cuts.size(); ++i) {
    const size_t end = i < cuts.size() ? cuts[i] : wire.size();
    const auto piece = wire.substr(begin, end - begin);
    begin = end;
    chunk.assign(as_bytes(piece).begin(), as_bytes(piece).end());
    std::span<std::byte> in(chunk);
    for (;;) {
      auto ev = parser.next(in);
      if (!ev.ok()) {
        out.error = ev.error();
        return out;
      }
      if (ev->kind == Event::Kind::kNeedMore) {
        EXPECT_TRUE(in.empty()) << "kNeedMore must consume every byte";
        break;
      }
      out.events.push_back(record(*ev));
      if (ev->kind == Event::Kind::kClose) return out;
    }
    std::fill(chunk.begin(), chunk.end(), std::byte{0xEE});
  }
  return out;
}

inline Outcome run_whole(Role role, size_t max, std::string_view wire) {
  return run(role, max, wire, {});
}

// Split points to try: every offset for small inputs, a sample for large.
inline std::vector<size_t> split_offsets(size_t size, std::mt19937& rng) {
  std::vector<size_t> offsets;
  if (size <= 2048) {
    for (size_t i = 1; i < size; ++i) offsets.push_back(i);
    return offsets;
  }
  for (size_t i = 1; i < 40; ++i) {
    offsets.push_back(i);
    offsets.push_back(size - i);
  }
  std::uniform_int_distribution<size_t> pick(1, size - 1);
  for (int i = 0; i < 40; ++i) offsets.push_back(pick(rng));
  return offsets;
}

inline std::vector<size_t> random_cuts(size_t size, std::mt19937& rng) {
  std::vector<size_t> cuts;
  const size_t max_step = size < 64 ? 8 : size / 8;
  std::uniform_int_distribution<size_t> step(1, max_step);
  for (size_t at = step(rng); at < size; at += step(rng)) cuts.push_back(at);
  return cuts;
}

// Feeds `wire` whole, split at every offset (two pieces), a byte at a time
// (small inputs) and in seeded random chunkings; every run must agree.
// Returns the agreed outcome.
inline Outcome feed_every_way(std::string_view wire, Role role = Role::kServer,
                              size_t max = kDefaultMax,
                              uint32_t max_fragments = kDefaultMaxFragments) {
  const Outcome whole = run(role, max, wire, {}, max_fragments);
  std::mt19937 rng(0x5eed);
  for (size_t at : split_offsets(wire.size(), rng)) {
    EXPECT_EQ(run(role, max, wire, {at}, max_fragments), whole) << "split at " << at;
  }
  if (wire.size() <= 4096) {
    std::vector<size_t> every;
    for (size_t i = 1; i < wire.size(); ++i) every.push_back(i);
    EXPECT_EQ(run(role, max, wire, every, max_fragments), whole) << "byte at a time";
  }
  for (int i = 0; i < 8; ++i) {
    EXPECT_EQ(run(role, max, wire, random_cuts(wire.size(), rng), max_fragments), whole)
        << "random chunking " << i;
  }
  return whole;
}

inline Recorded message(Opcode op, std::string payload) {
  return {Event::Kind::kMessage, op, std::move(payload), 1005, ""};
}
inline Recorded ping(std::string payload) {
  return {Event::Kind::kPing, Opcode::kPing, std::move(payload), 1005, ""};
}
inline Recorded pong(std::string payload) {
  return {Event::Kind::kPong, Opcode::kPong, std::move(payload), 1005, ""};
}

// Asserts that every way of feeding `wire` ends in `code`.
inline void expect_close(std::string_view wire, CloseCode code, Role role = Role::kServer,
                         size_t max = kDefaultMax, uint32_t max_fragments = kDefaultMaxFragments) {
  const Outcome out = feed_every_way(wire, role, max, max_fragments);
  ASSERT_TRUE(out.error.has_value()) << "expected close code " << static_cast<int>(code);
  EXPECT_EQ(*out.error, code);
}

}  // namespace ringchat::ws::testing
