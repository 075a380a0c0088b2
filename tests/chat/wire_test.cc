#include "wire.h"

#include <gtest/gtest.h>

#include <string>

#include "ringchat/ws/frame_encoder.h"

namespace ringchat::chat {
namespace {

std::string json_string(std::string_view s) {
  std::string out;
  append_json_string(out, s);
  return out;
}

std::string base64(std::string_view s) {
  std::string out;
  append_base64(out, ws::as_bytes(s));
  return out;
}

TEST(Wire, JsonStringEscapesQuotesBackslashesAndControls) {
  EXPECT_EQ(json_string("plain"), "\"plain\"");
  EXPECT_EQ(json_string("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(json_string("line\nnext\ttab\x01"), "\"line\\u000anext\\u0009tab\\u0001\"");
  EXPECT_EQ(json_string("\xc3\xa9\xe4\xb8\xad"), "\"\xc3\xa9\xe4\xb8\xad\"") << "UTF-8 as it is";
}

TEST(Wire, Base64MatchesRfc4648Vectors) {
  EXPECT_EQ(base64(""), "");
  EXPECT_EQ(base64("f"), "Zg==");
  EXPECT_EQ(base64("fo"), "Zm8=");
  EXPECT_EQ(base64("foo"), "Zm9v");
  EXPECT_EQ(base64("foob"), "Zm9vYg==");
  EXPECT_EQ(base64("fooba"), "Zm9vYmE=");
  EXPECT_EQ(base64("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64(std::string("\xff\xfe\x00", 3)), "//4A");
}

TEST(Wire, JsonMessageCarriesSeqTsSenderAndData) {
  Message m;
  m.room = "r";
  m.seq = 7;
  m.ts_ms = 1700000000123;
  m.from = {12, 3, 1};
  m.payload = ws::as_bytes("hi \"you\"");
  m.kind = Kind::kText;
  std::string out;
  append_json(out, m);
  EXPECT_EQ(out, R"({"seq":7,"ts":1700000000123,"from":"1-12-3","data":"hi \"you\""})");
  m.kind = Kind::kBinary;
  m.payload = ws::as_bytes("foo");
  out.clear();
  append_json(out, m);
  EXPECT_EQ(out, R"({"seq":7,"ts":1700000000123,"from":"1-12-3","data_base64":"Zm9v"})");
}

TEST(Wire, RawFormatIsAServerFrameWithTheMessagesOpcode) {
  Message m;
  m.payload = ws::as_bytes("abc");
  m.kind = Kind::kBinary;
  net::SharedBuf* b = encode(Format::kRawWs, m);
  std::string expected;
  ws::append_server_frame(expected, ws::Opcode::kBinary, ws::as_bytes("abc"));
  EXPECT_EQ(b->view(), expected);
  b->release();
}

}  // namespace
}  // namespace ringchat::chat
