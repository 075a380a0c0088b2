// One test per way a peer can earn a close code from FrameParser. Every
// input is fed whole, split at every offset and in random chunkings.
#include <gtest/gtest.h>

#include <string>

#include "parser_harness.h"
#include "ringchat/ws/frame_parser.h"

namespace ringchat::ws {
namespace {

using testing::bytes;
using testing::client_frame;
using testing::expect_close;
using testing::feed_every_way;
using testing::frame;
using testing::Outcome;

// A frame with its first byte or'ed with `b0_bits`.
std::string with_bits(Opcode op, std::string_view payload, int b0_bits) {
  std::string wire = client_frame(op, payload);
  wire[0] = static_cast<char>(wire[0] | b0_bits);
  return wire;
}

TEST(FrameParser, RejectsRsv1) {
  expect_close(with_bits(Opcode::kText, "x", 0x40), CloseCode::kProtocolError);
}

TEST(FrameParser, RejectsRsv2) {
  expect_close(with_bits(Opcode::kText, "x", 0x20), CloseCode::kProtocolError);
}

TEST(FrameParser, RejectsRsv3) {
  expect_close(with_bits(Opcode::kPing, "x", 0x10), CloseCode::kProtocolError);
}

TEST(FrameParser, RejectsReservedOpcodes) {
  for (int op : {3, 4, 5, 6, 7, 11, 12, 13, 14, 15}) {
    SCOPED_TRACE(op);
    std::string wire = bytes({0x80 | op, 0x80 | 1, 1, 2, 3, 4, 'x'});
    expect_close(wire, CloseCode::kProtocolError);
  }
}

TEST(FrameParser, RejectsUnmaskedFrameAsServer) {
  std::string wire;
  append_server_frame(wire, Opcode::kText, as_bytes("hi"));
  expect_close(wire, CloseCode::kProtocolError, Role::kServer);
}

TEST(FrameParser, RejectsMaskedFrameAsClient) {
  expect_close(client_frame(Opcode::kText, "hi"), CloseCode::kProtocolError, Role::kClient);
}

TEST(FrameParser, RejectsLengthWithMostSignificantBitSet) {
  std::string wire = bytes({0x82, 0x80 | 127, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4});
  expect_close(wire, CloseCode::kProtocolError);
}

TEST(FrameParser, RejectsControlFrameOver125Bytes) {
  expect_close(client_frame(Opcode::kPing, std::string(126, 'p')), CloseCode::kProtocolError);
}

TEST(FrameParser, RejectsControlFrameAnnouncedOver125BeforeItsLength) {
  // The 7-bit field says "16-bit length follows": wrong for a control frame,
  // and known from the first two bytes.
  expect_close(bytes({0x89, 0x80 | 126}), CloseCode::kProtocolError);
}

TEST(FrameParser, RejectsFragmentedControlFrame) {
  expect_close(client_frame(Opcode::kPing, "x", false), CloseCode::kProtocolError);
}

TEST(FrameParser, RejectsContinuationWithoutMessage) {
  expect_close(client_frame(Opcode::kContinuation, "x"), CloseCode::kProtocolError);
}

TEST(FrameParser, RejectsContinuationAfterFinishedMessage) {
  std::string wire = client_frame(Opcode::kText, "done");
  frame(wire, Opcode::kContinuation, "more");
  const Outcome out = feed_every_way(wire);
  EXPECT_EQ(out.events.size(), 1u);
  EXPECT_EQ(out.error, CloseCode::kProtocolError);
}

TEST(FrameParser, RejectsTextDuringFragmentedMessage) {
  std::string wire = client_frame(Opcode::kText, "a", false);
  frame(wire, Opcode::kText, "b");
  expect_close(wire, CloseCode::kProtocolError);
}

TEST(FrameParser, RejectsBinaryDuringFragmentedMessage) {
  std::string wire = client_frame(Opcode::kBinary, "a", false);
  frame(wire, Opcode::kBinary, "b");
  expect_close(wire, CloseCode::kProtocolError);
}

TEST(FrameParser, RejectsFrameOverLimitFromHeaderAlone) {
  // Only the header of a 101-byte frame: 1009 before any payload arrives.
  const std::string wire = client_frame(Opcode::kBinary, std::string(101, 'x'));
  expect_close(wire.substr(0, 2 + 4), CloseCode::kMessageTooBig, Role::kServer, 100);
}

TEST(FrameParser, RejectsHugeAnnouncedFrame) {
  std::string wire =
      bytes({0x82, 0x80 | 127, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3, 4});
  expect_close(wire, CloseCode::kMessageTooBig);
}

TEST(FrameParser, RejectsFragmentsSummingOverLimit) {
  std::string wire = client_frame(Opcode::kText, std::string(60, 'a'), false);
  frame(wire, Opcode::kContinuation, std::string(41, 'b'));
  expect_close(wire.substr(0, wire.size() - 41), CloseCode::kMessageTooBig, Role::kServer, 100);
}

// A message in `n` frames: `first` then continuations, the last one final.
std::string fragmented(Opcode first, size_t n, std::string_view each = "") {
  std::string wire;
  for (size_t i = 0; i < n; ++i) {
    frame(wire, i == 0 ? first : Opcode::kContinuation, each, i + 1 == n);
  }
  return wire;
}

TEST(FrameParser, AcceptsMessageOfExactlyMaxFragments) {
  const Outcome out =
      feed_every_way(fragmented(Opcode::kText, 8, "ab"), Role::kServer, testing::kDefaultMax, 8);
  EXPECT_FALSE(out.error);
  ASSERT_EQ(out.events.size(), 1u);
  EXPECT_EQ(out.events[0].payload, "abababababababab");
}

TEST(FrameParser, RejectsFragmentPastTheLimitFromItsHeader) {
  // Nine frames where eight are allowed: 1009 at the ninth header, before
  // its payload (none of it is sent).
  std::string wire = fragmented(Opcode::kBinary, 9, "xy");
  wire.resize(wire.size() - 2);
  expect_close(wire, CloseCode::kMessageTooBig, Role::kServer, testing::kDefaultMax, 8);
}

TEST(FrameParser, RejectsManyEmptyContinuations) {
  // The attack: empty continuations cost 6 bytes each and no payload.
  std::string wire = fragmented(Opcode::kText, kDefaultMaxFragments + 1);
  const Outcome out = testing::run_whole(Role::kServer, testing::kDefaultMax, wire);
  ASSERT_TRUE(out.error.has_value());
  EXPECT_EQ(*out.error, CloseCode::kMessageTooBig);
  EXPECT_TRUE(out.events.empty());
}

TEST(FrameParser, CountsFragmentsPerMessageNotControlFrames) {
  std::string wire;
  for (int m = 0; m < 3; ++m) {
    frame(wire, Opcode::kText, "a", false);
    frame(wire, Opcode::kPing, "p");
    frame(wire, Opcode::kPing, "q");
    frame(wire, Opcode::kContinuation, "b", true);
  }
  const Outcome out = feed_every_way(wire, Role::kServer, testing::kDefaultMax, 2);
  EXPECT_FALSE(out.error);
  EXPECT_EQ(out.events.size(), 9u);  // 6 pings, 3 messages
}

TEST(FrameParser, OneFragmentAllowsOnlyUnfragmentedMessages) {
  EXPECT_FALSE(
      feed_every_way(client_frame(Opcode::kBinary, "whole"), Role::kServer, testing::kDefaultMax, 1)
          .error);
  expect_close(fragmented(Opcode::kBinary, 2, "x"), CloseCode::kMessageTooBig, Role::kServer,
               testing::kDefaultMax, 1);
}

TEST(FrameParser, MovedParserKeepsItsFragmentCountAndLimit) {
  std::string wire = client_frame(Opcode::kBinary, "x", false);
  frame(wire, Opcode::kContinuation, "x", false);
  std::span<std::byte> in(reinterpret_cast<std::byte*>(wire.data()), wire.size());
  FrameParser first(Role::kServer, 1024, 2);
  auto ev = first.next(in);  // the 2 frames allowed, then it needs more
  ASSERT_TRUE(ev.ok());
  EXPECT_EQ(ev->kind, Event::Kind::kNeedMore);
  FrameParser moved(std::move(first));
  std::string third = client_frame(Opcode::kContinuation, "x");
  std::span<std::byte> more(reinterpret_cast<std::byte*>(third.data()), third.size());
  auto over = moved.next(more);
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error(), CloseCode::kMessageTooBig);
}

TEST(FrameParser, RejectsInvalidUtf8InText) {
  expect_close(client_frame(Opcode::kText, "ok \xC0\x80 no"), CloseCode::kInvalidPayload);
}

TEST(FrameParser, RejectsTextEndingMidCodePoint) {
  expect_close(client_frame(Opcode::kText, "cut \xE2\x82"), CloseCode::kInvalidPayload);
}

TEST(FrameParser, RejectsFragmentedTextEndingMidCodePoint) {
  std::string wire = client_frame(Opcode::kText, "a\xF0\x9F", false);
  frame(wire, Opcode::kContinuation, "\x98");
  expect_close(wire, CloseCode::kInvalidPayload);
}

TEST(FrameParser, FailsFastOnInvalidUtf8BeforeFrameEnds) {
  // The frame announces 200 bytes; the bad byte is the 3rd; only 10 arrive.
  std::string payload = "ab\xFF" + std::string(197, 'c');
  const std::string wire = client_frame(Opcode::kText, payload);
  expect_close(wire.substr(0, 8 + 10), CloseCode::kInvalidPayload);
}

TEST(FrameParser, FailsFastOnInvalidUtf8InLaterFragment) {
  // Fragment 1 ends inside a 3-byte sequence; fragment 2 breaks it with its
  // first byte and would go on for 100 more.
  std::string wire = client_frame(Opcode::kText, "x\xE0", false);
  const std::string second = client_frame(Opcode::kContinuation, "\x80" + std::string(100, 'z'));
  wire += second.substr(0, 2 + 4 + 1);
  expect_close(wire, CloseCode::kInvalidPayload);
}

TEST(FrameParser, RejectsCloseBodyOfOneByte) {
  expect_close(client_frame(Opcode::kClose, "\x03"), CloseCode::kProtocolError);
}

TEST(FrameParser, RejectsCloseWithInvalidCode) {
  for (int code : {0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000}) {
    SCOPED_TRACE(code);
    expect_close(client_frame(Opcode::kClose, close_payload(code, "r")), CloseCode::kProtocolError);
  }
}

TEST(FrameParser, RejectsCloseReasonInvalidUtf8) {
  expect_close(client_frame(Opcode::kClose, close_payload(1000, "\xED\xA0\x80")),
               CloseCode::kInvalidPayload);
}

TEST(FrameParser, RejectsAnyCallAfterAnError) {
  std::string wire = with_bits(Opcode::kText, "x", 0x40);
  std::span<std::byte> in(reinterpret_cast<std::byte*>(wire.data()), wire.size());
  FrameParser parser(Role::kServer, 1024);
  ASSERT_FALSE(parser.next(in).ok());
  std::string more = client_frame(Opcode::kText, "fine");
  std::span<std::byte> again(reinterpret_cast<std::byte*>(more.data()), more.size());
  EXPECT_FALSE(parser.next(again).ok());
}

}  // namespace
}  // namespace ringchat::ws
