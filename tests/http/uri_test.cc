#include "ringchat/http/uri.h"

#include <gtest/gtest.h>

namespace ringchat::http {
namespace {

std::string decoded(std::string_view in) {
  std::string out = "stale";
  EXPECT_TRUE(percent_decode(in, out)) << in;
  return out;
}

bool decodes(std::string_view in) {
  std::string out;
  return percent_decode(in, out);
}

TEST(PercentDecode, DecodesEscapesOfEitherCase) {
  EXPECT_EQ(decoded("/ws/a%20b"), "/ws/a b");
  EXPECT_EQ(decoded("%2f%2F%41"), "//A");
  EXPECT_EQ(decoded("%e2%82%AC"), "\xe2\x82\xac");
  EXPECT_EQ(decoded(""), "");
}

TEST(PercentDecode, KeepsPlusLiteral) { EXPECT_EQ(decoded("a+b"), "a+b"); }

TEST(PercentDecode, RejectsNonHexEscape) {
  EXPECT_FALSE(decodes("%zz"));
  EXPECT_FALSE(decodes("a%g1"));
  EXPECT_FALSE(decodes("a%1g"));
}

TEST(PercentDecode, RejectsTruncatedEscape) {
  EXPECT_FALSE(decodes("%"));
  EXPECT_FALSE(decodes("abc%2"));
  EXPECT_FALSE(decodes("abc%"));
}

TEST(QueryParam, FindsNamedParameter) {
  EXPECT_EQ(query_param("since=1:2&limit=5", "limit"), "5");
  EXPECT_EQ(query_param("since=1:2&limit=5", "since"), "1:2");
}

TEST(QueryParam, ReturnsNulloptWhenAbsent) {
  EXPECT_EQ(query_param("since=1:2&limit=5", "lim"), std::nullopt);
  EXPECT_EQ(query_param("limitx=5", "limit"), std::nullopt);
  EXPECT_EQ(query_param("", "limit"), std::nullopt);
  EXPECT_EQ(query_param("&&", ""), std::nullopt);
}

TEST(QueryParam, DecodesPercentAndPlus) {
  EXPECT_EQ(query_param("token=a%2Bb+c", "token"), "a+b c");
  EXPECT_EQ(query_param("last%45ventId=7", "lastEventId"), "7");
}

TEST(QueryParam, GivesEmptyValueWithoutEquals) {
  EXPECT_EQ(query_param("a&b=", "a"), "");
  EXPECT_EQ(query_param("a&b=", "b"), "");
}

TEST(QueryParam, FirstOccurrenceWins) { EXPECT_EQ(query_param("x=1&x=2", "x"), "1"); }

TEST(QueryParam, KeepsEqualsInValue) { EXPECT_EQ(query_param("t=a=b", "t"), "a=b"); }

TEST(QueryParam, ReturnsNulloptForBadEscape) {
  EXPECT_EQ(query_param("since=%zz", "since"), std::nullopt);
}

struct Split {
  bool ok;
  std::string path;
  std::string query;
};

Split split(std::string_view target) {
  Split s;
  s.ok = split_target(target, s.path, s.query);
  return s;
}

TEST(SplitTarget, SplitsOriginForm) {
  Split s = split("/rooms/a%2Eb/messages?since=1:2&limit=5");
  ASSERT_TRUE(s.ok);
  EXPECT_EQ(s.path, "/rooms/a.b/messages");
  EXPECT_EQ(s.query, "since=1:2&limit=5");
}

TEST(SplitTarget, DropsFragment) {
  Split s = split("/a?b=1#frag");
  ASSERT_TRUE(s.ok);
  EXPECT_EQ(s.path, "/a");
  EXPECT_EQ(s.query, "b=1");
}

TEST(SplitTarget, AcceptsAbsoluteForm) {
  Split s = split("HTTP://example.test:8080/ws/r?x=1");
  ASSERT_TRUE(s.ok);
  EXPECT_EQ(s.path, "/ws/r");
  EXPECT_EQ(s.query, "x=1");
  EXPECT_EQ(split("http://example.test").path, "/");
  Split q = split("https://example.test?x");
  EXPECT_EQ(q.path, "/");
  EXPECT_EQ(q.query, "x");
}

TEST(SplitTarget, AcceptsAsterisk) { EXPECT_EQ(split("*").path, "*"); }

TEST(SplitTarget, RejectsRelativeAndBadTargets) {
  EXPECT_FALSE(split("ws/room").ok);
  EXPECT_FALSE(split("").ok);
  EXPECT_FALSE(split("/a%zz").ok);
  EXPECT_FALSE(split("/a%00b").ok);
}

}  // namespace
}  // namespace ringchat::http
