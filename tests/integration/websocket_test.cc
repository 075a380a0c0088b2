// WebSocket behaviour over real sockets: control frames, close handshake,
// limits, misbehaving clients that must not disturb the others.
#include <gtest/gtest.h>

#include "ringchat/ws/frame_encoder.h"
#include "ws_client.h"

namespace ringchat::testing {
namespace {

using ws::Opcode;

class WebSocketTest : public ::testing::Test {
 protected:
  chat::ShardConfig cfg = test_config(2);
  std::unique_ptr<TestServer> server;
  void start() { server = std::make_unique<TestServer>(cfg); }
  std::unique_ptr<Client> join(std::string_view room) {
    auto c = std::make_unique<Client>(server->port());
    EXPECT_EQ(c->upgrade("/ws/" + std::string(room)), 101);
    return c;
  }
  // The server answered with a close frame carrying `code`, then closed TCP.
  static void expect_close(Client& c, uint16_t code) {
    auto m = c.recv_data();
    ASSERT_TRUE(m) << "no close frame";
    EXPECT_EQ(m->op, Opcode::kClose);
    EXPECT_EQ(m->close_code, code);
    c.close_now();
    EXPECT_TRUE(c.wait_eof());
  }
  // `other` still chats normally in its room.
  static void expect_alive(Client& other) {
    other.send_text("still here");
    auto m = other.recv_data();
    ASSERT_TRUE(m);
    EXPECT_EQ(m->payload, "still here");
  }
  void SetUp() override { start(); }
};

TEST_F(WebSocketTest, PingIsAnsweredWithPongOfSamePayload) {
  auto c = join("p");
  c->send_frame(Opcode::kPing, "abc");
  auto m = c->recv();
  ASSERT_TRUE(m);
  EXPECT_EQ(m->op, Opcode::kPong);
  EXPECT_EQ(m->payload, "abc");
}

TEST_F(WebSocketTest, CloseIsEchoedWithTheSameCode) {
  auto c = join("c");
  c->send_frame(Opcode::kClose, ws::close_payload(4001, "bye"));
  expect_close(*c, 4001);
}

TEST_F(WebSocketTest, UnmaskedFrameClosesWith1002AndOthersCarryOn) {
  auto bad = join("mix");
  auto good = join("mix");
  std::string frame;
  ws::append_server_frame(frame, Opcode::kText, ws::as_bytes("unmasked"));
  bad->send_raw(frame);
  expect_close(*bad, 1002);
  expect_alive(*good);
  EXPECT_GE(server->total(obs::Metric::kWsProtocolErrors), 1u);
}

TEST_F(WebSocketTest, InvalidUtf8ClosesWith1007) {
  auto c = join("u");
  auto good = join("u");
  c->send_frame(Opcode::kText, "ok \xC0\x80 overlong");
  expect_close(*c, 1007);
  expect_alive(*good);
}

TEST_F(WebSocketTest, MessageOverTheLimitClosesWith1009) {
  cfg.max_message = 1000;
  start();
  auto c = join("big");
  c->send_frame(Opcode::kBinary, std::string(1001, 'x'));
  expect_close(*c, 1009);
}

TEST_F(WebSocketTest, FragmentedMessageIsReassembledAroundAPing) {
  auto c = join("frag");
  c->send_frame(Opcode::kText, "hel", false);
  c->send_frame(Opcode::kPing, "mid");
  c->send_frame(Opcode::kContinuation, "lo ", false);
  c->send_frame(Opcode::kContinuation, "world", true);
  auto pong = c->recv();
  ASSERT_TRUE(pong);
  EXPECT_EQ(pong->op, Opcode::kPong);
  auto m = c->recv_data();
  ASSERT_TRUE(m);
  EXPECT_EQ(m->payload, "hello world");
}

TEST_F(WebSocketTest, AbruptDisconnectMidMessageLeavesOthersUntouched) {
  auto good = join("abrupt");
  for (int i = 0; i < 20; ++i) {
    Client bad(server->port());
    ASSERT_EQ(bad.upgrade("/ws/abrupt"), 101);
    std::string frame;
    ws::append_client_frame(frame, Opcode::kText, ws::as_bytes(std::string(5000, 'z')), 7);
    bad.send_raw(std::string_view(frame).substr(0, 1000 + i));  // then vanish
  }
  expect_alive(*good);
  EXPECT_TRUE(server->wait_metric(obs::Metric::kConnectionsClosed, 20));
  auto m = good->recv_data(200);
  EXPECT_FALSE(m) << "a partial message was delivered: " << m->payload.size();
}

TEST_F(WebSocketTest, FourMebibyteMessageInSmallFragmentsComesBackWhole) {
  // Autobahn 9.3-style: a large message in many fragments, across many
  // receive buffers, sent back as one frame through partial sends.
  cfg.max_message = 8u << 20;
  start();
  auto c = join("huge");
  std::string msg(4u << 20, '\0');
  for (size_t i = 0; i < msg.size(); ++i) msg[i] = static_cast<char>('a' + i % 26);
  const size_t frag = 65536;
  for (size_t off = 0; off < msg.size(); off += frag) {
    c->send_frame(off == 0 ? Opcode::kText : Opcode::kContinuation,
                  std::string_view(msg).substr(off, frag), off + frag >= msg.size());
  }
  auto m = c->recv_data(20000);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->op, Opcode::kText);
  EXPECT_TRUE(m->payload == msg) << "got " << m->payload.size() << " bytes";
}

TEST_F(WebSocketTest, FramesInOneSegmentAreAllProcessed) {
  auto c = join("burst");
  std::string burst;
  for (int i = 0; i < 100; ++i) {
    ws::append_client_frame(burst, Opcode::kText, ws::as_bytes(std::to_string(i)), 99u + i);
  }
  c->send_raw(burst);
  for (int i = 0; i < 100; ++i) {
    auto m = c->recv_data();
    ASSERT_TRUE(m);
    EXPECT_EQ(m->payload, std::to_string(i));
  }
}

TEST_F(WebSocketTest, ServerPingsAndClosesSilentClients) {
  cfg.ping_interval_ms = 150;
  start();
  auto c = join("idle");
  auto ping = c->recv();
  ASSERT_TRUE(ping);
  EXPECT_EQ(ping->op, Opcode::kPing);
  // Stay silent (no pong): after two intervals the server gives up.
  auto m = c->recv_data();
  ASSERT_TRUE(m);
  EXPECT_EQ(m->op, Opcode::kClose);
  EXPECT_EQ(m->close_code, 1001);
  EXPECT_TRUE(server->wait_metric(obs::Metric::kWsIdleCloses, 1));
}

TEST_F(WebSocketTest, ClientsThatAnswerPingsStayConnected) {
  cfg.ping_interval_ms = 100;
  start();
  auto c = join("alive");
  for (int i = 0; i < 5; ++i) {
    auto ping = c->recv();
    ASSERT_TRUE(ping);
    ASSERT_EQ(ping->op, Opcode::kPing);
    c->send_frame(Opcode::kPong, ping->payload);
  }
  expect_alive(*c);
  EXPECT_EQ(server->total(obs::Metric::kWsIdleCloses), 0u);
}

TEST_F(WebSocketTest, SlowConsumerIsClosedWith1008) {
  cfg.max_backlog = 64 * 1024;
  cfg.sndbuf = 4096;
  start();
  auto slow = join("flood");
  auto fast = join("flood");
  std::string chunk(16000, 'f');
  // `slow` never reads; the server's queue for it grows past the limit.
  for (int i = 0; i < 200 && server->total(obs::Metric::kSlowConsumerCloses) == 0; ++i) {
    fast->send_frame(Opcode::kBinary, chunk);
    ASSERT_TRUE(fast->recv_data());
  }
  EXPECT_TRUE(server->wait_metric(obs::Metric::kSlowConsumerCloses, 1));
  expect_alive(*fast);
}

TEST_F(WebSocketTest, StopClosesWebSocketsWith1001) {
  auto a = join("bye");
  auto b = join("bye2");
  server->stop();
  for (Client* c : {a.get(), b.get()}) {
    auto m = c->recv_data();
    ASSERT_TRUE(m);
    EXPECT_EQ(m->op, Opcode::kClose);
    EXPECT_EQ(m->close_code, 1001);
  }
}

}  // namespace
}  // namespace ringchat::testing
