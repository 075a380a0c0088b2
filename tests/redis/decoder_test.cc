#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "ringchat/redis/reply.h"

namespace ringchat::redis {
namespace {

// Feeds `wire` in the given pieces and returns every reply decoded, as
// debug strings, or the protocol error ("ERROR").
class DecoderTest : public testing::Test {
 protected:
  std::vector<std::string> decode(const std::vector<std::string_view>& pieces) {
    Decoder d;
    std::vector<std::string> out;
    for (std::string_view p : pieces) {
      d.feed(p);
      for (;;) {
        auto r = d.next();
        if (!r.ok()) {
          out.push_back("ERROR");
          return out;
        }
        if (!r->has_value()) break;
        out.push_back((*r)->view().debug_string());
      }
    }
    return out;
  }

  // Every split: byte by byte, and each two-part split. All must give
  // `expected`.
  void expect_every_split(const std::string& wire, const std::vector<std::string>& expected) {
    EXPECT_EQ(decode({wire}), expected) << "whole";
    std::vector<std::string_view> bytes;
    for (size_t i = 0; i < wire.size(); ++i) bytes.emplace_back(wire.data() + i, 1);
    EXPECT_EQ(decode(bytes), expected) << "byte by byte";
    const std::string_view w(wire);
    for (size_t cut = 0; cut <= wire.size(); ++cut) {
      EXPECT_EQ(decode({w.substr(0, cut), w.substr(cut)}), expected) << "split at " << cut;
    }
  }
};

TEST_F(DecoderTest, EveryReplyTypeAtEverySplit) {
  expect_every_split("+OK\r\n", {"+OK"});
  expect_every_split("-ERR wrong\r\n", {"-ERR wrong"});
  expect_every_split(":-42\r\n", {"-42"});
  expect_every_split("$5\r\nhello\r\n", {"\"hello\""});
  expect_every_split("$0\r\n\r\n", {"\"\""});
  expect_every_split("$-1\r\n", {"nil"});
  expect_every_split("*-1\r\n", {"nil"});
  expect_every_split("*0\r\n", {"[]"});
  expect_every_split("*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$3\r\npay\r\n",
                     {"[\"message\", \"ch\", \"pay\"]"});
}

TEST_F(DecoderTest, NestedArraysAndPipelinedRepliesAtEverySplit) {
  expect_every_split("*2\r\n*2\r\n:1\r\n$1\r\na\r\n*1\r\n*0\r\n+PONG\r\n:7\r\n",
                     {"[[1, \"a\"], [[]]]", "+PONG", "7"});
}

TEST_F(DecoderTest, BulkStringsAreBinarySafe) {
  const std::string body("a\r\nb\0c\r\n", 8);
  const std::string wire = "$8\r\n" + body + "\r\n";
  expect_every_split(wire, {"\"" + body + "\""});
  Decoder d;
  d.feed(wire);
  auto r = d.next();
  ASSERT_TRUE(r.ok() && r->has_value());
  Reply v = (*r)->view();
  EXPECT_EQ(v.type(), ReplyType::kString);
  EXPECT_EQ(v.str(), body);
  EXPECT_EQ(v.str().size(), 8u);
}

TEST_F(DecoderTest, ViewAccessors) {
  Decoder d;
  d.feed("*4\r\n:5\r\n$-1\r\n-ERR x\r\n+ST\r\n");
  auto r = d.next();
  ASSERT_TRUE(r.ok() && r->has_value());
  Reply v = (*r)->view();
  ASSERT_EQ(v.type(), ReplyType::kArray);
  ASSERT_EQ(v.size(), 4u);
  EXPECT_EQ(v[0].integer(), 5);
  EXPECT_EQ(v[0].size(), 0u);
  EXPECT_TRUE(v[1].is_nil());
  EXPECT_TRUE(v[2].is_error());
  EXPECT_EQ(v[2].str(), "ERR x");
  EXPECT_EQ(v[3].type(), ReplyType::kStatus);
  EXPECT_EQ(v[3].str(), "ST");
  EXPECT_EQ(v.str(), "");
  EXPECT_EQ(v.integer(), 0);
}

TEST_F(DecoderTest, ProtocolErrorIsReportedAndFinal) {
  EXPECT_EQ(decode({"+OK\r\n!bad\r\n"}), (std::vector<std::string>{"+OK", "ERROR"}));
  Decoder d;
  d.feed("?\r\n");
  auto r = d.next();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("protocol error"), std::string::npos) << r.error();
  d.feed("+OK\r\n");
  EXPECT_FALSE(d.next().ok()) << "an error is final";
  d.reset();
  d.feed("+OK\r\n");
  auto after = d.next();
  ASSERT_TRUE(after.ok() && after->has_value()) << "reset gives a fresh decoder";
  EXPECT_EQ((*after)->view().str(), "OK");
}

TEST_F(DecoderTest, BadLengthIsAProtocolError) {
  EXPECT_EQ(decode({"$x\r\nab\r\n"}), (std::vector<std::string>{"ERROR"}));
  EXPECT_EQ(decode({"*2\r\n:1\r\n:z\r\n"}), (std::vector<std::string>{"ERROR"}));
}

TEST_F(DecoderTest, OwnedReplyMovesOwnership) {
  Decoder d;
  d.feed("$3\r\nabc\r\n$3\r\ndef\r\n");
  auto a = d.next();
  auto b = d.next();
  ASSERT_TRUE(a.ok() && a->has_value() && b.ok() && b->has_value());
  OwnedReply x = std::move(**a);
  OwnedReply y = std::move(**b);
  x = std::move(y);  // frees "abc"; ASan checks nothing leaks or is freed twice
  EXPECT_EQ(x.view().str(), "def");
}

}  // namespace
}  // namespace ringchat::redis
