// The HTTP API on the server's port: POST /rooms/{room}/messages publishes
// and is answered once the room's owner has sequenced the message (an answer
// that waits on another shard, in pipeline order).
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "ws_client.h"

namespace ringchat::testing {
namespace {

std::string post(std::string_view room, std::string_view body, std::string_view extra = {}) {
  return cat("POST /rooms/", room, "/messages HTTP/1.1\r\nHost: x\r\n",
             "Content-Length: ", std::to_string(body.size()), "\r\n", extra, "\r\n", body);
}

class HttpApiTest : public ::testing::TestWithParam<unsigned> {
 protected:
  TestServer server{test_config(GetParam())};
  // `n` raw room sockets in `room`, each with its 101 (so each is counted).
  std::vector<std::unique_ptr<Client>> members(std::string_view room, int n) {
    std::vector<std::unique_ptr<Client>> out;
    for (int i = 0; i < n; ++i) {
      out.push_back(std::make_unique<Client>(server.port()));
      EXPECT_EQ(out.back()->upgrade(cat("/ws/", room)), 101);
    }
    return out;
  }
};

TEST_P(HttpApiTest, PublishReachesEveryMemberAndAnswersWithTheSeq) {
  auto ms = members("news", 6);
  Client api(server.port());
  std::string resp;
  ASSERT_EQ(api.http(post("news", "hello"), &resp), 201);
  EXPECT_NE(resp.find(R"("room":"news")"), std::string::npos) << resp;
  EXPECT_NE(resp.find(R"("seq":1})"), std::string::npos) << resp;
  EXPECT_NE(resp.find("Content-Type: application/json"), std::string::npos);
  ASSERT_EQ(api.http(post("news", "again"), &resp), 201);
  EXPECT_NE(resp.find(R"("seq":2})"), std::string::npos) << resp;
  for (auto& m : ms) {
    auto a = m->recv_data();
    ASSERT_TRUE(a);
    EXPECT_EQ(a->op, ws::Opcode::kText);
    EXPECT_EQ(a->payload, "hello");
    auto b = m->recv_data();
    ASSERT_TRUE(b);
    EXPECT_EQ(b->payload, "again");
  }
  EXPECT_EQ(server.total(obs::Metric::kHttpPublishes), 2u);
}

TEST_P(HttpApiTest, PipelinedPublishesAreAnsweredInRequestOrder) {
  auto ms = members("pipe", 2);
  // Several connections: the kernel spreads them over the shards, so some
  // publish from a shard that is not the room's owner (an answer that
  // waits on another shard).
  constexpr int kClients = 6;
  constexpr int kEach = 20;
  int seq = 0;
  for (int k = 0; k < kClients; ++k) {
    Client api(server.port());
    std::string burst;
    for (int i = 0; i < kEach; ++i) burst += post("pipe", cat("m", std::to_string(seq + i)));
    burst += "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    ASSERT_TRUE(api.send_raw(burst));
    for (int i = 1; i <= kEach; ++i) {
      std::string resp;
      ASSERT_EQ(api.http("", &resp), 201) << "client " << k << " answer " << i;
      EXPECT_NE(resp.find(cat("\"seq\":", std::to_string(seq + i), "}")), std::string::npos)
          << "answer " << i << " out of order: " << resp;
    }
    EXPECT_EQ(api.http(""), 200) << "the request behind the publishes waited its turn";
    seq += kEach;
  }
  for (auto& m : ms) {
    for (int i = 0; i < seq; ++i) {
      auto got = m->recv_data();
      ASSERT_TRUE(got);
      EXPECT_EQ(got->payload, cat("m", std::to_string(i)));
    }
  }
}

TEST_P(HttpApiTest, NonUtf8BodyArrivesAsBinary) {
  auto ms = members("bin", 1);
  Client api(server.port());
  const std::string body("\xff\x00\xfe", 3);
  ASSERT_EQ(api.http(post("bin", body)), 201);
  auto got = ms[0]->recv_data();
  ASSERT_TRUE(got);
  EXPECT_EQ(got->op, ws::Opcode::kBinary);
  EXPECT_EQ(got->payload, body);
}

TEST_P(HttpApiTest, PublishToAnEmptyRoomIsAcceptedAndKeepAliveHolds) {
  Client api(server.port());
  std::string resp;
  ASSERT_EQ(api.http(post("nobody-here", "x"), &resp), 201);
  EXPECT_NE(resp.find(R"("seq":1})"), std::string::npos) << resp;
  EXPECT_EQ(api.http("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"), 200);
}

TEST_P(HttpApiTest, ConnectionCloseAfterAPublishIsHonoured) {
  Client api(server.port());
  ASSERT_EQ(api.http(post("r", "x", "Connection: close\r\n")), 201);
  EXPECT_TRUE(api.wait_eof());
}

TEST_P(HttpApiTest, BadRoomNameIs400WithACode) {
  Client api(server.port());
  std::string resp;
  EXPECT_EQ(api.http(post("bad%20room", "x"), &resp), 400);
  EXPECT_NE(resp.find(R"("code":"bad_room")"), std::string::npos) << resp;
  EXPECT_EQ(api.http("PUT /rooms/r/messages HTTP/1.1\r\nHost: x\r\n\r\n", &resp), 405);
  EXPECT_NE(resp.find("Allow: GET, HEAD, POST"), std::string::npos) << resp;
}

TEST_P(HttpApiTest, HistoryReadsTheRoomsLastMessagesAsJson) {
  Client api(server.port());
  for (int i = 1; i <= 5; ++i) ASSERT_EQ(api.http(post("hist", cat("m", std::to_string(i)))), 201);
  ASSERT_EQ(api.http(post("hist", "say \"hi\"\n")), 201);
  ASSERT_EQ(api.http(post("hist", std::string("\xff\x01", 2))), 201);
  std::string resp;
  ASSERT_EQ(api.http("GET /rooms/hist/messages HTTP/1.1\r\nHost: x\r\n\r\n", &resp), 200);
  EXPECT_NE(resp.find(R"("seq":7,"recovered":false,"messages":[{"seq":1,)"), std::string::npos)
      << resp;
  EXPECT_NE(resp.find(R"("data":"m1"})"), std::string::npos) << resp;
  EXPECT_NE(resp.find(R"("data":"say \"hi\"\u000a"})"), std::string::npos) << resp;
  EXPECT_NE(resp.find(R"("data_base64":"/wE="})"), std::string::npos) << resp;
  // The newest two.
  ASSERT_EQ(api.http("GET /rooms/hist/messages?limit=2 HTTP/1.1\r\nHost: x\r\n\r\n", &resp), 200);
  EXPECT_EQ(resp.find(R"("seq":5,)"), std::string::npos) << resp;
  EXPECT_NE(resp.find(R"({"seq":6,)"), std::string::npos) << resp;
  // After a position, with the epoch the publishes reported.
  std::string pub;
  ASSERT_EQ(api.http(post("hist", "m8"), &pub), 201);
  const size_t e = pub.find(R"("epoch":")");
  ASSERT_NE(e, std::string::npos);
  const std::string epoch = pub.substr(e + 9, 16);
  ASSERT_EQ(
      api.http(cat("GET /rooms/hist/messages?since=", epoch, ":6 HTTP/1.1\r\nHost: x\r\n\r\n"),
               &resp),
      200);
  EXPECT_NE(resp.find(R"("recovered":true,"messages":[{"seq":7,)"), std::string::npos) << resp;
  EXPECT_NE(resp.find(R"("data":"m8"}]})"), std::string::npos) << resp;
}

TEST_P(HttpApiTest, HistoryRejectsBadParameters) {
  Client api(server.port());
  std::string resp;
  EXPECT_EQ(api.http("GET /rooms/h/messages?limit=0 HTTP/1.1\r\nHost: x\r\n\r\n", &resp), 400);
  EXPECT_NE(resp.find(R"("code":"bad_limit")"), std::string::npos) << resp;
  EXPECT_EQ(api.http("GET /rooms/h/messages?since=zz HTTP/1.1\r\nHost: x\r\n\r\n", &resp), 400);
  EXPECT_NE(resp.find(R"("code":"bad_since")"), std::string::npos) << resp;
  EXPECT_EQ(api.http("GET /rooms/h/messages HTTP/1.1\r\nHost: x\r\n\r\n", &resp), 200)
      << "an unknown room has an empty history";
  EXPECT_NE(resp.find(R"("messages":[]})"), std::string::npos) << resp;
}

INSTANTIATE_TEST_SUITE_P(Shards, HttpApiTest, ::testing::Values(1u, 2u, 4u));

}  // namespace
}  // namespace ringchat::testing
