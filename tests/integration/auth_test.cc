// Token auth at the door (--jwt-secret, --allow-anonymous, --api-key,
// --origins): where a token may come from, what each bad one gets (401/403
// with a JSON code, counted by kind), and what a token's `rooms` and `pub`
// let a raw socket, a JSON socket, an SSE stream and an HTTP publisher do.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "ringchat/auth/verifier.h"
#include "token_signer.h"
#include "ws_client.h"

namespace ringchat::testing {
namespace {

using obs::Metric;

constexpr std::string_view kSecret = "integration-test-secret-0123456789abcdef";
constexpr std::string_view kApiKey = "integration-test-api-key-0123456789abcdef";

int64_t now_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// An HS256 token for `sub` granting `rooms` and `pub` (JSON arrays), valid
// for `ttl_s` from now (negative: expired), with `extra` claims appended.
std::string token(std::string_view sub, std::string_view rooms, std::string_view pub,
                  int64_t ttl_s = 3600, std::string_view extra = "",
                  std::string_view secret = kSecret) {
  const std::string payload = cat(
      R"({"sub":")", std::string(sub), R"(","exp":)", std::to_string(now_s() + ttl_s),
      R"(,"rooms":)", std::string(rooms), R"(,"pub":)", std::string(pub), std::string(extra), "}");
  return auth::testing::hs256_token(secret, payload);
}

chat::ShardConfig auth_config(unsigned shards, bool anonymous = false) {
  auto cfg = test_config(shards);
  auto v = auth::Verifier::create({.hs256_secret = std::string(kSecret)});
  EXPECT_TRUE(v.ok());
  cfg.gate.verifier = std::make_shared<const auth::Verifier>(std::move(*v));
  cfg.gate.allow_anonymous = anonymous;
  cfg.gate.api_key = std::string(kApiKey);
  cfg.gate.origins = {"https://chat.example.com", "https://*.example.org"};
  return cfg;
}

std::string upgrade_request(std::string_view path, std::string_view extra_headers = "") {
  return cat("GET ", std::string(path),
             " HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
             "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n",
             std::string(extra_headers), "\r\n");
}

struct Answer {
  int status = 0;
  std::string text;
  bool has(std::string_view s) const { return text.find(s) != std::string::npos; }
};

// One request on a fresh connection, and its answer (a 101's head only).
Answer ask(uint16_t port, const std::string& request) {
  Client c(port);
  Answer a;
  a.status = c.http(request, &a.text);
  return a;
}

TEST(Auth, NoTokenIs401WithAJsonCodeAndTheScheme) {
  TestServer server(auth_config(2));
  const Answer a = ask(server.port(), upgrade_request("/ws"));
  EXPECT_EQ(a.status, 401) << a.text;
  EXPECT_TRUE(a.has(R"({"code":"missing_token")")) << a.text;
  EXPECT_TRUE(a.has("WWW-Authenticate: Bearer\r\n")) << a.text;
  EXPECT_EQ(ask(server.port(), upgrade_request("/ws/lobby")).status, 401);
  EXPECT_EQ(ask(server.port(), "GET /sse/lobby HTTP/1.1\r\nHost: x\r\n\r\n").status, 401);
  EXPECT_EQ(ask(server.port(), "GET /rooms HTTP/1.1\r\nHost: x\r\n\r\n").status, 401);
  EXPECT_EQ(server.total(Metric::kAuthMissingToken), 4u);
  // What needs no credentials still answers.
  EXPECT_EQ(ask(server.port(), "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").status, 200);
}

TEST(Auth, ATokenIsTakenFromEachOfItsThreePlaces) {
  TestServer server(auth_config(2));
  const std::string t = token("alice", R"(["*"])", R"(["*"])");
  Answer a = ask(server.port(), upgrade_request("/ws", cat("Authorization: Bearer ", t, "\r\n")));
  EXPECT_EQ(a.status, 101) << a.text;
  EXPECT_FALSE(a.has("Sec-WebSocket-Protocol")) << "none offered, none answered: " << a.text;
  a = ask(server.port(), upgrade_request(cat("/ws?token=", t)));
  EXPECT_EQ(a.status, 101) << a.text;
  // Browsers: the token in the subprotocol list; the answer is the protocol
  // the server speaks, or the token's entry when that is all there is.
  a = ask(server.port(),
          upgrade_request("/ws", cat("Sec-WebSocket-Protocol: ringchat, bearer.", t, "\r\n")));
  EXPECT_EQ(a.status, 101) << a.text;
  EXPECT_TRUE(a.has("Sec-WebSocket-Protocol: ringchat\r\n")) << a.text;
  a = ask(server.port(),
          upgrade_request("/ws/lobby", cat("Sec-WebSocket-Protocol: bearer.", t, "\r\n")));
  EXPECT_EQ(a.status, 101) << a.text;
  EXPECT_TRUE(a.has(cat("Sec-WebSocket-Protocol: bearer.", t, "\r\n"))) << a.text;
  // SSE: EventSource can only use the query.
  Client sse(server.port());
  ASSERT_TRUE(sse.send_raw(cat("GET /sse/lobby?token=", t, " HTTP/1.1\r\nHost: x\r\n\r\n")));
  EXPECT_NE(sse.read_some().find("HTTP/1.1 200 OK"), std::string::npos);
}

TEST(Auth, EveryBadTokenIs401AndCountedByWhatWasWrong) {
  auto cfg = auth_config(2);
  auto v = auth::Verifier::create(
      {.hs256_secret = std::string(kSecret), .audience = "chat", .issuer = "idp"});
  ASSERT_TRUE(v.ok());
  cfg.gate.verifier = std::make_shared<const auth::Verifier>(std::move(*v));
  TestServer server(cfg);
  const std::string good_claims = R"(,"aud":"chat","iss":"idp")";
  struct Case {
    std::string token;
    std::string_view code;
    Metric metric;
  };
  const std::string header_none = auth::base64url_encode(R"({"alg":"none","typ":"JWT"})");
  const std::string body = auth::base64url_encode(
      cat(R"({"sub":"mallory","exp":)", std::to_string(now_s() + 60), R"(,"rooms":["*"]})"));
  const Case cases[] = {
      {token("a", "[]", "[]", 3600, good_claims, "another-secret-of-at-least-32-bytes!!"),
       "invalid_token", Metric::kAuthBadSignature},
      {token("a", "[]", "[]", -3600, good_claims), "token_expired", Metric::kAuthExpired},
      {token("a", "[]", "[]", 3600, cat(good_claims, R"(,"nbf":)", std::to_string(now_s() + 600))),
       "invalid_token", Metric::kAuthNotYetValid},
      {token("a", "[]", "[]", 3600, R"(,"aud":"other","iss":"idp")"), "invalid_token",
       Metric::kAuthWrongAudience},
      {token("a", "[]", "[]", 3600, R"(,"aud":"chat","iss":"evil")"), "invalid_token",
       Metric::kAuthWrongIssuer},
      {cat(header_none, ".", body, "."), "invalid_token", Metric::kAuthBadAlg},
      {"not-a-token", "invalid_token", Metric::kAuthMalformed},
  };
  for (const Case& c : cases) {
    const uint64_t before = server.total(c.metric);
    const Answer a = ask(server.port(), upgrade_request(cat("/ws?token=", c.token)));
    EXPECT_EQ(a.status, 401) << c.code << ": " << a.text;
    EXPECT_TRUE(a.has(cat(R"({"code":")", std::string(c.code), R"(")"))) << a.text;
    EXPECT_FALSE(a.has(kSecret)) << a.text;
    EXPECT_EQ(server.total(c.metric), before + 1) << c.code;
  }
  EXPECT_EQ(ask(server.port(),
                upgrade_request(cat("/ws?token=", token("a", "[]", "[]", 3600, good_claims))))
                .status,
            101);
}

TEST(Auth, ARawSocketGetsOnlyTheRoomsItsTokenGrantsAndPublishesOnlyWhereItMay) {
  TestServer server(auth_config(2));
  const std::string t = token("bob", R"(["team-*"])", R"(["team-red"])");
  EXPECT_EQ(ask(server.port(), upgrade_request(cat("/ws/lobby?token=", t))).status, 403);
  // `team-*` is not a grant of a room named like the pattern's prefix only.
  EXPECT_EQ(ask(server.port(), upgrade_request(cat("/ws/team?token=", t))).status, 403);
  EXPECT_EQ(server.total(Metric::kAuthForbidden), 2u);

  Client red(server.port());
  ASSERT_EQ(red.upgrade(cat("/ws/team-red?token=", t)), 101);
  red.send_text("hello red");
  auto m = red.recv_data();
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->payload, "hello red");

  Client blue(server.port());
  ASSERT_EQ(blue.upgrade(cat("/ws/team-blue?token=", t)), 101);  // may read
  blue.send_text("hello blue");                                  // may not write
  EXPECT_EQ(blue.read_until_close(), 1008);
  EXPECT_EQ(server.total(Metric::kAuthForbidden), 3u);
}

TEST(Auth, AJsonSocketIsToldWhatItMayNotDoAndStaysOpen) {
  TestServer server(auth_config(2));
  const std::string t = token("carol", R"(["a*"])", R"(["a1"])");
  Client c(server.port());
  ASSERT_EQ(c.upgrade(cat("/ws?token=", t)), 101);
  auto next = [&] {
    auto m = c.recv_data();
    return m ? m->payload : std::string("<nothing>");
  };
  c.send_text(R"({"type":"join","room":"b","id":1})");
  std::string r = next();
  EXPECT_NE(r.find(R"("code":"forbidden")"), std::string::npos) << r;
  // A pattern is no room name: asking for "a*" does not join every a-room.
  c.send_text(R"({"type":"join","room":"a*","id":2})");
  r = next();
  EXPECT_NE(r.find(R"("code":"bad_room")"), std::string::npos) << r;
  c.send_text(R"({"type":"join","room":"a2"})");
  EXPECT_NE(next().find(R"("type":"joined")"), std::string::npos);
  c.send_text(R"({"type":"pub","room":"a2","data":"x","id":3})");
  r = next();
  EXPECT_NE(r.find(R"("code":"forbidden")"), std::string::npos) << r;
  c.send_text(R"({"type":"join","room":"a1"})");
  EXPECT_NE(next().find(R"("type":"joined")"), std::string::npos);
  c.send_text(R"({"type":"pub","room":"a1","data":"ok"})");
  r = next();
  EXPECT_NE(r.find(R"("type":"msg")"), std::string::npos) << r;
  EXPECT_NE(r.find(R"("from":"carol")"), std::string::npos) << "from is the token's sub: " << r;
  EXPECT_EQ(server.total(Metric::kAuthForbidden), 2u);
}

TEST(Auth, PresenceShowsEachMembersUser) {
  TestServer server(auth_config(2, /*anonymous=*/true));
  auto joined = [&](Client& c, const std::string& query) {
    EXPECT_EQ(c.upgrade(cat("/ws", query)), 101);
    c.send_text(R"({"type":"join","room":"who"})");
    auto m = c.recv_data();
    return m && m->payload.find(R"("type":"joined")") != std::string::npos;
  };
  Client ann(server.port()), anon(server.port());
  ASSERT_TRUE(joined(ann, cat("?token=", token("ann", R"(["who"])", "[]"))));
  ASSERT_TRUE(joined(anon, ""));
  auto m = ann.recv_data();  // the anonymous one's join event
  ASSERT_TRUE(m.has_value());
  EXPECT_NE(m->payload.find(R"("type":"join")"), std::string::npos) << m->payload;
  EXPECT_EQ(m->payload.find(R"("user")"), std::string::npos) << m->payload;
  anon.send_text(R"({"type":"presence","room":"who"})");
  m = anon.recv_data();
  ASSERT_TRUE(m.has_value());
  EXPECT_NE(m->payload.find(R"("type":"presence")"), std::string::npos) << m->payload;
  EXPECT_NE(m->payload.find(R"("user":"ann")"), std::string::npos) << m->payload;
  // The anonymous one signs in: the room hears it again, with its user, and
  // presence shows it.
  anon.send_text(cat(R"({"type":"refresh","token":")", token("bob", R"(["who"])", "[]"), R"("})"));
  m = anon.recv_data();
  ASSERT_TRUE(m.has_value());
  EXPECT_NE(m->payload.find(R"("type":"refreshed")"), std::string::npos) << m->payload;
  m = ann.recv_data();
  ASSERT_TRUE(m.has_value());
  EXPECT_NE(m->payload.find(R"("type":"join")"), std::string::npos) << m->payload;
  EXPECT_NE(m->payload.find(R"("user":"bob")"), std::string::npos) << m->payload;
  ann.send_text(R"({"type":"presence","room":"who"})");
  m = ann.recv_data();
  ASSERT_TRUE(m.has_value());
  EXPECT_NE(m->payload.find(R"("user":"bob")"), std::string::npos) << m->payload;
  EXPECT_NE(m->payload.find(R"("user":"ann")"), std::string::npos) << m->payload;
  ann.reset_now();  // gone: the leave event names the user
  m = anon.recv_data();
  ASSERT_TRUE(m.has_value());
  EXPECT_NE(m->payload.find(R"("type":"leave")"), std::string::npos) << m->payload;
  EXPECT_NE(m->payload.find(R"("user":"ann")"), std::string::npos) << m->payload;
}

TEST(Auth, AnonymousClientsMayReadButNotPublish) {
  TestServer server(auth_config(2, /*anonymous=*/true));
  Client reader(server.port());
  ASSERT_EQ(reader.upgrade("/ws/open-room"), 101);
  Client json(server.port());
  ASSERT_EQ(json.upgrade("/ws"), 101);
  json.send_text(R"({"type":"join","room":"open-room"})");
  auto joined = json.recv_data();
  ASSERT_TRUE(joined.has_value());
  EXPECT_NE(joined->payload.find(R"("type":"joined")"), std::string::npos);
  json.send_text(R"({"type":"pub","room":"open-room","data":"x"})");
  auto refused = json.recv_data();
  ASSERT_TRUE(refused.has_value());
  EXPECT_NE(refused->payload.find(R"("code":"forbidden")"), std::string::npos);
  // An HTTP publish without credentials is anonymous too.
  const Answer a = ask(server.port(),
                       "POST /rooms/open-room/messages HTTP/1.1\r\nHost: x\r\n"
                       "Content-Length: 2\r\n\r\nhi");
  EXPECT_EQ(a.status, 403) << a.text;
  // The back end's key publishes, and the readers get it.
  Client backend(server.port());
  std::string resp;
  EXPECT_EQ(backend.http(cat("POST /rooms/open-room/messages HTTP/1.1\r\nHost: x\r\n"
                             "Authorization: Bearer ",
                             std::string(kApiKey), "\r\nContent-Length: 4\r\n\r\nnews"),
                         &resp),
            201)
      << resp;
  auto m = reader.recv_data();
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->payload, "news");
  reader.send_text("anonymous write");
  EXPECT_EQ(reader.read_until_close(), 1008);
}

TEST(Auth, BrowserOriginsOutsideTheListAre403) {
  TestServer server(auth_config(1));
  const std::string t = token("dave", R"(["*"])", R"(["*"])");
  const std::string path = cat("/ws?token=", t);
  EXPECT_EQ(
      ask(server.port(), upgrade_request(path, "Origin: https://chat.example.com\r\n")).status,
      101);
  EXPECT_EQ(ask(server.port(), upgrade_request(path, "Origin: https://a.b.example.org\r\n")).status,
            101);
  EXPECT_EQ(ask(server.port(), upgrade_request(path)).status, 101);  // not a browser
  for (const char* evil : {"https://evil.example", "https://example.org", "http://a.example.org",
                           "https://chat.example.com.evil.net", "https://a.example.org:8443"}) {
    const Answer a = ask(server.port(), upgrade_request(path, cat("Origin: ", evil, "\r\n")));
    EXPECT_EQ(a.status, 403) << evil << ": " << a.text;
    EXPECT_TRUE(a.has(R"("code":"origin_not_allowed")")) << a.text;
  }
  EXPECT_EQ(server.total(Metric::kAuthOrigin), 5u);
}

TEST(Auth, AServerWithAPublicKeyTakesItsTokensAndRefusesAlgorithmConfusion) {
  for (const bool ec : {false, true}) {
    auto cfg = test_config(1);
    const std::string pem =
        ec ? auth::testing::p256().public_pem() : auth::testing::rsa2048().public_pem();
    auto v = auth::Verifier::create({.public_key = pem});
    ASSERT_TRUE(v.ok());
    cfg.gate.verifier = std::make_shared<const auth::Verifier>(std::move(*v));
    TestServer server(cfg);
    const std::string claims = cat(R"({"sub":"kim","exp":)", std::to_string(now_s() + 600),
                                   R"(,"rooms":["*"],"pub":["*"]})");
    const std::string good =
        ec ? auth::testing::p256().token(claims) : auth::testing::rsa2048().token(claims);
    EXPECT_EQ(ask(server.port(), upgrade_request(cat("/ws?token=", good))).status, 101);
    // HS256 "signed" with the public key as the HMAC secret: the classic
    // confusion. The server has no HS256 secret, so the algorithm is refused.
    const std::string confused = auth::testing::hs256_token(pem, claims);
    const Answer a = ask(server.port(), upgrade_request(cat("/ws?token=", confused)));
    EXPECT_EQ(a.status, 401) << a.text;
    EXPECT_TRUE(a.has(R"("code":"invalid_token")")) << a.text;
    EXPECT_EQ(server.total(Metric::kAuthBadAlg), 1u) << (ec ? "ES256" : "RS256");
  }
}

// A server whose tokens get no clock skew, so that one that expires in
// seconds is closed in seconds.
chat::ShardConfig strict_config(unsigned shards) {
  auto cfg = auth_config(shards);
  auto v = auth::Verifier::create({.hs256_secret = std::string(kSecret), .clock_skew_s = 0});
  EXPECT_TRUE(v.ok());
  cfg.gate.verifier = std::make_shared<const auth::Verifier>(std::move(*v));
  return cfg;
}

TEST(AuthExpiry, AWebSocketIsClosedWith4001WhenItsTokenExpires) {
  TestServer server(strict_config(2));
  const std::string t = token("erin", R"(["*"])", R"(["*"])", 2);
  Client raw(server.port());
  ASSERT_EQ(raw.upgrade(cat("/ws/exp-room?token=", t)), 101);
  Client json(server.port());
  ASSERT_EQ(json.upgrade(cat("/ws?token=", t)), 101);
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(raw.read_until_close(6000), 4001);
  EXPECT_EQ(json.read_until_close(6000), 4001);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(4));
  EXPECT_GE(server.total(Metric::kAuthExpired), 2u);
}

TEST(AuthExpiry, AJsonSocketThatRefreshesInTimeStaysOpen) {
  TestServer server(strict_config(2));
  Client c(server.port());
  ASSERT_EQ(c.upgrade(cat("/ws?token=", token("frank", R"(["*"])", R"(["*"])", 2))), 101);
  auto answer = [&](const std::string& op) {
    c.send_text(op);
    auto m = c.recv_data();
    return m ? m->payload : std::string("<nothing>");
  };
  // Someone else's token is no refresh; a bad one neither.
  std::string r = answer(cat(R"({"type":"refresh","id":1,"token":")",
                             token("mallory", R"(["*"])", R"(["*"])"), R"("})"));
  EXPECT_NE(r.find(R"("code":"forbidden")"), std::string::npos) << r;
  r = answer(R"({"type":"refresh","id":2,"token":"a.b.c"})");
  EXPECT_NE(r.find(R"("code":"invalid_token")"), std::string::npos) << r;
  r = answer(cat(R"({"type":"refresh","id":3,"token":")", token("frank", R"(["*"])", R"(["*"])"),
                 R"("})"));
  EXPECT_NE(r.find(R"({"type":"refreshed","id":3,"exp":)"), std::string::npos) << r;
  // Past the first token's expiry: still served.
  std::this_thread::sleep_for(std::chrono::milliseconds(3000));
  r = answer(R"({"type":"ping","id":4})");
  EXPECT_NE(r.find(R"("type":"pong")"), std::string::npos) << r;
  EXPECT_EQ(server.total(Metric::kAuthExpired), 0u);
}

TEST(AuthExpiry, ARefreshToAShorterTokenIsClosedAtItsExpiry) {
  TestServer server(strict_config(1));
  Client c(server.port());
  ASSERT_EQ(c.upgrade(cat("/ws?token=", token("hana", R"(["*"])", R"(["*"])", 600))), 101);
  c.send_text(
      cat(R"({"type":"refresh","token":")", token("hana", R"(["*"])", R"(["*"])", 2), R"("})"));
  auto r = c.recv_data();
  ASSERT_TRUE(r.has_value());
  EXPECT_NE(r->payload.find(R"("type":"refreshed")"), std::string::npos) << r->payload;
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(c.read_until_close(6000), 4001);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(4));
}

TEST(AuthExpiry, AnSseStreamEndsWhenItsTokenExpires) {
  TestServer server(strict_config(1));
  Client sse(server.port());
  ASSERT_TRUE(sse.send_raw(cat("GET /sse/exp-sse?token=", token("gina", R"(["*"])", "[]", 2),
                               " HTTP/1.1\r\nHost: x\r\n\r\n")));
  EXPECT_NE(sse.read_some().find("HTTP/1.1 200 OK"), std::string::npos);
  EXPECT_TRUE(sse.wait_eof(6000));
  EXPECT_EQ(server.total(Metric::kAuthExpired), 1u);
}

}  // namespace
}  // namespace ringchat::testing
