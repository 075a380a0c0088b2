#include "ringchat/http/request.h"

#include <gtest/gtest.h>

namespace ringchat::http {
namespace {

TEST(HeaderHasToken, FindsTokenInListCaseInsensitively) {
  EXPECT_TRUE(header_has_token("keep-alive, Upgrade", "upgrade"));
  EXPECT_TRUE(header_has_token("Upgrade", "upgrade"));
  EXPECT_TRUE(header_has_token("a,\tUPGRADE\t,b", "Upgrade"));
}

TEST(HeaderHasToken, RejectsPartialAndAbsentTokens) {
  EXPECT_FALSE(header_has_token("keep-alive", "upgrade"));
  EXPECT_FALSE(header_has_token("upgraded, xupgrade", "upgrade"));
  EXPECT_FALSE(header_has_token("up grade", "upgrade"));
  EXPECT_FALSE(header_has_token("", "upgrade"));
  EXPECT_FALSE(header_has_token("a,,b", ""));
}

TEST(HeaderHasToken, IgnoresEmptyListElements) {
  EXPECT_TRUE(header_has_token(", ,upgrade,", "upgrade"));
}

TEST(NoneMatchHits, MatchesTheTagInAListByWeakComparison) {
  EXPECT_TRUE(none_match_hits("\"abc\"", "\"abc\""));
  EXPECT_TRUE(none_match_hits("\"x\", W/\"abc\"", "\"abc\""));
  EXPECT_TRUE(none_match_hits(" \"x\" ,\"abc\" ", "\"abc\""));
  EXPECT_TRUE(none_match_hits("*", "\"abc\""));
}

TEST(NoneMatchHits, MissesOtherTagsAndEmptyHeaders) {
  EXPECT_FALSE(none_match_hits("", "\"abc\""));
  EXPECT_FALSE(none_match_hits("\"abd\"", "\"abc\""));
  EXPECT_FALSE(none_match_hits("\"abc", "\"abc\""));
  EXPECT_FALSE(none_match_hits(",", "\"abc\""));
  EXPECT_FALSE(none_match_hits("*", ""));
}

TEST(Iequals, ComparesAsciiCaseInsensitively) {
  EXPECT_TRUE(iequals("Sec-WebSocket-Key", "sec-websocket-key"));
  EXPECT_FALSE(iequals("host", "hosts"));
  EXPECT_FALSE(iequals("[", "{"));  // differ by 0x20 but are not letters
}

TEST(Method, NamesItself) {
  EXPECT_EQ(to_string(Method::kGet), "GET");
  EXPECT_EQ(to_string(Method::kOptions), "OPTIONS");
  EXPECT_EQ(to_string(Method::kOther), "OTHER");
}

}  // namespace
}  // namespace ringchat::http
