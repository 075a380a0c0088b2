#include "ringchat/ws/frame_encoder.h"

#include <gtest/gtest.h>

#include <array>
#include <string>
#include <vector>

#include "parser_harness.h"

namespace ringchat::ws {
namespace {

std::string header(Opcode op, uint64_t len, bool fin = true) {
  std::array<std::byte, kMaxHeaderBytes> out{};
  const size_t n = encode_header(out, op, len, fin);
  return std::string(reinterpret_cast<const char*>(out.data()), n);
}

TEST(FrameEncoder, HeaderUsesMinimalLengthEncoding) {
  using testing::bytes;
  EXPECT_EQ(header(Opcode::kText, 0), bytes({0x81, 0}));
  EXPECT_EQ(header(Opcode::kText, 125), bytes({0x81, 125}));
  EXPECT_EQ(header(Opcode::kBinary, 126), bytes({0x82, 126, 0, 126}));
  EXPECT_EQ(header(Opcode::kBinary, 65535), bytes({0x82, 126, 0xFF, 0xFF}));
  EXPECT_EQ(header(Opcode::kBinary, 65536), bytes({0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0}));
  EXPECT_EQ(header(Opcode::kPing, 3), bytes({0x89, 3}));
  EXPECT_EQ(header(Opcode::kContinuation, 1, false), bytes({0x00, 1}));
}

TEST(FrameEncoder, ClientFrameCarriesMaskKeyBigEndian) {
  std::string wire;
  append_client_frame(wire, Opcode::kText, as_bytes("ab"), 0x01020304);
  EXPECT_EQ(wire, testing::bytes({0x81, 0x82, 1, 2, 3, 4, 'a' ^ 1, 'b' ^ 2}));
}

TEST(FrameEncoder, ClientFramesRoundTripThroughServerParser) {
  for (size_t n : {0u, 1u, 125u, 126u, 65535u, 65536u, 200000u}) {
    std::string payload(n, '\0');
    for (size_t i = 0; i < n; ++i) payload[i] = static_cast<char>(i % 251);
    std::string wire;
    append_client_frame(wire, Opcode::kBinary, as_bytes(payload), 0xA1B2C3D4);
    const auto out = testing::run_whole(Role::kServer, 1 << 20, wire);
    ASSERT_EQ(out.events.size(), 1u) << n;
    EXPECT_EQ(out.events[0].payload, payload) << n;
  }
}

TEST(FrameEncoder, ServerFramesRoundTripThroughClientParser) {
  std::string wire;
  append_server_frame(wire, Opcode::kText, as_bytes("frag "), false);
  append_server_frame(wire, Opcode::kPong, as_bytes("pp"));
  append_server_frame(wire, Opcode::kContinuation, as_bytes("end"));
  const std::string body = close_payload(1001, "shutting down");
  append_server_frame(wire, Opcode::kClose, as_bytes(body));
  const auto out = testing::feed_every_way(wire, Role::kClient);
  ASSERT_EQ(out.events.size(), 3u);
  EXPECT_EQ(out.events[0], testing::pong("pp"));
  EXPECT_EQ(out.events[1], testing::message(Opcode::kText, "frag end"));
  EXPECT_EQ(out.events[2].close_code, 1001);
  EXPECT_EQ(out.events[2].reason, "shutting down");
}

TEST(FrameEncoder, ClosePayloadIsBigEndianCodeThenReason) {
  EXPECT_EQ(close_payload(1000, ""), testing::bytes({0x03, 0xE8}));
  EXPECT_EQ(close_payload(4999, "x"), testing::bytes({0x13, 0x87, 'x'}));
}

TEST(FrameEncoder, ClosePayloadTruncatesAtCodePointBoundary) {
  const std::string ascii(200, 'r');
  EXPECT_EQ(close_payload(1000, ascii).size(), kMaxControlPayload);
  // 122 ASCII bytes then a 2-byte code point straddling the 123-byte limit.
  const std::string reason = std::string(122, 'r') + "\xC3\xA9" + "tail";
  const std::string body = close_payload(1000, reason);
  EXPECT_EQ(body.size(), 2u + 122u);
  EXPECT_TRUE(is_valid_utf8(as_bytes(body.substr(2))));
}

TEST(FrameEncoder, MaskBytesMatchesBytewiseDefinition) {
  const uint32_t mask = 0xDEADBEEF;
  const uint8_t key[4] = {0xDE, 0xAD, 0xBE, 0xEF};
  for (size_t len = 0; len < 80; ++len) {
    for (size_t offset = 0; offset < 6; ++offset) {
      std::vector<std::byte> data(len);
      for (size_t i = 0; i < len; ++i) data[i] = std::byte(i * 13 + 5);
      mask_bytes(data, mask, offset);
      for (size_t i = 0; i < len; ++i) {
        const auto want = static_cast<uint8_t>((i * 13 + 5) & 0xFF) ^ key[(offset + i) % 4];
        ASSERT_EQ(static_cast<uint8_t>(data[i]), want)
            << "len " << len << " offset " << offset << " i " << i;
      }
    }
  }
}

TEST(FrameEncoder, MaskingTwiceRestoresData) {
  std::vector<std::byte> data(1000);
  for (size_t i = 0; i < data.size(); ++i) data[i] = std::byte(i);
  const auto original = data;
  mask_bytes(data, 0x12345678, 3);
  EXPECT_NE(data, original);
  mask_bytes(data, 0x12345678, 3);
  EXPECT_EQ(data, original);
}

}  // namespace
}  // namespace ringchat::ws
