// HTTP on the server's port: routes, statuses, keep-alive, pipelining, limits.
#include <gtest/gtest.h>

#include "ws_client.h"

namespace ringchat::testing {
namespace {

class HttpTest : public ::testing::Test {
 protected:
  TestServer server{test_config(2)};
  int status(std::string_view request, std::string* response = nullptr) {
    Client c(server.port());
    return c.http(request, response);
  }
  static std::string get(std::string_view path, std::string_view extra = {}) {
    return "GET " + std::string(path) + " HTTP/1.1\r\nHost: x\r\n" + std::string(extra) + "\r\n";
  }
};

TEST_F(HttpTest, HealthzAnswersOk) {
  std::string resp;
  EXPECT_EQ(status(get("/healthz"), &resp), 200);
  EXPECT_NE(resp.find("\r\n\r\nok\n"), std::string::npos);
}

TEST_F(HttpTest, UnknownRouteIs404) { EXPECT_EQ(status(get("/nope")), 404); }

TEST_F(HttpTest, PostToHealthzIs405) {
  std::string resp;
  EXPECT_EQ(status("POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", &resp), 405);
  EXPECT_NE(resp.find("Allow: GET"), std::string::npos);
}

TEST_F(HttpTest, PlainGetOnRoomIs426WithVersionHeader) {
  std::string resp;
  EXPECT_EQ(status(get("/ws/lobby"), &resp), 426);
  EXPECT_NE(resp.find("Sec-WebSocket-Version: 13"), std::string::npos);
}

TEST_F(HttpTest, WrongWebSocketVersionIs426) {
  std::string resp;
  EXPECT_EQ(
      status(get("/ws/lobby",
                 "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                 "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n"),
             &resp),
      426);
  EXPECT_NE(resp.find("Sec-WebSocket-Version: 13"), std::string::npos);
}

TEST_F(HttpTest, BadKeyIs400) {
  EXPECT_EQ(status(get("/ws/lobby",
                       "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                       "Sec-WebSocket-Key: short\r\nSec-WebSocket-Version: 13\r\n")),
            400);
}

TEST_F(HttpTest, BadRoomNameIs400) {
  Client c(server.port());
  std::string resp;
  EXPECT_EQ(c.upgrade("/ws/has%20space", &resp), 400);
  EXPECT_NE(resp.find("room name"), std::string::npos);
  Client d(server.port());
  EXPECT_EQ(d.upgrade("/ws/" + std::string(201, 'a')), 400);
}

TEST_F(HttpTest, RoomNameOf200BytesIsAccepted) {
  Client c(server.port());
  EXPECT_EQ(c.upgrade("/ws/" + std::string(200, 'a')), 101);
}

TEST_F(HttpTest, GarbageIs400AndCounted) {
  EXPECT_EQ(status("\x01\x02 nonsense\r\n\r\n"), 400);
  EXPECT_TRUE(server.wait_metric(obs::Metric::kHttpErrors, 1));
}

TEST_F(HttpTest, OversizedHeadersAre431) {
  std::string big = "X-Big: " + std::string(9000, 'a') + "\r\n";
  EXPECT_EQ(status(get("/healthz", big)), 431);
}

TEST_F(HttpTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  Client c(server.port());
  for (int i = 0; i < 3; ++i) EXPECT_EQ(c.http(get("/healthz")), 200);
}

TEST_F(HttpTest, PipelinedRequestsAreAnsweredInOrder) {
  Client c(server.port());
  ASSERT_TRUE(c.send_raw(get("/healthz") + get("/nope") + get("/healthz")));
  EXPECT_EQ(c.http(""), 200);
  EXPECT_EQ(c.http(""), 404);
  EXPECT_EQ(c.http(""), 200);
}

TEST_F(HttpTest, ConnectionCloseIsHonoured) {
  Client c(server.port());
  EXPECT_EQ(c.http(get("/healthz", "Connection: close\r\n")), 200);
  EXPECT_TRUE(c.wait_eof());
}

TEST_F(HttpTest, MetricsAreExposedInPrometheusFormat) {
  std::string resp;
  EXPECT_EQ(status(get("/metrics"), &resp), 200);
  EXPECT_NE(resp.find("# TYPE ringchat_connections_accepted_total counter"), std::string::npos);
  EXPECT_NE(resp.find("ringchat_connections_accepted_total{shard=\"0\"}"), std::string::npos);
}

TEST(HttpTimeouts, HalfOpenHandshakeIsClosedAfterTheTimeout) {
  auto cfg = test_config(1);
  cfg.handshake_timeout_ms = 200;
  TestServer server(cfg);
  Client idle(server.port());
  ASSERT_TRUE(idle.send_raw("GET /ws/lobby HTTP/1.1\r\nHost: x\r\n"));  // never finished
  EXPECT_TRUE(idle.wait_eof());
  EXPECT_EQ(server.total(obs::Metric::kHandshakeTimeouts), 1u);
  Client ok(server.port());
  EXPECT_EQ(ok.upgrade("/ws/lobby"), 101);
}

TEST(HttpTimeouts, ClientAfterALongIdleGetsTheFullTimeout) {
  auto cfg = test_config(1);
  cfg.handshake_timeout_ms = 300;
  TestServer server(cfg);
  {
    Client warm(server.port());
    ASSERT_EQ(warm.http("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"), 200);
  }
  // The server sleeps with no timer armed, longer than the timeout: the
  // polling deadline below is the condition under test, not a synchronisation.
  EXPECT_FALSE(server.wait_metric(obs::Metric::kHandshakeTimeouts, 1, 600));
  Client late(server.port());
  EXPECT_EQ(late.upgrade("/ws/late"), 101);
  EXPECT_EQ(server.total(obs::Metric::kHandshakeTimeouts), 0u);
}

}  // namespace
}  // namespace ringchat::testing
