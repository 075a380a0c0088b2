#pragma once
// Private to the chat module: chat::Cluster over Redis, for one shard.
#include <cstdint>
#include <deque>
#include <random>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "ringchat/chat/cluster.h"
#include "ringchat/chat/rooms.h"
#include "ringchat/obs/metrics.h"
#include "ringchat/redis/link.h"

namespace ringchat::chat {

struct RedisClusterConfig {
  redis::Endpoint endpoint;
  uint32_t node = 0;      // this process, in the records it publishes
  size_t history = 1000;  // each room's stream keeps this many (--history)
  uint64_t seed = 0;      // epochs of new rooms, backoff jitter
  uint32_t reply_timeout_ms = 5000;
  // How often this node says it is alive, and how long that lasts: a node
  // silent that long takes its members out of presence.
  uint32_t heartbeat_ms = 2000;
  uint32_t node_ttl_ms = 10000;
};

// One shard's side of cluster mode: two connections to Redis on the
// shard's io_uring (redis::Link), one for commands and one subscribed to
// the channels of the rooms the shard watches. docs/CLUSTER.md has the
// data layout; in short (cluster_codec.h):
//   publish: EVALSHA of the publish script: the room's epoch (made if the
//            room has none), HINCRBY of its seq, XADD to its stream capped
//            at --history, PUBLISH on its channel; answers [epoch, seq].
//   watch:   SUBSCRIBE to the room's channel; once confirmed, EVALSHA of the
//            sync script: [epoch, seq, the stream entries asked for].
//   fetch:   XRANGE of the room's stream.
//   member:  EVALSHA of the presence script: HSET or HDEL of the member in
//            the room's presence hash, PUBLISH of the change (with the
//            room's member count) on its channel.
//   members: HGETALL of the presence hash and ZRANGEBYSCORE of the live
//            nodes (each shard ZADDs its node every heartbeat_ms, alive for
//            node_ttl_ms); a dead node's members are left out, and removed.
// Everything a turn asks goes out in one send per connection (flush()).
// The cluster is up while both connections are; when either goes down,
// every command without its answer fails (publishes refused, fetches not
// ok), the subscriptions are dropped, and Events::cluster_down() is told;
// when both are up again, Events::cluster_up().
// Thread: the shard's.
class RedisCluster final : public Cluster {
 public:
  RedisCluster(redis::Dispatcher& d, const RedisClusterConfig& c, obs::ShardMetrics& metrics);
  RedisCluster(const RedisCluster&) = delete;
  RedisCluster& operator=(const RedisCluster&) = delete;

  // Before start(). `events` outlives the cluster.
  void attach(Cluster::Events& events) { events_ = &events; }
  void start();
  // No more callbacks; the dispatcher goes idle once the sockets' ops end.
  void stop();

  // Cluster
  bool up() const override { return up_; }
  void publish(const PublishMsg& m) override;
  void watch(std::string_view room, uint64_t epoch, uint64_t after, uint32_t limit) override;
  void unwatch(std::string_view room) override;
  void fetch(std::string_view room, uint64_t after, uint64_t upto, uint64_t token) override;
  void member(std::string_view room, const Present& who, bool here, bool quiet) override;
  void members(std::string_view room, uint64_t token) override;
  // Each loop turn: the heartbeat, when due.
  void tick(uint64_t unix_ms);

  // The Lua scripts, as loaded (tests read them).
  static const char* publish_script();
  static const char* sync_script();
  static const char* presence_script();

 private:
  class Side final : public redis::Link::Handler {
   public:
    Side(RedisCluster& c, bool subscriber) : cluster_(c), subscriber_(subscriber) {}
    void on_up() override { cluster_.link_up(); }
    void on_reply(const redis::Reply& r) override {
      subscriber_ ? cluster_.on_push(r) : cluster_.on_answer(r);
    }
    void on_down(size_t) override { cluster_.link_down(); }

   private:
    RedisCluster& cluster_;
    bool subscriber_;
  };
  // What the next answer on the command connection is for.
  struct Pending {
    // kMembers and kNodes: the two answers of one members() (its token).
    enum class What : uint8_t { kPublish, kSync, kFetch, kMembers, kNodes, kIgnore } what;
    Publisher publisher;  // kPublish
    std::string room;     // kSync, kFetch
    uint64_t token = 0;   // kFetch, kMembers, kNodes
  };
  // A room watched: subscribed (or subscribing), and the sync to run then.
  struct Watch {
    uint64_t epoch = 0;
    uint64_t after = 0;
    uint32_t limit = 0;
    bool subscribed = false;
  };

  void link_up();
  void link_down();
  void on_answer(const redis::Reply& r);
  void on_push(const redis::Reply& r);
  void sync(std::string_view room, const Watch& w);
  void answer_sync(const std::string& room, const redis::Reply& r);
  void answer_members(const Pending& p, const redis::Reply& r);
  // Decodes stream entries [[id, [field, record]], ...] into `out`.
  void entries(const redis::Reply& r, std::vector<ClusterRecord>* out);
  std::string candidate_epoch();

  RedisClusterConfig cfg_;
  obs::ShardMetrics& metrics_;
  Cluster::Events* events_ = nullptr;
  Side cmd_side_{*this, false};
  Side sub_side_{*this, true};
  redis::Link cmd_;
  redis::Link sub_;
  bool up_ = false;
  std::mt19937_64 rng_;
  std::deque<Pending> pending_;
  std::unordered_map<std::string, Watch, NameHash, std::equal_to<>> watches_;
  std::string history_text_;  // cfg_.history, as the publish script takes it
  uint64_t bad_records_ = 0;
  uint64_t next_beat_ms_ = 0;
  // members(): the room's presence hash, until the live nodes come.
  std::unordered_map<uint64_t, std::vector<Present>> members_;
};

}  // namespace ringchat::chat
