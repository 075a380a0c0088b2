#include "json_envelope.h"

#include <gtest/gtest.h>

namespace ringchat::ringload {
namespace {

class EnvelopeTest : public ::testing::Test {
 protected:
  Envelope parse(std::string_view json) {
    auto r = parser_.parse(json);
    EXPECT_TRUE(r) << json;
    return r ? *r : Envelope{};
  }
  std::string_view reject(std::string_view json) {
    auto r = parser_.parse(json);
    EXPECT_FALSE(r) << json;
    return r ? "" : r.error();
  }
  EnvelopeParser parser_;
};

TEST_F(EnvelopeTest, ReadsMsg) {
  const Envelope e = parse(
      R"({"type":"msg","room":"lobby","seq":58,"ts":1765000000123,"from":"0-12-3","data":"1a.2.3;xx"})");
  EXPECT_EQ(e.type, EnvelopeType::kMsg);
  EXPECT_EQ(e.room, "lobby");
  EXPECT_TRUE(e.has_seq);
  EXPECT_EQ(e.seq, 58u);
  EXPECT_TRUE(e.has_data);
  EXPECT_EQ(e.data, "1a.2.3;xx");
}

TEST_F(EnvelopeTest, FieldOrderDoesNotMatter) {
  const Envelope e = parse(R"({"data":"d","seq":3,"room":"r","type":"msg"})");
  EXPECT_EQ(e.type, EnvelopeType::kMsg);
  EXPECT_EQ(e.seq, 3u);
  EXPECT_EQ(e.data, "d");
}

TEST_F(EnvelopeTest, ReadsJoined) {
  const Envelope e = parse(
      R"({"type":"joined","room":"lobby","epoch":"5f1c0a2b3c4d5e6f","seq":57,"recovered":true,"id":"j1"})");
  EXPECT_EQ(e.type, EnvelopeType::kJoined);
  EXPECT_TRUE(e.has_epoch);
  EXPECT_EQ(e.epoch, 0x5f1c0a2b3c4d5e6full);
  EXPECT_EQ(e.seq, 57u);
  EXPECT_TRUE(e.recovered);
}

TEST_F(EnvelopeTest, ReadsSseJoinedDataWithoutType) {
  const Envelope e = parse(R"({"epoch":"00000000000000ff","seq":0,"recovered":false})");
  EXPECT_EQ(e.type, EnvelopeType::kOther);
  EXPECT_EQ(e.epoch, 255u);
  EXPECT_FALSE(e.recovered);
}

TEST_F(EnvelopeTest, UnescapesData) {
  EXPECT_EQ(parse(R"({"type":"msg","seq":1,"data":"a\"b\u0041"})").data, "a\"bA");
}

TEST_F(EnvelopeTest, NonStringDataHasNoPayload) {
  const Envelope e = parse(R"({"type":"msg","seq":1,"data":{"text":"hi"}})");
  EXPECT_FALSE(e.has_data);
}

TEST_F(EnvelopeTest, OtherTypesAreIgnorable) {
  EXPECT_EQ(parse(R"({"type":"join","room":"r","member":{"id":"1-2-3"}})").type,
            EnvelopeType::kOther);
  EXPECT_EQ(parse(R"({"type":"ack","id":7,"seq":58})").type, EnvelopeType::kOther);
  EXPECT_EQ(parse(R"({"type":"error","code":"bad_room","reason":"x"})").code, "bad_room");
}

TEST_F(EnvelopeTest, RejectsNonJson) {
  EXPECT_FALSE(parser_.parse("{\"type\":"));
  EXPECT_FALSE(parser_.parse("nope"));
  EXPECT_FALSE(parser_.parse(""));
}
TEST_F(EnvelopeTest, RejectsNonObject) { EXPECT_EQ(reject("[1,2]"), "not_object"); }
TEST_F(EnvelopeTest, RejectsSeqOfWrongType) {
  EXPECT_EQ(reject(R"({"type":"msg","seq":"5"})"), "bad_field");
}
TEST_F(EnvelopeTest, RejectsBadEpoch) {
  EXPECT_EQ(reject(R"({"type":"joined","epoch":"xyz","seq":1})"), "bad_field");
}

TEST_F(EnvelopeTest, ParsesManyInARow) {
  for (int i = 1; i < 100; ++i) {
    const std::string j = R"({"type":"msg","seq":)" + std::to_string(i) + R"(,"data":"p"})";
    EXPECT_EQ(parse(j).seq, static_cast<uint64_t>(i));
  }
}

TEST(Position, ParsesAndFormats) {
  const auto p = parse_position("5f1c0a2b3c4d5e6f:42");
  ASSERT_TRUE(p);
  EXPECT_EQ(*p, (Position{0x5f1c0a2b3c4d5e6full, 42}));
  EXPECT_EQ(format_position(*p), "5f1c0a2b3c4d5e6f:42");
  EXPECT_EQ(format_position({}), "0000000000000000:0");
}

TEST(Position, RejectsOtherIds) {
  EXPECT_FALSE(parse_position("1796612856:0"));  // nchan's
  EXPECT_FALSE(parse_position("5f1c0a2b3c4d5e6f:"));
  EXPECT_FALSE(parse_position("5f1c0a2b3c4d5e6f:4x"));
  EXPECT_FALSE(parse_position("5f1c0a2b3c4d5e6g:4"));
  EXPECT_FALSE(parse_position(""));
}

}  // namespace
}  // namespace ringchat::ringload
