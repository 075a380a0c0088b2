// Cluster mode over a Redis Cluster (--redis-cluster): three redis-servers
// formed into a cluster with redis-cli, ringchat nodes (servers in this
// process) given its seeds. Rooms whose slots are on different masters keep
// one complete order on every node; a client resumes on another node; a
// room's slot moves to another master while it is published to, and every
// member still gets the complete sequence, nothing twice.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "cluster_support.h"
#include "redis_server.h"
#include "ringchat/redis/slots.h"
#include "ringchat/redis/url.h"

namespace ringchat::testing {
namespace {

using namespace std::chrono_literals;

// Runs a shell command; its exit status and output.
int run(const std::string& cmd, std::string* out) {
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  if (!p) return -1;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out->append(buf, n);
  return pclose(p);
}

bool binary_exists(const std::string& path) {
  std::string out;
  return run("command -v " + path, &out) == 0;
}

class RedisClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!RedisServer::available()) GTEST_SKIP() << RedisServer::why_unavailable();
    if (!binary_exists(RedisServer::redis_cli())) GTEST_SKIP() << "no redis-cli";
    std::string hosts;
    for (int i = 0; i < 3; ++i) {
      RedisServer::Options o;
      o.config = {"cluster-enabled yes", "cluster-config-file nodes.conf",
                  "cluster-node-timeout 5000"};
      // The cluster bus listens on port + 10000: the port must leave room.
      auto r = std::make_unique<RedisServer>(o);
      for (int tries = 0; r->port() > 55535 && tries < 1000; ++tries) {
        r = std::make_unique<RedisServer>(o);
      }
      redis_.push_back(std::move(r));
      ASSERT_TRUE(redis_.back()->start()) << redis_.back()->error();
      hosts += " 127.0.0.1:" + std::to_string(redis_.back()->port());
    }
    std::string out;
    const int rc = run(RedisServer::redis_cli() + " --cluster create" + hosts +
                           " --cluster-replicas 0 --cluster-yes",
                       &out);
    ASSERT_EQ(rc, 0) << out;
    // Every node agrees the cluster is up (bounded wait).
    const auto end = std::chrono::steady_clock::now() + 30s;
    for (auto& r : redis_) {
      while (r->query({"CLUSTER", "INFO"}).find("cluster_state:ok") == std::string::npos) {
        ASSERT_LT(std::chrono::steady_clock::now(), end) << "cluster_state never ok";
        std::this_thread::sleep_for(50ms);
      }
    }
    for (auto& r : redis_) {
      const std::string id = r->query({"CLUSTER", "MYID"});
      ASSERT_GE(id.size(), 3u) << id;
      ids_.push_back(id.substr(1, id.size() - 2));  // "\"id\""
    }
  }

  // A ringchat node following the Redis Cluster (every server as a seed,
  // or only the first: the others are found from its slot map).
  TestServer& add_node(unsigned shards = 2, bool all_seeds = true) {
    chat::ShardConfig cfg = test_config(shards);
    for (auto& r : redis_) {
      auto ep = redis::parse_url(r->tcp_url());
      EXPECT_TRUE(ep) << ep.error();
      cfg.redis_cluster.push_back(*ep);
      if (!all_seeds) break;
    }
    cfg.redis_timeout_ms = 2000;
    cfg.redis_linger_ms = 500;
    cfg.node_id = static_cast<uint32_t>(nodes_.size() + 1);
    nodes_.push_back(std::make_unique<TestServer>(cfg));
    EXPECT_TRUE(ready(*nodes_.back())) << "the node never reached the Redis Cluster";
    return *nodes_.back();
  }

  // The Redis server (index) owning `slot`, per redis-cli's even split.
  static size_t owner_of(uint16_t slot) { return slot <= 5460 ? 0 : slot <= 10922 ? 1 : 2; }

  // A room name (prefix + n) whose slot is on master `m`.
  static std::string room_on(size_t m, const std::string& prefix) {
    for (int i = 0;; ++i) {
      std::string name = cat(prefix, std::to_string(i));
      if (owner_of(redis::key_slot(name)) == m) return name;
    }
  }

  std::vector<std::unique_ptr<RedisServer>> redis_;
  std::vector<std::string> ids_;
  std::vector<std::unique_ptr<TestServer>> nodes_;
};

TEST_F(RedisClusterTest, RoomsOnEveryMasterKeepOneCompleteOrderOnEveryNode) {
  TestServer& a = add_node();
  TestServer& b = add_node(2, false);  // one seed: the other masters from its map
  TestServer& c = add_node(1);
  const std::vector<std::string> rooms = {room_on(0, "red"), room_on(1, "green"),
                                          room_on(2, "blue")};
  std::vector<std::vector<std::unique_ptr<Client>>> members(rooms.size());
  for (size_t r = 0; r < rooms.size(); ++r) {
    for (TestServer* n : {&a, &b, &c}) {
      for (int i = 0; i < 2; ++i) members[r].push_back(member(*n, cat("/ws/", rooms[r])));
    }
  }
  std::vector<std::unique_ptr<Client>> raw;  // a raw publisher per room, on node c
  for (const std::string& room : rooms) raw.push_back(member(c, cat("/ws/", room)));
  Client api_a(a.port()), api_b(b.port());
  std::vector<std::set<std::string>> sent(rooms.size());
  std::vector<std::map<uint64_t, std::string>> by_seq(rooms.size());
  constexpr int kRounds = 30;
  for (int i = 0; i < kRounds; ++i) {
    for (size_t r = 0; r < rooms.size(); ++r) {
      const std::string h = cat("http-", rooms[r], "-", std::to_string(i));
      const Published p = (i % 2 ? api_a : api_b).publish(rooms[r], h);
      by_seq[r][p.seq] = h;
      sent[r].insert(h);
      const std::string x = cat("raw-", rooms[r], "-", std::to_string(i));
      raw[r]->send_text(x);
      sent[r].insert(x);
    }
  }
  for (size_t r = 0; r < rooms.size(); ++r) {
    const size_t total = sent[r].size();
    std::vector<std::string> first;
    for (size_t k = 0; k < members[r].size(); ++k) {
      std::vector<std::string> got = read_n(*members[r][k], total);
      ASSERT_EQ(got.size(), total) << rooms[r] << " member " << k;
      if (k == 0) {
        first = got;
        EXPECT_EQ(std::set<std::string>(got.begin(), got.end()), sent[r]) << "each once";
        for (const auto& [seq, text] : by_seq[r]) EXPECT_EQ(got[seq - 1], text) << seq;
      } else {
        EXPECT_EQ(got, first) << rooms[r] << " member " << k << " saw another order";
      }
    }
    // The room lives on its slot's master, and only there.
    for (size_t s = 0; s < redis_.size(); ++s) {
      const std::string seq = redis_[s]->query({"HGET", cat("rc:{", rooms[r], "}:m"), "seq"});
      if (s == r) {
        EXPECT_EQ(seq, cat("\"", std::to_string(total), "\"")) << rooms[r];
      } else {
        EXPECT_EQ(seq.rfind("-MOVED", 0), 0u) << rooms[r] << " on server " << s << ": " << seq;
      }
    }
  }
}

TEST_F(RedisClusterTest, AClientResumesOnAnotherNodeWithNoGapAndNoDuplicate) {
  TestServer& a = add_node();
  TestServer& b = add_node();
  const std::string room = room_on(2, "moving");
  Client api(a.port());
  Published p;
  for (int i = 1; i <= 10; ++i) p = api.publish(room, cat("m", std::to_string(i)));
  auto c = member(b, cat("/ws/", room, "?since=", p.epoch, ":4"));
  Client api_b(b.port());
  for (int i = 11; i <= 12; ++i) api_b.publish(room, cat("m", std::to_string(i)));
  std::vector<std::string> want;
  for (int i = 5; i <= 12; ++i) want.push_back(cat("m", std::to_string(i)));
  EXPECT_EQ(read_n(*c, 8), want);
  EXPECT_FALSE(c->recv_data(300).has_value()) << "a duplicate";
}

TEST_F(RedisClusterTest, PresenceListsMembersOfEveryNode) {
  // The room's hash and the nodes' heartbeats (rc:nodes) live on two slots,
  // maybe two masters: the answer waits for both.
  TestServer& a = add_node();
  TestServer& b = add_node(1);
  auto ja = json_member(a, "who");
  auto jb = json_member(b, "who");
  auto ev = ja->recv_data(10000);
  ASSERT_TRUE(ev.has_value());
  EXPECT_NE(ev->payload.find(R"("type":"join")"), std::string::npos) << ev->payload;
  ja->send_text(R"({"type":"presence","room":"who","id":"p"})");
  auto p = ja->recv_data(10000);
  ASSERT_TRUE(p.has_value());
  EXPECT_NE(p->payload.find(R"("type":"presence")"), std::string::npos) << p->payload;
  size_t ids = 0;
  for (size_t at = 0; (at = p->payload.find(R"({"id":")", at)) != std::string::npos; ++at) ++ids;
  EXPECT_EQ(ids, 2u) << p->payload;
}

TEST_F(RedisClusterTest, ASlotMovedWhilePublishingLosesNothingAndRepeatsNothing) {
  TestServer& a = add_node();
  TestServer& b = add_node();
  const std::string room = room_on(0, "wander");
  const uint16_t slot = redis::key_slot(room);
  auto ma = member(a, cat("/ws/", room));
  auto mb = member(b, cat("/ws/", room));
  RedisServer& src = *redis_[0];
  RedisServer& dst = *redis_[1];
  // A second publisher on node B, all along.
  std::atomic<bool> stop{false};
  std::atomic<int> bg_sent{0};
  std::thread bg([&] {
    Client api(b.port());
    for (int i = 0; !stop.load() && i < 400; ++i) {
      api.publish(room, cat("bg-", std::to_string(i)));
      bg_sent.fetch_add(1);
      std::this_thread::sleep_for(2ms);
    }
  });
  Client api(a.port());
  int fg_sent = 0;
  auto publish_some = [&](int n) {
    for (int i = 0; i < n; ++i) {
      api.publish(room, cat("fg-", std::to_string(fg_sent++)));
      std::this_thread::sleep_for(2ms);
    }
  };
  const std::string s = std::to_string(slot);
  publish_some(20);
  // The slot goes from server 0 to server 1, keys and all (redis-cli
  // --cluster reshard's steps).
  EXPECT_EQ(dst.query({"CLUSTER", "SETSLOT", s, "IMPORTING", ids_[0]}), "+OK");
  publish_some(10);
  EXPECT_EQ(src.query({"CLUSTER", "SETSLOT", s, "MIGRATING", ids_[1]}), "+OK");
  publish_some(10);
  EXPECT_EQ(
      src.query({"MIGRATE", "127.0.0.1", std::to_string(dst.port()), "", "0", "5000", "KEYS",
                 cat("rc:{", room, "}:m"), cat("rc:{", room, "}:log"), cat("rc:{", room, "}:p")}),
      "+OK");
  publish_some(10);  // ASK: at the importing server after ASKING
  EXPECT_EQ(dst.query({"CLUSTER", "SETSLOT", s, "NODE", ids_[1]}), "+OK");
  EXPECT_EQ(src.query({"CLUSTER", "SETSLOT", s, "NODE", ids_[1]}), "+OK");
  EXPECT_EQ(redis_[2]->query({"CLUSTER", "SETSLOT", s, "NODE", ids_[1]}), "+OK");
  publish_some(30);  // MOVED: the map follows
  stop = true;
  bg.join();
  const size_t total = static_cast<size_t>(fg_sent + bg_sent.load());
  // The room now lives on server 1, complete.
  EXPECT_EQ(dst.query({"HGET", cat("rc:{", room, "}:m"), "seq"}),
            cat("\"", std::to_string(total), "\""));
  const std::vector<std::string> got_a = read_n(*ma, total);
  const std::vector<std::string> got_b = read_n(*mb, total);
  ASSERT_EQ(got_a.size(), total);
  EXPECT_EQ(got_b, got_a) << "one order on both nodes";
  EXPECT_EQ(std::set<std::string>(got_a.begin(), got_a.end()).size(), total) << "a duplicate";
  // Each publisher's messages in its own order.
  int fg = 0, bgn = 0;
  for (const std::string& m : got_a) {
    if (m.rfind("fg-", 0) == 0) {
      EXPECT_EQ(m, cat("fg-", std::to_string(fg++)));
    } else {
      EXPECT_EQ(m, cat("bg-", std::to_string(bgn++)));
    }
  }
  EXPECT_FALSE(ma->recv_data(300).has_value()) << "more than was published";
  EXPECT_FALSE(mb->recv_data(300).has_value()) << "more than was published";
  // Each node's subscription was dropped by the old owner and made again
  // at the new one, with a resync.
  EXPECT_GE(a.total(obs::Metric::kClusterResyncs), 1u);
  EXPECT_GE(b.total(obs::Metric::kClusterResyncs), 1u);
  // Later publishes and members keep working at the new owner.
  auto late = member(a, cat("/ws/", room));
  const Published p = api.publish(room, "after");
  EXPECT_EQ(p.seq, total + 1);
  EXPECT_EQ(read_n(*ma, 1), std::vector<std::string>{"after"});
  EXPECT_EQ(read_n(*mb, 1), std::vector<std::string>{"after"});
  EXPECT_EQ(read_n(*late, 1), std::vector<std::string>{"after"});
}

}  // namespace
}  // namespace ringchat::testing
