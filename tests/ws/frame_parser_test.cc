#include "ringchat/ws/frame_parser.h"

#include <gtest/gtest.h>

#include <string>

#include "parser_harness.h"

namespace ringchat::ws {
namespace {

using testing::bytes;
using testing::client_frame;
using testing::expect_close;
using testing::feed_every_way;
using testing::frame;
using testing::message;
using testing::Outcome;
using testing::ping;
using testing::pong;

std::string pattern(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + i % 26);
  return s;
}

TEST(FrameParser, ParsesTextOfEveryLengthClass) {
  for (size_t n : {0u, 1u, 125u, 126u, 65535u, 65536u, 1u << 20}) {
    const std::string payload = pattern(n);
    const Outcome out = feed_every_way(client_frame(Opcode::kText, payload));
    EXPECT_FALSE(out.error) << n;
    ASSERT_EQ(out.events.size(), 1u) << n;
    EXPECT_EQ(out.events[0], message(Opcode::kText, payload)) << n;
  }
}

TEST(FrameParser, ParsesBinaryOfEveryLengthClass) {
  for (size_t n : {0u, 125u, 126u, 65535u, 65536u, 1u << 20}) {
    std::string payload(n, '\0');
    for (size_t i = 0; i < n; ++i) payload[i] = static_cast<char>(i * 7);
    const Outcome out = feed_every_way(client_frame(Opcode::kBinary, payload));
    ASSERT_EQ(out.events.size(), 1u) << n;
    EXPECT_EQ(out.events[0], message(Opcode::kBinary, payload)) << n;
  }
}

TEST(FrameParser, ReturnsWholeFrameAsSpanIntoInput) {
  std::string wire = client_frame(Opcode::kBinary, pattern(300));
  std::span<std::byte> in(reinterpret_cast<std::byte*>(wire.data()), wire.size());
  const std::byte* begin = in.data();
  FrameParser parser(Role::kServer, 1024);
  auto ev = parser.next(in);
  ASSERT_TRUE(ev.ok());
  EXPECT_EQ(ev->payload.data(), begin + 4 + 4);
  EXPECT_EQ(as_string_view(ev->payload), pattern(300));
  EXPECT_TRUE(in.empty());
  EXPECT_EQ(parser.buffer_capacity(), 0u);
}

TEST(FrameParser, ReturnsOneEventPerCallAndKeepsTheRest) {
  std::string wire;
  frame(wire, Opcode::kText, "one");
  frame(wire, Opcode::kText, "two");
  std::span<std::byte> in(reinterpret_cast<std::byte*>(wire.data()), wire.size());
  FrameParser parser(Role::kServer, 1024);
  auto first = parser.next(in);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(as_string_view(first->payload), "one");
  EXPECT_EQ(in.size(), wire.size() / 2);
  auto second = parser.next(in);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(as_string_view(second->payload), "two");
  auto third = parser.next(in);
  ASSERT_TRUE(third.ok());
  EXPECT_EQ(third->kind, Event::Kind::kNeedMore);
}

TEST(FrameParser, AssemblesFragmentsWithInterleavedPings) {
  std::string wire;
  frame(wire, Opcode::kText, "Hel", false);
  frame(wire, Opcode::kPing, "p1");
  frame(wire, Opcode::kContinuation, "lo, ", false);
  frame(wire, Opcode::kPong, "p2");
  frame(wire, Opcode::kPing, "");
  frame(wire, Opcode::kContinuation, "world", true);
  frame(wire, Opcode::kBinary, "next");
  const Outcome out = feed_every_way(wire);
  EXPECT_FALSE(out.error);
  const std::vector<testing::Recorded> want = {ping("p1"), pong("p2"), ping(""),
                                               message(Opcode::kText, "Hello, world"),
                                               message(Opcode::kBinary, "next")};
  EXPECT_EQ(out.events, want);
}

TEST(FrameParser, AcceptsEmptyFragments) {
  std::string wire;
  frame(wire, Opcode::kBinary, "", false);
  frame(wire, Opcode::kContinuation, "", false);
  frame(wire, Opcode::kContinuation, "xyz", false);
  frame(wire, Opcode::kContinuation, "", true);
  const Outcome out = feed_every_way(wire);
  ASSERT_EQ(out.events.size(), 1u);
  EXPECT_EQ(out.events[0], message(Opcode::kBinary, "xyz"));
}

TEST(FrameParser, ReturnsPingPayloadOfMaximumSize) {
  const std::string payload = pattern(125);
  const Outcome out = feed_every_way(client_frame(Opcode::kPing, payload));
  ASSERT_EQ(out.events.size(), 1u);
  EXPECT_EQ(out.events[0], ping(payload));
}

TEST(FrameParser, AcceptsNonMinimalLengthEncoding) {
  // "abc" announced with a 16-bit and a 64-bit length.
  const std::string key = bytes({0, 0, 0, 0});
  std::string wire = bytes({0x82, 0x80 | 126, 0, 3}) + key + "abc";
  wire += bytes({0x82, 0x80 | 127, 0, 0, 0, 0, 0, 0, 0, 3}) + key + "def";
  const Outcome out = feed_every_way(wire);
  const std::vector<testing::Recorded> want = {message(Opcode::kBinary, "abc"),
                                               message(Opcode::kBinary, "def")};
  EXPECT_EQ(out.events, want);
}

TEST(FrameParser, ClientRoleParsesUnmaskedFrames) {
  std::string wire;
  append_server_frame(wire, Opcode::kText, as_bytes("hi"), false);
  append_server_frame(wire, Opcode::kPing, as_bytes("x"));
  append_server_frame(wire, Opcode::kContinuation, as_bytes(" there"));
  const Outcome out = feed_every_way(wire, Role::kClient);
  const std::vector<testing::Recorded> want = {ping("x"), message(Opcode::kText, "hi there")};
  EXPECT_EQ(out.events, want);
}

TEST(FrameParser, AcceptsMessageOfExactlyMaxBytes) {
  std::string wire;
  frame(wire, Opcode::kBinary, pattern(60), false);
  frame(wire, Opcode::kContinuation, pattern(40), true);
  const Outcome out = feed_every_way(wire, Role::kServer, 100);
  EXPECT_FALSE(out.error);
  EXPECT_EQ(out.events.size(), 1u);
}

TEST(FrameParser, ReportsCloseWithoutBodyAsNoStatus) {
  const Outcome out = feed_every_way(client_frame(Opcode::kClose, ""));
  ASSERT_EQ(out.events.size(), 1u);
  EXPECT_EQ(out.events[0].kind, Event::Kind::kClose);
  EXPECT_EQ(out.events[0].close_code, 1005);
}

TEST(FrameParser, ReportsCloseCodeAndReason) {
  const std::string body = close_payload(4001, "bye \xC3\xA9t\xC3\xA9");
  std::string wire;
  frame(wire, Opcode::kText, "a", false);
  frame(wire, Opcode::kClose, body);
  const Outcome out = feed_every_way(wire);
  ASSERT_EQ(out.events.size(), 1u);
  EXPECT_EQ(out.events[0].close_code, 4001);
  EXPECT_EQ(out.events[0].reason, "bye \xC3\xA9t\xC3\xA9");
  EXPECT_EQ(out.events[0].payload, body);
}

TEST(FrameParser, IsDoneAfterClose) {
  std::string wire = client_frame(Opcode::kClose, "");
  wire += client_frame(Opcode::kText, "late");
  std::span<std::byte> in(reinterpret_cast<std::byte*>(wire.data()), wire.size());
  FrameParser parser(Role::kServer, 1024);
  auto close = parser.next(in);
  ASSERT_TRUE(close.ok());
  EXPECT_EQ(close->kind, Event::Kind::kClose);
  auto after = parser.next(in);
  ASSERT_FALSE(after.ok());
  EXPECT_EQ(after.error(), CloseCode::kProtocolError);
}

TEST(FrameParser, IdleBetweenMessagesAndReleaseFreesBuffer) {
  std::string wire = client_frame(Opcode::kText, pattern(1000));
  FrameParser parser(Role::kServer, 4096);
  EXPECT_TRUE(parser.idle());
  std::span<std::byte> first(reinterpret_cast<std::byte*>(wire.data()), 500);
  ASSERT_TRUE(parser.next(first).ok());
  EXPECT_FALSE(parser.idle());
  parser.release();
  EXPECT_GT(parser.buffer_capacity(), 0u) << "release must keep a partial";
  std::span<std::byte> rest(reinterpret_cast<std::byte*>(wire.data()) + 500, wire.size() - 500);
  auto ev = parser.next(rest);
  ASSERT_TRUE(ev.ok());
  EXPECT_EQ(ev->kind, Event::Kind::kMessage);
  EXPECT_EQ(as_string_view(ev->payload), pattern(1000));
  EXPECT_TRUE(parser.idle());
  parser.release();
  EXPECT_EQ(parser.buffer_capacity(), 0u);
}

TEST(FrameParser, IsNotIdleInsideFragmentedMessage) {
  std::string wire = client_frame(Opcode::kText, "part", false);
  std::span<std::byte> in(reinterpret_cast<std::byte*>(wire.data()), wire.size());
  FrameParser parser(Role::kServer, 1024);
  ASSERT_TRUE(parser.next(in).ok());
  EXPECT_FALSE(parser.idle());
}

TEST(FrameParser, IsNotIdleWithPartialHeader) {
  std::string wire = client_frame(Opcode::kText, "x");
  std::span<std::byte> in(reinterpret_cast<std::byte*>(wire.data()), 1);
  FrameParser parser(Role::kServer, 1024);
  ASSERT_TRUE(parser.next(in).ok());
  EXPECT_FALSE(parser.idle());
}

TEST(FrameParser, BufferGrowsOnlyWithArrivingBytes) {
  // A header announcing 1 MiB followed by 10 bytes must not allocate 1 MiB.
  std::string wire = client_frame(Opcode::kBinary, pattern(1 << 20));
  std::span<std::byte> in(reinterpret_cast<std::byte*>(wire.data()), 24);
  FrameParser parser(Role::kServer, 2 << 20);
  ASSERT_TRUE(parser.next(in).ok());
  EXPECT_LE(parser.buffer_capacity(), 4096u);
}

TEST(FrameParser, MovedParserContinuesTheMessage) {
  std::string wire = client_frame(Opcode::kText, pattern(200));
  std::span<std::byte> head(reinterpret_cast<std::byte*>(wire.data()), 50);
  FrameParser a(Role::kServer, 1024);
  ASSERT_TRUE(a.next(head).ok());
  FrameParser b(std::move(a));
  std::span<std::byte> rest(reinterpret_cast<std::byte*>(wire.data()) + 50, wire.size() - 50);
  auto ev = b.next(rest);
  ASSERT_TRUE(ev.ok());
  EXPECT_EQ(as_string_view(ev->payload), pattern(200));
}

}  // namespace
}  // namespace ringchat::ws
