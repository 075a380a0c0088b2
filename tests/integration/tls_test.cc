// A server with both ports, plain and TLS: one room across them, and what
// the TLS port does with clients that do not speak TLS, stall in the
// handshake, or come over a connection limit. (The rest of the integration
// tests run over TLS too: the `integration-tls` test, RINGCHAT_TEST_TLS=1.)
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "ws_client.h"

namespace ringchat::testing {
namespace {

using obs::Metric;

chat::ShardConfig both_ports(unsigned shards) {
  auto cfg = test_config(shards);
  cfg.tls = tls_test_context();
  cfg.tls_port = 0;
  cfg.plain = true;
  return cfg;
}

ClientOptions over(bool tls) { return ClientOptions{.rcvbuf = 0, .tls = tls}; }

TEST(Tls, BothPortsServeOneRoomInOneOrder) {
  TestServer server(both_ports(2));
  ASSERT_NE(server.tls_port(), 0);
  Client secure(server.tls_port(), over(true));
  Client plain(server.port(), over(false));
  ASSERT_EQ(secure.upgrade("/ws/mixed"), 101);
  ASSERT_EQ(plain.upgrade("/ws/mixed"), 101);
  for (int i = 0; i < 50; ++i) {
    secure.send_text("tls " + std::to_string(i));
    plain.send_text("tcp " + std::to_string(i));
  }
  std::vector<std::string> seen[2];
  for (int who = 0; who < 2; ++who) {
    Client& c = who == 0 ? secure : plain;
    for (int i = 0; i < 100; ++i) {
      auto m = c.recv_data();
      ASSERT_TRUE(m) << "message " << i;
      seen[who].push_back(m->payload);
    }
  }
  EXPECT_EQ(seen[0], seen[1]) << "one order for both ports";
  EXPECT_GE(server.total(Metric::kTlsFull), 1u);
}

TEST(Tls, PlainHttpOnTheTlsPortGetsA400InClearText) {
  TestServer server(both_ports(1));
  Client c(server.tls_port(), over(false));
  std::string response;
  EXPECT_EQ(c.http("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", &response), 400);
  EXPECT_NE(response.find("speaks TLS"), std::string::npos) << response;
  EXPECT_TRUE(c.wait_eof(2000));
  EXPECT_EQ(server.total(Metric::kTlsPlainHttp), 1u);
}

TEST(Tls, GarbageAndStalledHandshakesAreClosedAndNobodyElseNotices) {
  auto cfg = both_ports(2);
  cfg.handshake_timeout_ms = 300;
  TestServer server(cfg);
  Client member(server.tls_port(), over(true));
  ASSERT_EQ(member.upgrade("/ws/calm"), 101);
  // Not TLS at all; a record of a handshake type with nonsense in it; half a
  // ClientHello, then nothing.
  Client binary(server.tls_port(), over(false));
  ASSERT_TRUE(binary.send_raw(std::string(300, '\x01')));
  Client nonsense(server.tls_port(), over(false));
  ASSERT_TRUE(nonsense.send_raw(std::string("\x16\x03\x01\x00\x08\x01\x00\x00\x04zzzz", 13)));
  Client stalled(server.tls_port(), over(false));
  ASSERT_TRUE(stalled.send_raw(std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11)));
  EXPECT_TRUE(binary.wait_eof(2000));
  EXPECT_TRUE(nonsense.wait_eof(2000));
  EXPECT_TRUE(stalled.wait_eof(2000)) << "the handshake deadline applies";
  EXPECT_EQ(server.total(Metric::kTlsHandshakeFailures), 2u);
  EXPECT_GE(server.total(Metric::kHandshakeTimeouts), 1u);
  member.send_text("still here");
  auto m = member.recv_data();
  ASSERT_TRUE(m);
  EXPECT_EQ(m->payload, "still here");
}

TEST(Tls, AConnectionOverALimitIsClosedWithoutAHandshake) {
  auto cfg = both_ports(1);
  cfg.conn_limits.max_conns = 1;
  TestServer server(cfg);
  Client first(server.tls_port(), over(true));
  ASSERT_EQ(first.upgrade("/ws/full"), 101);
  Client refused(server.tls_port(), over(false));
  EXPECT_TRUE(refused.wait_eof(1000)) << "closed at once, no TLS answer";
  EXPECT_EQ(server.total(Metric::kLimitMaxConns), 1u);
  EXPECT_EQ(server.total(Metric::kTlsFull), 1u);
}

}  // namespace
}  // namespace ringchat::testing
