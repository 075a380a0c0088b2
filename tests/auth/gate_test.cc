#include "ringchat/auth/gate.h"

#include <gtest/gtest.h>

#include <memory>

#include "token_signer.h"

namespace ringchat::auth {
namespace {

constexpr std::string_view kSecret = "gate-test-secret-0123456789abcdefghij";
constexpr std::string_view kKey = "gate-test-api-key-0123456789abcdefghij";
constexpr int64_t kNow = 1'900'000'000;

std::string token(std::string_view sub, std::string_view secret = kSecret) {
  return testing::hs256_token(secret, std::string(R"({"sub":")") + std::string(sub) +
                                          R"(","exp":)" + std::to_string(kNow + 60) +
                                          R"(,"rooms":["r*"],"pub":["r1"]})");
}

GateConfig with_tokens(bool anonymous = false) {
  GateConfig g;
  auto v = Verifier::create({.hs256_secret = std::string(kSecret)});
  EXPECT_TRUE(v.ok());
  g.verifier = std::make_shared<const Verifier>(std::move(*v));
  g.allow_anonymous = anonymous;
  g.api_key = std::string(kKey);
  return g;
}

TEST(Gate, WithoutTokensEveryoneMayDoEverything) {
  Gate g({});
  http::Request req;
  req.authorization = "Bearer whatever";
  auto id = g.check(req, kNow);
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(id->kind, Identity::Kind::kOpen);
  EXPECT_TRUE(id->may_join("any"));
  EXPECT_TRUE(id->may_publish("any"));
}

TEST(Gate, TheCredentialIsTakenFromHeaderThenQueryThenSubprotocol) {
  Gate g(with_tokens());
  http::Request req;
  req.sec_websocket_protocol = "ringchat, bearer." + token("from-protocol");
  EXPECT_EQ(g.check(req, kNow)->claims.sub, "from-protocol");
  req.query = "room=x&token=" + token("from-query");
  EXPECT_EQ(g.check(req, kNow)->claims.sub, "from-query");
  req.authorization = "bEaReR  " + token("from-header") + " ";  // the scheme in any case
  EXPECT_EQ(g.check(req, kNow)->claims.sub, "from-header");
}

TEST(Gate, RefusalsSayWhyWithoutSayingTooMuch) {
  Gate g(with_tokens());
  http::Request req;
  auto r = g.check(req, kNow);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().status, 401);
  EXPECT_EQ(r.error().code, "missing_token");
  req.authorization = "Bearer " + token("x", "a-different-secret-of-32-bytes-or-more");
  r = g.check(req, kNow);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "invalid_token");
  EXPECT_EQ(r.error().kind, "bad_signature");
  req.authorization = "Bearer " + token("x");
  r = g.check(req, kNow + 3600);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "token_expired");
  req.authorization = "Basic dXNlcjpwYXNz";  // not a bearer credential: none
  EXPECT_EQ(g.check(req, kNow).error().code, "missing_token");
}

TEST(Gate, AnonymousMayReadOnlyAndTheApiKeyMayDoAll) {
  Gate g(with_tokens(/*anonymous=*/true));
  http::Request req;
  auto anon = g.check(req, kNow);
  ASSERT_TRUE(anon.ok());
  EXPECT_EQ(anon->kind, Identity::Kind::kAnonymous);
  EXPECT_TRUE(anon->may_join("r9"));
  EXPECT_FALSE(anon->may_publish("r9"));
  req.authorization = "Bearer " + std::string(kKey);
  auto key = g.check(req, kNow);
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(key->kind, Identity::Kind::kApiKey);
  EXPECT_TRUE(key->may_publish("anything"));
  req.authorization = "Bearer " + std::string(kKey.substr(0, kKey.size() - 1)) + "X";
  EXPECT_EQ(g.check(req, kNow).error().code, "invalid_token");  // a near miss is a bad token
}

TEST(Gate, AUserMayWhatItsClaimsSay) {
  Gate g(with_tokens());
  http::Request req;
  req.authorization = "Bearer " + token("u");
  auto id = g.check(req, kNow);
  ASSERT_TRUE(id.ok());
  EXPECT_TRUE(id->may_join("r2"));
  EXPECT_FALSE(id->may_join("s"));
  EXPECT_TRUE(id->may_publish("r1"));
  EXPECT_FALSE(id->may_publish("r2"));
}

TEST(Gate, TheSubprotocolAnsweredIsOneTheClientOffered) {
  http::Request req;
  EXPECT_EQ(Gate::subprotocol(req), "");
  req.sec_websocket_protocol = "chat, ringchat";
  EXPECT_EQ(Gate::subprotocol(req), "ringchat");
  req.sec_websocket_protocol = "bearer.abc.def.ghi";
  EXPECT_EQ(Gate::subprotocol(req), "bearer.abc.def.ghi");
  req.sec_websocket_protocol = "bearer.abc , ringchat";
  EXPECT_EQ(Gate::subprotocol(req), "ringchat");
  req.sec_websocket_protocol = "mqtt";
  EXPECT_EQ(Gate::subprotocol(req), "");
}

TEST(Gate, OriginsMatchExactlyOrAsSubdomainsOfAWildcard) {
  const std::vector<std::string> allowed = {"https://chat.example.com", "https://*.example.org",
                                            "http://localhost:3000"};
  for (const char* ok :
       {"https://chat.example.com", "HTTPS://Chat.Example.Com", "https://a.example.org",
        "https://a.b-c.example.org", "http://localhost:3000"}) {
    EXPECT_TRUE(Gate::origin_allowed(ok, allowed)) << ok;
  }
  for (const char* bad :
       {"https://chat.example.com.evil.net", "https://evil.com", "https://example.org",
        "https://.example.org", "http://a.example.org", "https://a.example.org:8443",
        "https://evil.com/.example.org", "https://user@a.example.org", "http://localhost:3001",
        "https://chat.example.co", "null", ""}) {
    EXPECT_FALSE(Gate::origin_allowed(bad, allowed)) << bad;
  }
}

TEST(Gate, ABrowserFromAnotherOriginIs403EvenWithAGoodToken) {
  GateConfig cfg = with_tokens();
  cfg.origins = {"https://app.example.com"};
  Gate g(cfg);
  http::Request req;
  req.authorization = "Bearer " + token("u");
  req.origin = "https://evil.example.com";
  auto r = g.check(req, kNow);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().status, 403);
  EXPECT_EQ(r.error().code, "origin_not_allowed");
  req.origin = "https://app.example.com";
  EXPECT_TRUE(g.check(req, kNow).ok());
}

}  // namespace
}  // namespace ringchat::auth
