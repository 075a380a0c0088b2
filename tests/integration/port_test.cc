// Two servers on one port: the second refuses to start unless it is told to
// share the port (--reuse-port, a rolling restart). Without the check, both
// would listen with SO_REUSEPORT and the kernel would split clients, and so
// rooms, between them.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "free_port.h"
#include "ws_client.h"

namespace ringchat::testing {
namespace {

class PortTest : public ::testing::Test {
 protected:
  void SetUp() override {
    port_ = free_port();
    ASSERT_NE(port_, 0);
  }
  // Two shards, so that a server's own second listener is seen not to trip
  // the check its first one would.
  chat::ShardConfig config(bool reuse_port = false) const {
    chat::ShardConfig cfg = test_config(2);
    cfg.port = port_;
    cfg.reuse_port = reuse_port;
    return cfg;
  }
  static bool healthy(uint16_t port) {
    Client c(port);
    return c.http("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n") == 200;
  }

  uint16_t port_ = 0;
};

TEST_F(PortTest, SecondServerOnAPortInUseRefusesToStart) {
  app::Server first(config());
  auto p = first.start();
  ASSERT_TRUE(p.ok()) << p.error();
  ASSERT_EQ(*p, port_);

  app::Server second(config());
  auto r = second.start();
  ASSERT_FALSE(r.ok()) << "a second server joined port " << port_;
  const std::string& e = r.error();
  EXPECT_NE(e.find("port " + std::to_string(port_) + " on 127.0.0.1 is already in use"),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("another ringchat"), std::string::npos) << e;
  EXPECT_NE(e.find("--reuse-port"), std::string::npos) << e;
  EXPECT_TRUE(healthy(port_)) << "the first server must go on serving";
}

TEST_F(PortTest, ReusePortJoinsAServerAlreadyOnThePort) {
  app::Server first(config());
  ASSERT_TRUE(first.start().ok());
  app::Server second(config(/*reuse_port=*/true));
  auto r = second.start();
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(*r, port_);
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(healthy(port_)) << "connection " << i;
}

// The rolling restart: once the old server has stopped, the new one alone
// gets every connection; none is left in a listener nobody accepts from.
TEST_F(PortTest, AfterTheHandOverTheNewServerGetsEveryConnection) {
  app::Server old_server(config());
  ASSERT_TRUE(old_server.start().ok());
  app::Server new_server(config(/*reuse_port=*/true));
  ASSERT_TRUE(new_server.start().ok());
  old_server.stop();
  old_server.wait();
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(healthy(port_)) << "connection " << i
                                << " got no answer: the stopped server still listens";
  }
}

// Once stop() and wait() return, the server listens no more: the next one
// starts on its port without --reuse-port.
TEST_F(PortTest, PortIsFreeOnceTheServerHasStopped) {
  app::Server first(config());
  ASSERT_TRUE(first.start().ok());
  ASSERT_TRUE(healthy(port_));
  first.stop();
  first.wait();
  app::Server next(config());
  auto r = next.start();
  ASSERT_TRUE(r.ok()) << r.error() << " (the stopped server still listens)";
  EXPECT_TRUE(healthy(port_));
}

TEST_F(PortTest, PortZeroIsNeverRefused) {
  TestServer a(test_config(1));
  TestServer b(test_config(1));
  ASSERT_NE(a.port(), 0);
  ASSERT_NE(b.port(), 0);
  EXPECT_NE(a.port(), b.port());
}

}  // namespace
}  // namespace ringchat::testing
