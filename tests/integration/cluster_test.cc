// Cluster mode over a real redis-server: several ringchat nodes (servers in
// this process, each with its own shards, as separate processes would be)
// serve one room in one order; a client resumes on another node; Redis
// going away refuses publishes explicitly and its return loses nothing.
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "cluster_support.h"
#include "redis_server.h"
#include "ringchat/redis/url.h"

namespace ringchat::testing {
namespace {

using namespace std::chrono_literals;

class ClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!RedisServer::available()) GTEST_SKIP() << RedisServer::why_unavailable();
    RedisServer::Options o;
    o.appendonly = true;
    o.config = {"appendfsync always"};  // a kill -9 keeps every write
    redis_ = std::make_unique<RedisServer>(o);
    ASSERT_TRUE(redis_->start()) << redis_->error();
  }

  // A node: its own server (shards, port), following Redis (at url, or
  // redis_'s).
  TestServer& add_node(unsigned shards = 2, const std::string& url = "") {
    chat::ShardConfig cfg = test_config(shards);
    auto ep = redis::parse_url(url.empty() ? redis_->url() : url);
    EXPECT_TRUE(ep) << ep.error();
    cfg.redis = *ep;
    cfg.redis_timeout_ms = 1000;
    cfg.redis_linger_ms = 500;
    cfg.node_id = static_cast<uint32_t>(nodes_.size() + 1);
    nodes_.push_back(std::make_unique<TestServer>(cfg));
    EXPECT_TRUE(ready(*nodes_.back())) << "the node never reached Redis";
    return *nodes_.back();
  }

  std::unique_ptr<RedisServer> redis_;
  std::vector<std::unique_ptr<TestServer>> nodes_;
};

TEST_F(ClusterTest, MembersOnThreeNodesGetOneCompleteSequence) {
  TestServer& a = add_node();
  TestServer& b = add_node();
  TestServer& c = add_node(1);
  // Two members per node (different shards' connections), then publishers
  // on every node: raw sockets and the HTTP API.
  std::vector<std::unique_ptr<Client>> members;
  for (TestServer* n : {&a, &b, &c}) {
    for (int i = 0; i < 2; ++i) members.push_back(member(*n, "/ws/span"));
  }
  std::vector<std::unique_ptr<Client>> pubs;
  for (TestServer* n : {&a, &c}) pubs.push_back(member(*n, "/ws/span"));
  Client api_b(b.port()), api_c(c.port());
  std::map<uint64_t, std::string> by_seq;  // from the HTTP answers
  std::set<std::string> sent;
  constexpr int kRounds = 40;
  for (int i = 0; i < kRounds; ++i) {
    const std::string x = cat("raw-a-", std::to_string(i)), y = cat("raw-c-", std::to_string(i));
    pubs[0]->send_text(x);
    pubs[1]->send_text(y);
    sent.insert(x);
    sent.insert(y);
    const std::string h = cat("http-b-", std::to_string(i));
    const Published p = (i % 2 ? api_b : api_c).publish("span", h);
    by_seq[p.seq] = h;
    sent.insert(h);
  }
  const size_t total = sent.size();
  std::vector<std::string> first;
  for (size_t k = 0; k < members.size(); ++k) {
    std::vector<std::string> got = read_n(*members[k], total);
    ASSERT_EQ(got.size(), total) << "member " << k;
    if (k == 0) {
      first = got;
      EXPECT_EQ(std::set<std::string>(got.begin(), got.end()), sent) << "each once";
      // HTTP publishes sit where their seq says.
      for (const auto& [seq, text] : by_seq) EXPECT_EQ(got[seq - 1], text) << seq;
    } else {
      EXPECT_EQ(got, first) << "member " << k << " saw another order";
    }
  }
  // Every node's publishes crossed: deliveries counted on each.
  for (TestServer* n : {&a, &b, &c}) EXPECT_GE(n->total(obs::Metric::kWsFramesOut), total * 2);
}

TEST_F(ClusterTest, AClientResumesOnAnotherNodeWithNoGapAndNoDuplicate) {
  TestServer& a = add_node();
  TestServer& b = add_node();
  Client api(a.port());
  Published p;
  for (int i = 1; i <= 10; ++i) p = api.publish("moving", cat("m", std::to_string(i)));
  // It had read up to 4 on node A; it comes back on node B.
  auto c = member(b, cat("/ws/moving?since=", p.epoch, ":4"));
  Client api_b(b.port());
  for (int i = 11; i <= 12; ++i) api_b.publish("moving", cat("m", std::to_string(i)));
  const std::vector<std::string> got = read_n(*c, 8);
  std::vector<std::string> want;
  for (int i = 5; i <= 12; ++i) want.push_back(cat("m", std::to_string(i)));
  EXPECT_EQ(got, want);
  EXPECT_FALSE(c->recv_data(300).has_value()) << "a duplicate";
}

TEST_F(ClusterTest, RedisDownRefusesPublishesAndItsReturnLosesNothing) {
  TestServer& a = add_node();
  TestServer& b = add_node();
  auto ma = member(a, "/ws/outage");
  auto mb = member(b, "/ws/outage");
  Client api(a.port());
  for (int i = 1; i <= 3; ++i) api.publish("outage", cat("m", std::to_string(i)));
  ASSERT_EQ(read_n(*mb, 3).size(), 3u);
  redis_->kill();
  EXPECT_TRUE(ready(a, 503)) << "readyz still 200 without Redis";
  // Refused explicitly: HTTP 503 `unavailable`, a raw socket closed 1013.
  std::string resp;
  Client refused(a.port());
  EXPECT_EQ(refused.http("POST /rooms/outage/messages HTTP/1.1\r\nHost: t\r\n"
                         "Content-Length: 4\r\n\r\nlost",
                         &resp),
            503)
      << resp;
  EXPECT_NE(resp.find("\"unavailable\""), std::string::npos) << resp;
  auto raw = member(b, "/ws/outage");
  raw->send_text("lost too");
  EXPECT_EQ(raw->read_until_close(10000), 1013);
  EXPECT_GE(a.total(obs::Metric::kPublishesRefused) + b.total(obs::Metric::kPublishesRefused), 2u);
  // Back (with its data: appendonly): the same epoch, seq goes on.
  ASSERT_TRUE(redis_->start()) << redis_->error();
  ASSERT_TRUE(ready(a));
  ASSERT_TRUE(ready(b));
  Client api2(b.port());
  const Published p = api2.publish("outage", "m4");
  EXPECT_EQ(p.seq, 4u) << "nothing refused was half-applied";
  EXPECT_EQ(read_n(*ma, 4), (std::vector<std::string>{"m1", "m2", "m3", "m4"}));
  EXPECT_EQ(read_n(*mb, 1), (std::vector<std::string>{"m4"}));
}

TEST_F(ClusterTest, APublishWhoseAnswerIsLostIsUnconfirmedNotUnavailable) {
  TestServer& a = add_node(1);
  auto m = member(a, "/ws/unsure");
  // Redis stops answering: the publish goes out, its answer never comes,
  // and after --redis-timeout the connection is given up. It may have been
  // applied (here it is, when Redis runs again): the client must not be
  // told it was not.
  redis_->pause();
  std::string resp;
  Client c(a.port());
  EXPECT_EQ(
      c.http("POST /rooms/unsure/messages HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nmaybe",
             &resp),
      503)
      << resp;
  EXPECT_NE(resp.find(R"("code":"unconfirmed")"), std::string::npos) << resp;
  redis_->resume();
  ASSERT_TRUE(ready(a));
  // Whatever came of it, the room goes on without a gap.
  Client api(a.port());
  const Published p = api.publish("unsure", "next");
  const std::vector<std::string> got = read_n(*m, p.seq);
  ASSERT_EQ(got.size(), p.seq);
  EXPECT_EQ(got.back(), "next");
  if (p.seq == 2) {
    EXPECT_EQ(got.front(), "maybe");
  }
}

TEST_F(ClusterTest, AnAnonymousPublisherIsFromItsPresenceIdOnEveryNode) {
  TestServer& a = add_node();
  TestServer& b = add_node(1);
  auto ja = json_member(a, "ids");
  auto jb = json_member(b, "ids");
  auto came = ja->recv_data(10000);  // B's member, as presence names it
  ASSERT_TRUE(came.has_value());
  const std::string key = R"("member":{"id":")";
  const size_t at = came->payload.find(key);
  ASSERT_NE(at, std::string::npos) << came->payload;
  const size_t from = at + key.size();
  const std::string id = came->payload.substr(from, came->payload.find('"', from) - from);
  EXPECT_EQ(id.rfind("2-0-", 0), 0u) << id;
  jb->send_text(R"({"type":"pub","room":"ids","data":"hi","id":1})");
  // Its own node and the other say the same `from`.
  for (Client* c : {ja.get(), jb.get()}) {
    std::optional<WsMessage> m;
    do {
      m = c->recv_data(5000);
    } while (m && m->payload.find(R"("type":"msg")") == std::string::npos);
    ASSERT_TRUE(m.has_value());
    EXPECT_NE(m->payload.find(cat(R"("from":")", id, R"(")")), std::string::npos)
        << m->payload << " is not from " << id;
  }
}

TEST_F(ClusterTest, TheMembersOfADeadNodeLeaveOnceOnEveryNode) {
  TestServer& a = add_node();
  TestServer& b = add_node(1);
  auto ja = json_member(a, "reap");
  auto jb = json_member(b, "reap");
  auto came = ja->recv_data(10000);  // B's member
  ASSERT_TRUE(came.has_value());
  // Node 77 was in the room and died: its heartbeat ran out 10 s ago.
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  ASSERT_EQ(redis_->query({"HSET", "rc:{reap}:p", "77-0-5-1", "ghost"}), "1");
  ASSERT_EQ(redis_->query({"ZADD", "rc:nodes", std::to_string(ms - 10000), "77"}), "1");
  // Both nodes see it die; its member leaves once, heard on both.
  for (Client* c : {ja.get(), jb.get()}) {
    auto ev = c->recv_data(5000);
    ASSERT_TRUE(ev.has_value()) << "no leave for the dead node's member";
    EXPECT_NE(ev->payload.find(R"("type":"leave")"), std::string::npos) << ev->payload;
    EXPECT_NE(ev->payload.find(R"("id":"77-0-5-1")"), std::string::npos) << ev->payload;
    auto again = c->recv_data(1000);
    EXPECT_FALSE(again.has_value()) << again->payload;
  }
  EXPECT_EQ(redis_->query({"HEXISTS", "rc:{reap}:p", "77-0-5-1"}), "0");
}

TEST_F(ClusterTest, ARefusedSubscriptionIsAskedForAgainUntilTaken) {
  // The node's Redis user may not use room `locked`'s channel (yet).
  ASSERT_EQ(redis_->query({"ACL", "SETUSER", "node", "on", ">pw", "~*", "resetchannels",
                           "&rc:{open}", "+@all"}),
            "+OK");
  TestServer& a = add_node(1, cat("redis://node:pw@127.0.0.1:", std::to_string(redis_->port())));
  auto open = member(a, "/ws/open");
  Client api(a.port());
  EXPECT_EQ(api.publish("open", "o1").seq, 1u);
  EXPECT_EQ(read_n(*open, 1), (std::vector<std::string>{"o1"}));
  // A join waits for the room's subscription, which Redis refuses.
  Client locked(a.port());
  ASSERT_EQ(locked.upgrade("/ws"), 101);
  locked.send_text(R"({"type":"join","room":"locked","id":"j"})");
  EXPECT_FALSE(locked.recv_data(1500).has_value()) << "joined a room with no subscription";
  // Allowed now: the node subscribes on its next try, and the join is answered.
  ASSERT_EQ(redis_->query({"ACL", "SETUSER", "node", "allchannels"}), "+OK");
  auto joined = locked.recv_data(5000);
  ASSERT_TRUE(joined.has_value()) << "the room never subscribed again";
  EXPECT_NE(joined->payload.find(R"("type":"joined")"), std::string::npos) << joined->payload;
  EXPECT_EQ(api.publish("locked", "l1").seq, 1u);
  auto m = locked.recv_data(5000);
  ASSERT_TRUE(m.has_value());
  EXPECT_NE(m->payload.find(R"("data":"l1")"), std::string::npos) << m->payload;
}

TEST_F(ClusterTest, PresenceListsAndAnnouncesMembersOfEveryNode) {
  TestServer& a = add_node();
  TestServer& b = add_node(1);
  auto ja = json_member(a, "who");
  auto jb = json_member(b, "who");
  // A hears B's member come, with node 2 in its id.
  auto ev = ja->recv_data(10000);
  ASSERT_TRUE(ev.has_value());
  EXPECT_NE(ev->payload.find(R"({"type":"join","room":"who","member":{"id":"2-0-)"),
            std::string::npos)
      << ev->payload;
  jb->send_text(R"({"type":"presence","room":"who","id":"p"})");
  auto p = jb->recv_data(10000);
  ASSERT_TRUE(p.has_value());
  EXPECT_NE(p->payload.find(R"({"id":"1-)"), std::string::npos) << p->payload;
  EXPECT_NE(p->payload.find(R"({"id":"2-)"), std::string::npos) << p->payload;
  jb.reset();  // gone: A hears it leave
  ev = ja->recv_data(10000);
  ASSERT_TRUE(ev.has_value());
  EXPECT_NE(ev->payload.find(R"("type":"leave")"), std::string::npos) << ev->payload;
}

}  // namespace
}  // namespace ringchat::testing
