// Seeded, bounded random inputs for FrameParser: random valid conversations
// must give exactly the events they encode, however they are chunked; random
// bytes must give the same outcome however they are chunked.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "parser_harness.h"
#include "ringchat/ws/frame_parser.h"

namespace ringchat::ws {
namespace {

using testing::frame;
using testing::message;
using testing::Outcome;
using testing::Recorded;

// Code points of 1-4 UTF-8 bytes, so split points fall inside sequences.
const char* const kPieces[] = {"a",
                               "Z",
                               " ",
                               "\xC2\xA9",
                               "\xDF\xBF",
                               "\xE2\x82\xAC",
                               "\xEF\xBF\xBF",
                               "\xF0\x9F\x98\x80",
                               "\xF4\x8F\xBF\xBF"};

struct Conversation {
  std::string wire;
  std::vector<Recorded> events;
};

std::string random_text(std::mt19937& rng, size_t max_pieces) {
  std::uniform_int_distribution<size_t> count(0, max_pieces);
  std::uniform_int_distribution<size_t> piece(0, std::size(kPieces) - 1);
  std::string s;
  for (size_t n = count(rng); n > 0; --n) s += kPieces[piece(rng)];
  return s;
}

// Cuts `payload` into 1-4 fragments at random byte offsets (possibly inside
// a code point) and appends them, with a ping between some of them.
void add_message(Conversation& c, Opcode op, const std::string& payload, std::mt19937& rng) {
  std::uniform_int_distribution<int> parts(1, 4);
  std::uniform_int_distribution<size_t> at(0, payload.size());
  std::vector<size_t> cuts = {0, payload.size()};
  for (int i = parts(rng); i > 1; --i) cuts.push_back(at(rng));
  std::sort(cuts.begin(), cuts.end());
  for (size_t i = 0; i + 1 < cuts.size(); ++i) {
    const bool fin = i + 2 == cuts.size();
    const auto part = payload.substr(cuts[i], cuts[i + 1] - cuts[i]);
    frame(c.wire, i == 0 ? op : Opcode::kContinuation, part, fin);
    if (!fin && rng() % 2 == 0) {
      const std::string body = "ping" + std::to_string(i);
      frame(c.wire, Opcode::kPing, body);
      c.events.push_back(testing::ping(body));
    }
  }
  c.events.push_back(message(op, payload));
}

Conversation random_conversation(std::mt19937& rng) {
  Conversation c;
  std::uniform_int_distribution<int> messages(1, 6);
  for (int m = messages(rng); m > 0; --m) {
    if (rng() % 2 == 0) {
      add_message(c, Opcode::kText, random_text(rng, 80), rng);
    } else {
      std::string bin(rng() % 300, '\0');
      for (auto& ch : bin) ch = static_cast<char>(rng());
      add_message(c, Opcode::kBinary, bin, rng);
    }
  }
  return c;
}

TEST(FrameParser, RandomConversationsGiveTheirEventsUnderAnyChunking) {
  std::mt19937 rng(20240611);
  for (int round = 0; round < 60; ++round) {
    SCOPED_TRACE(round);
    const Conversation c = random_conversation(rng);
    const Outcome out = testing::feed_every_way(c.wire);
    EXPECT_FALSE(out.error);
    EXPECT_EQ(out.events, c.events);
  }
}

TEST(FrameParser, RandomBytesGiveTheSameOutcomeUnderAnyChunking) {
  std::mt19937 rng(77);
  for (int round = 0; round < 200; ++round) {
    SCOPED_TRACE(round);
    // Start from a valid frame and flip bytes, so parsing gets past byte 0.
    std::string wire = testing::client_frame(Opcode::kText, random_text(rng, 20));
    wire += std::string(rng() % 64, '\0');
    for (int flips = 1 + rng() % 4; flips > 0; --flips) {
      wire[rng() % wire.size()] = static_cast<char>(rng());
    }
    testing::feed_every_way(wire, Role::kServer, 1000);
  }
}

TEST(FrameParser, RandomTextCorruptionIsAlwaysCaught) {
  std::mt19937 rng(4242);
  for (int round = 0; round < 200; ++round) {
    SCOPED_TRACE(round);
    std::string text = random_text(rng, 30) + "\xE2\x82\xAC";
    text[rng() % text.size()] = static_cast<char>(0x80 | (rng() % 0x80));
    const bool valid = is_valid_utf8(as_bytes(text));
    const Outcome out = testing::feed_every_way(testing::client_frame(Opcode::kText, text));
    EXPECT_EQ(out.error.has_value(), !valid);
    if (!valid) {
      EXPECT_EQ(out.error, CloseCode::kInvalidPayload);
    }
  }
}

}  // namespace
}  // namespace ringchat::ws
