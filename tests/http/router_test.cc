#include "ringchat/http/router.h"

#include <gtest/gtest.h>

#include <string>

namespace ringchat::http {
namespace {

using Labels = Router<std::string_view>;

// What `method path` reaches: the handler's label, "404", or "405 " and the
// Allow value. Checks the fields that go with each status on the way.
std::string route(const Labels& router, Method method, std::string_view path) {
  Labels::Match m = router.match(method, path);
  if (m.status == 200) {
    EXPECT_NE(m.handler, nullptr) << path;
    return m.handler ? std::string(*m.handler) : "null";
  }
  EXPECT_EQ(m.handler, nullptr) << path;
  EXPECT_EQ(m.params.size(), 0u) << path;
  if (m.status == 404) {
    EXPECT_TRUE(m.allowed.empty()) << path;
    return "404";
  }
  EXPECT_EQ(m.status, 405) << path;
  return "405 " + allow_value(m.allowed);
}

std::string get(const Labels& router, std::string_view path) {
  return route(router, Method::kGet, path);
}

// The routes of ../shared/DESIGN.md.
Labels chat_routes() {
  Labels r;
  r.add({Method::kGet}, "/", "page");
  r.add({Method::kGet}, "/ws", "json");
  r.add({Method::kGet}, "/ws/{room...}", "raw");
  r.add({Method::kGet}, "/sse/{room}", "sse");
  r.add({Method::kPost}, "/rooms/{room}/messages", "publish");
  r.add({Method::kGet}, "/rooms/{room}/messages", "history");
  r.add({Method::kGet}, "/rooms/{room}/presence", "presence");
  r.add({Method::kGet}, "/metrics", "metrics");
  r.add({Method::kGet}, "/healthz", "healthz");
  r.add({Method::kGet}, "/readyz", "readyz");
  return r;
}

TEST(Router, MatchesLiteralPathsExactly) {
  Labels r = chat_routes();
  EXPECT_EQ(get(r, "/metrics"), "metrics");
  EXPECT_EQ(get(r, "/healthz"), "healthz");
  EXPECT_EQ(get(r, "/"), "page");
  EXPECT_EQ(get(r, "/metric"), "404");
  EXPECT_EQ(get(r, "/metricsx"), "404");
  EXPECT_EQ(get(r, "/Metrics"), "404");
  EXPECT_EQ(r.match(Method::kGet, "/metrics").params.size(), 0u);
}

TEST(Router, ParamMatchesOneSegment) {
  Labels r = chat_routes();
  EXPECT_EQ(get(r, "/sse/lobby"), "sse");
  EXPECT_EQ(get(r, "/rooms/lobby/presence"), "presence");
  EXPECT_EQ(get(r, "/sse/a/b"), "404");
  EXPECT_EQ(get(r, "/rooms/a/b/presence"), "404");
}

TEST(Router, ParamsCaptureValuesExactly) {
  Labels r = chat_routes();
  std::string path = "/sse/caf\xc3\xa9 +%x";
  Labels::Match m = r.match(Method::kGet, path);
  ASSERT_EQ(m.status, 200);
  ASSERT_EQ(m.params.size(), 1u);
  EXPECT_EQ(m.params.name(0), "room");
  EXPECT_EQ(m.params.get("room"), "caf\xc3\xa9 +%x");
  // A view into the path, not a copy.
  EXPECT_EQ(m.params.get("room").data(), path.data() + 5);
  EXPECT_EQ(m.params.get("rooms"), "");
  EXPECT_EQ(m.params.get(""), "");
}

TEST(Router, RestParamTakesTheRestSlashesIncluded) {
  Labels r = chat_routes();
  EXPECT_EQ(get(r, "/ws/lobby"), "raw");
  EXPECT_EQ(r.match(Method::kGet, "/ws/lobby").params.get("room"), "lobby");
  EXPECT_EQ(get(r, "/ws/team/general/"), "raw");
  EXPECT_EQ(r.match(Method::kGet, "/ws/team/general/").params.get("room"), "team/general/");
  // The rest is everything after "/ws/", even when it starts with '/'.
  EXPECT_EQ(r.match(Method::kGet, "/ws//x").params.get("room"), "/x");
}

TEST(Router, LiteralBeatsParamBeatsRestWhateverTheOrderAdded) {
  for (bool literal_first : {true, false}) {
    Labels r;
    auto add_literals = [&] {
      r.add({Method::kGet}, "/ws", "json");
      r.add({Method::kGet}, "/files/index", "index");
    };
    if (literal_first) add_literals();
    r.add({Method::kGet}, "/ws/{room...}", "raw");
    r.add({Method::kGet}, "/files/{path...}", "tree");
    r.add({Method::kGet}, "/files/{name}", "file");
    r.add({Method::kGet}, "/{section}", "section");
    if (!literal_first) add_literals();
    SCOPED_TRACE(literal_first);
    EXPECT_EQ(get(r, "/ws"), "json");
    EXPECT_EQ(get(r, "/ws/lobby"), "raw");
    EXPECT_EQ(get(r, "/files/index"), "index");
    EXPECT_EQ(get(r, "/files/a"), "file");
    EXPECT_EQ(get(r, "/files/a/b"), "tree");
    EXPECT_EQ(get(r, "/files"), "section");
  }
}

TEST(Router, UnknownPathIs404) {
  Labels r = chat_routes();
  EXPECT_EQ(get(r, "/nope"), "404");
  EXPECT_EQ(get(r, "/rooms/lobby"), "404");
  EXPECT_EQ(get(r, "/rooms/lobby/messages/7"), "404");
  EXPECT_EQ(route(r, Method::kPost, "/nope"), "404");
  // Not origin-form: nothing to route.
  EXPECT_EQ(route(r, Method::kOptions, "*"), "404");
  EXPECT_EQ(get(r, ""), "404");
  EXPECT_EQ(get(Labels(), "/"), "404");
}

TEST(Router, WrongMethodIs405WithAllowValue) {
  Labels r = chat_routes();
  EXPECT_EQ(route(r, Method::kPost, "/metrics"), "405 GET, HEAD");
  EXPECT_EQ(route(r, Method::kDelete, "/ws/lobby"), "405 GET, HEAD");
  EXPECT_EQ(route(r, Method::kPut, "/rooms/lobby/messages"), "405 GET, HEAD, POST");
  EXPECT_EQ(route(r, Method::kPost, "/rooms/lobby/presence"), "405 GET, HEAD");
}

TEST(Router, HeadIsAcceptedWhereverGetIs) {
  Labels r = chat_routes();
  EXPECT_EQ(route(r, Method::kHead, "/metrics"), "metrics");
  EXPECT_EQ(route(r, Method::kHead, "/rooms/lobby/messages"), "history");
  EXPECT_EQ(r.match(Method::kHead, "/sse/lobby").params.get("room"), "lobby");
  r.add({Method::kPost}, "/post-only", "post");
  EXPECT_EQ(route(r, Method::kHead, "/post-only"), "405 POST");
  EXPECT_EQ(route(r, Method::kGet, "/post-only"), "405 POST");
}

TEST(Router, ExplicitHeadBeatsGetOnOneShape) {
  Labels r;
  r.add({Method::kGet}, "/big/{id}", "get");
  r.add({Method::kHead}, "/big/{id}", "head");
  EXPECT_EQ(route(r, Method::kHead, "/big/1"), "head");
  EXPECT_EQ(route(r, Method::kGet, "/big/1"), "get");
  EXPECT_EQ(route(r, Method::kPost, "/big/1"), "405 GET, HEAD");
}

TEST(Router, TrailingSlashIsSignificant) {
  Labels r = chat_routes();
  EXPECT_EQ(get(r, "/metrics/"), "404");
  EXPECT_EQ(get(r, "/ws/"), "404");  // "{room...}" needs a non-empty rest
  EXPECT_EQ(get(r, "/sse/lobby/"), "404");
  EXPECT_EQ(get(r, "/rooms/lobby/messages/"), "404");
  r.add({Method::kGet}, "/docs/", "docs");
  EXPECT_EQ(get(r, "/docs/"), "docs");
  EXPECT_EQ(get(r, "/docs"), "404");
}

TEST(Router, EmptySegmentMatchesNoParamOrLiteral) {
  Labels r = chat_routes();
  EXPECT_EQ(get(r, "//"), "404");
  EXPECT_EQ(get(r, "//metrics"), "404");
  EXPECT_EQ(get(r, "/sse/"), "404");
  EXPECT_EQ(get(r, "/sse//"), "404");
  EXPECT_EQ(get(r, "/rooms//messages"), "404");
  EXPECT_EQ(route(r, Method::kPost, "/rooms//messages"), "404");
}

TEST(Router, PatternWithTwoParamsCapturesBothInOrder) {
  Labels r = chat_routes();
  r.add({Method::kDelete}, "/rooms/{room}/members/{member}", "kick");
  std::string_view path = "/rooms/lobby/members/ann";
  Labels::Match m = r.match(Method::kDelete, path);
  ASSERT_EQ(m.status, 200);
  EXPECT_EQ(*m.handler, "kick");
  ASSERT_EQ(m.params.size(), 2u);
  EXPECT_EQ(m.params.name(0), "room");
  EXPECT_EQ(m.params.value(0), "lobby");
  EXPECT_EQ(m.params.name(1), "member");
  EXPECT_EQ(m.params.value(1), "ann");
  EXPECT_EQ(m.params.get("member"), "ann");
  EXPECT_EQ(m.params.get("room"), "lobby");
  EXPECT_EQ(m.params.get("member").data(), path.data() + path.size() - 3);
}

TEST(Router, OtherMethodNeverMatches) {
  Labels r = chat_routes();
  EXPECT_EQ(route(r, Method::kOther, "/metrics"), "405 GET, HEAD");
  EXPECT_EQ(route(r, Method::kOther, "/rooms/lobby/messages"), "405 GET, HEAD, POST");
  EXPECT_EQ(route(r, Method::kOther, "/nope"), "404");
}

TEST(Router, PatternsOfOneShapeMergeTheirMethods) {
  Labels r;
  r.add({Method::kGet}, "/api/rooms/{room}", "read");
  r.add({Method::kPost, Method::kPut}, "/api/rooms/{id}", "write");
  EXPECT_EQ(get(r, "/api/rooms/a"), "read");
  EXPECT_EQ(r.match(Method::kGet, "/api/rooms/a").params.get("room"), "a");
  EXPECT_EQ(route(r, Method::kPut, "/api/rooms/a"), "write");
  EXPECT_EQ(r.match(Method::kPost, "/api/rooms/a").params.get("id"), "a");
  EXPECT_EQ(route(r, Method::kDelete, "/api/rooms/a"), "405 GET, HEAD, POST, PUT");
}

TEST(Router, MostSpecificPatternTakingTheMethodWins) {
  Labels r;
  r.add({Method::kPost}, "/rooms/lobby", "lobby");
  r.add({Method::kGet}, "/rooms/{room}", "room");
  EXPECT_EQ(route(r, Method::kPost, "/rooms/lobby"), "lobby");
  EXPECT_EQ(get(r, "/rooms/lobby"), "room");
  EXPECT_EQ(route(r, Method::kPost, "/rooms/other"), "405 GET, HEAD");
  // Allow lists what every pattern matching the path takes.
  EXPECT_EQ(route(r, Method::kPut, "/rooms/lobby"), "405 GET, HEAD, POST");
}

int twice(int x) { return 2 * x; }
int negate(int x) { return -x; }

struct Service {
  int base = 10;
  int plus(int x) const { return base + x; }
};

TEST(Router, HoldsFunctionAndMemberFunctionPointers) {
  Router<int (*)(int)> fns;
  fns.add({Method::kGet}, "/twice", &twice);
  fns.add({Method::kGet}, "/negate", &negate);
  EXPECT_EQ((*fns.match(Method::kGet, "/twice").handler)(4), 8);
  EXPECT_EQ((*fns.match(Method::kGet, "/negate").handler)(4), -4);

  Router<int (Service::*)(int) const> members;
  members.add({Method::kPost}, "/plus", &Service::plus);
  Service s;
  EXPECT_EQ((s.*(*members.match(Method::kPost, "/plus").handler))(5), 15);
}

TEST(Router, AllowValueListsMethodsInEnumOrder) {
  EXPECT_EQ(allow_value({Method::kOptions, Method::kDelete, Method::kGet}), "GET, DELETE, OPTIONS");
  EXPECT_EQ(allow_value({Method::kPost}), "POST");
  EXPECT_EQ(allow_value({Method::kGet, Method::kHead, Method::kPost, Method::kPut, Method::kDelete,
                         Method::kOptions, Method::kOther}),
            "GET, HEAD, POST, PUT, DELETE, OPTIONS");
  EXPECT_EQ(allow_value({}), "");
}

TEST(Router, AddingAPatternTwiceIsAProgrammingError) {
  Labels r;
  r.add({Method::kGet, Method::kPost}, "/rooms/{room}", "a");
  EXPECT_DEATH(r.add({Method::kPost}, "/rooms/{room}", "b"), "RC_CHECK failed");
  EXPECT_DEATH(r.add({Method::kGet}, "/rooms/{other}", "b"), "RC_CHECK failed");
  r.add({Method::kPut}, "/rooms/{room}", "c");     // disjoint methods: fine
  r.add({Method::kGet}, "/rooms/{room...}", "d");  // another shape: fine
  EXPECT_EQ(route(r, Method::kPut, "/rooms/x"), "c");
}

TEST(Router, MalformedPatternIsAProgrammingError) {
  for (std::string_view pattern : {"", "ws", "/a//b", "//", "/{}", "/{...}", "/{a b}", "/{a}/{a}",
                                   "/a{b}", "/{a", "/a}", "/{rest...}/b", "/{a}/{b}/{c}/{d}/{e}"}) {
    SCOPED_TRACE(pattern);
    Labels r;
    EXPECT_DEATH(r.add({Method::kGet}, pattern, "x"), "RC_CHECK failed");
  }
  Labels r;
  EXPECT_DEATH(r.add({}, "/a", "x"), "RC_CHECK failed");
  EXPECT_DEATH(r.add({Method::kGet, Method::kOther}, "/a", "x"), "RC_CHECK failed");
  r.add({Method::kGet}, "/{a}/{b}/{c}/{d...}", "four");  // at capacity: fine
  EXPECT_EQ(r.match(Method::kGet, "/1/2/3/4/5").params.get("d"), "4/5");
}

}  // namespace
}  // namespace ringchat::http
