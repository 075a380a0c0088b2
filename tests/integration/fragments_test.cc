// --max-fragments over real sockets: a message in too many frames closes
// with 1009 (counted with the oversized ones); others in the room carry on.
#include <gtest/gtest.h>

#include "ringchat/ws/frame_encoder.h"
#include "ws_client.h"

namespace ringchat::testing {
namespace {

using ws::Opcode;

class FragmentsTest : public ::testing::Test {
 protected:
  chat::ShardConfig cfg = test_config(2);
  std::unique_ptr<TestServer> server;
  void start() { server = std::make_unique<TestServer>(cfg); }
  std::unique_ptr<Client> join(std::string_view room) {
    auto c = std::make_unique<Client>(server->port());
    EXPECT_EQ(c->upgrade(cat("/ws/", room)), 101);
    return c;
  }
  // `n` frames of `each`, the first `first`, the last final.
  static void send_fragments(Client& c, size_t n, std::string_view each) {
    std::string wire;
    for (size_t i = 0; i < n; ++i) {
      ws::append_client_frame(wire, i == 0 ? Opcode::kText : Opcode::kContinuation,
                              ws::as_bytes(each), 0x1234567, i + 1 == n);
    }
    c.send_raw(wire);
  }
};

TEST_F(FragmentsTest, MessageInMaxFragmentsIsDelivered) {
  cfg.max_fragments = 4;
  start();
  auto c = join("frag-ok");
  send_fragments(*c, 4, "ab");
  auto m = c->recv_data();
  ASSERT_TRUE(m);
  EXPECT_EQ(m->payload, "abababab");
}

TEST_F(FragmentsTest, OneFragmentTooManyClosesWith1009) {
  cfg.max_fragments = 4;
  start();
  auto bad = join("frag");
  auto good = join("frag");
  send_fragments(*bad, 5, "ab");
  auto m = bad->recv_data();
  ASSERT_TRUE(m) << "no close frame";
  EXPECT_EQ(m->op, Opcode::kClose);
  EXPECT_EQ(m->close_code, 1009);
  bad->close_now();
  EXPECT_TRUE(bad->wait_eof());
  EXPECT_EQ(server->total(obs::Metric::kWsTooBig), 1u);
  good->send_text("still here");
  auto echo = good->recv_data();
  ASSERT_TRUE(echo);
  EXPECT_EQ(echo->payload, "still here");
}

// The attack the limit is for: empty continuations, 6 bytes each.
TEST_F(FragmentsTest, FloodOfEmptyContinuationsClosesAtTheDefaultLimit) {
  start();
  auto c = join("flood");
  send_fragments(*c, 20000, "");
  EXPECT_EQ(c->read_until_close(), 1009);
}

}  // namespace
}  // namespace ringchat::testing
