// Resume on the raw route: GET /ws/{room}?since=EPOCH:SEQ gets what it
// missed from the owner's history, then the live stream, with no gap and no
// duplicate; the 101 says where the room stands and whether history reached
// back.
#include <gtest/gtest.h>

#include <memory>
#include <regex>
#include <string>

#include "ws_client.h"

namespace ringchat::testing {
namespace {

class ResumeTest : public ::testing::TestWithParam<unsigned> {
 protected:
  TestServer server{test_config(GetParam())};
  Client api{server.port()};
  std::string epoch;

  // Publishes over HTTP; returns the seq and remembers the epoch.
  uint64_t publish(std::string_view room, std::string_view body) {
    const Published p = api.publish(room, body);
    epoch = p.epoch;
    return p.seq;
  }
  static std::string header(const std::string& resp, const std::string& name) {
    std::smatch m;
    if (!std::regex_search(resp, m, std::regex(name + ": ([^\r]*)\r\n"))) return {};
    return m[1];
  }
};

TEST_P(ResumeTest, ResumeGetsWhatItMissedThenLiveMessages) {
  for (int i = 1; i <= 5; ++i) publish("lobby", cat("m", std::to_string(i)));
  Client c(server.port());
  std::string resp;
  ASSERT_EQ(c.upgrade(cat("/ws/lobby?since=", epoch, ":2"), &resp), 101) << resp;
  EXPECT_EQ(header(resp, "X-Ringchat-Recovered"), "true");
  EXPECT_EQ(header(resp, "X-Ringchat-Epoch"), epoch);
  EXPECT_EQ(header(resp, "X-Ringchat-Seq"), "5");
  EXPECT_EQ(header(resp, "X-Ringchat-First"), "3");
  EXPECT_NE(resp.find("Sec-WebSocket-Accept: "), std::string::npos);
  publish("lobby", "m6");
  for (int i = 3; i <= 6; ++i) {
    auto got = c.recv_data();
    ASSERT_TRUE(got) << i;
    EXPECT_EQ(got->payload, cat("m", std::to_string(i)));
  }
}

TEST_P(ResumeTest, ResumeWhilePublishesContinueHasNoGapAndNoDuplicate) {
  publish("busy", "m1");
  // Many clients resume from seq 1 while a publisher keeps going: each must
  // see m2.. in order, whatever it got from history and what live.
  std::vector<std::unique_ptr<Client>> cs;
  int next = 2;
  for (int k = 0; k < 8; ++k) {
    publish("busy", cat("m", std::to_string(next++)));
    cs.push_back(std::make_unique<Client>(server.port()));
    ASSERT_EQ(cs.back()->upgrade(cat("/ws/busy?since=", epoch, ":1")), 101);
    publish("busy", cat("m", std::to_string(next++)));
  }
  for (auto& c : cs) {
    for (int i = 2; i < next; ++i) {
      auto got = c->recv_data();
      ASSERT_TRUE(got);
      ASSERT_EQ(got->payload, cat("m", std::to_string(i)));
    }
  }
}

TEST_P(ResumeTest, AnotherEpochIsNotRecoveredAndGetsWhatHistoryHolds) {
  publish("r", "a");
  publish("r", "b");
  Client c(server.port());
  std::string resp;
  ASSERT_EQ(c.upgrade("/ws/r?since=1:1", &resp), 101);
  EXPECT_EQ(header(resp, "X-Ringchat-Recovered"), "false");
  EXPECT_EQ(header(resp, "X-Ringchat-Epoch"), epoch);
  EXPECT_EQ(header(resp, "X-Ringchat-First"), "1") << "history holds all of it";
  auto a = c.recv_data();
  auto b = c.recv_data();
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->payload, "a");
  EXPECT_EQ(b->payload, "b");
}

TEST_P(ResumeTest, MalformedSinceIs400) {
  for (const char* bad : {"x:1", "1", "1:", ":1", "1:x", "11111111111111111:1"}) {
    Client c(server.port());
    EXPECT_EQ(c.upgrade(cat("/ws/r?since=", bad)), 400) << bad;
  }
}

INSTANTIATE_TEST_SUITE_P(Shards, ResumeTest, ::testing::Values(1u, 2u, 4u));

}  // namespace
}  // namespace ringchat::testing
