#pragma once
// Private to the chat module: chat::Cluster over Redis, for one shard.
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "ringchat/chat/cluster.h"
#include "ringchat/chat/rooms.h"
#include "ringchat/obs/metrics.h"
#include "ringchat/redis/link.h"
#include "ringchat/redis/slots.h"

namespace ringchat::chat {

struct RedisClusterConfig {
  redis::Endpoint endpoint;            // one Redis (--redis)
  std::vector<redis::Endpoint> seeds;  // or a Redis Cluster (--redis-cluster): `endpoint` unused
  uint32_t node = 0;                   // this process, in the records it publishes
  size_t history = 1000;               // each room's stream keeps this many (--history)
  uint64_t seed = 0;                   // epochs of new rooms, backoff jitter
  uint32_t reply_timeout_ms = 5000;
  // How often this node says it is alive, and how long that lasts: a node
  // silent that long takes its members out of presence.
  uint32_t heartbeat_ms = 2000;
  uint32_t node_ttl_ms = 10000;
};

// One shard's side of cluster mode: connections to Redis on the shard's
// io_uring (redis::Link), per Redis server one for commands and one
// subscribed to the channels of the rooms the shard watches there. With
// one Redis (--redis) that is one server; with a Redis Cluster (seeds) it
// is every master of the slot map. docs/CLUSTER.md has the data layout; in
// short (cluster_codec.h):
//   publish: EVALSHA of the publish script: the room's epoch (made if the
//            room has none), HINCRBY of its seq, XADD to its stream capped
//            at --history, PUBLISH (Redis Cluster: SPUBLISH) on its
//            channel; answers [epoch, seq].
//   watch:   SUBSCRIBE (SSUBSCRIBE) to the room's channel; once confirmed,
//            EVALSHA of the sync script: [epoch, seq, the stream entries
//            asked for].
//   fetch:   XRANGE of the room's stream.
//   member:  EVALSHA of the presence script: HSET or HDEL of the member in
//            the room's presence hash, PUBLISH (SPUBLISH) of the change, with
//            the room's member count, on its channel (a leave only if the
//            HDEL removed it).
//   members: HGETALL of the presence hash and ZRANGEBYSCORE of the live
//            nodes (each shard ZADDs its node every heartbeat_ms, alive for
//            node_ttl_ms); a dead node's members are left out, and leave
//            through the presence script.
//   heartbeat: that ZADD, and ZRANGEBYSCORE of the nodes dead in the last
//            hour; a node newly among them has its members of the rooms
//            watched here leave (members' reaping, nobody answered).
// Every command for a room goes through command_for(room), which picks the
// server: the one Redis, or the master owning the room's slot (the room is
// its keys' hash tag, so one slot holds all of a room). The slot map comes
// from CLUSTER SLOTS when the first connection is up (and again after any
// connection went down); "MOVED slot host:port" updates it for that slot
// and sends the command again at the new owner (a command refused with
// MOVED was not applied); "ASK" sends ASKING and the command there once;
// TRYAGAIN, CLUSTERDOWN and LOADING send it again after a short wait. A
// master found by MOVED gets its connections then; commands for it wait
// (up to reply_timeout_ms) until they are up. When a room's slot moves
// away, Redis unsubscribes its channel (an unasked "sunsubscribe"): the
// watch is dropped and Events::watch_lost() lets the room watch again,
// at the new owner, and resync.
// Everything a turn asks goes out in one send per connection (flush()).
// The cluster is up while the slot map is known and every connection to
// every master in it is up; when any goes down (one Redis or one master:
// the whole cluster, by choice), every command without its answer fails
// (publishes refused, fetches not ok), the subscriptions are dropped, and
// Events::cluster_down() is told; when all are up again,
// Events::cluster_up().
// Thread: the shard's.
class RedisCluster final : public Cluster {
 public:
  RedisCluster(redis::Dispatcher& d, const RedisClusterConfig& c, obs::ShardMetrics& metrics);
  RedisCluster(const RedisCluster&) = delete;
  RedisCluster& operator=(const RedisCluster&) = delete;
  ~RedisCluster() override;

  // Before start(). `events` outlives the cluster.
  void attach(Cluster::Events& events) { events_ = &events; }
  void start();
  // No more callbacks; the dispatcher goes idle once the sockets' ops end.
  void stop();
  // This node's heartbeat, and commands waiting for a retry or for a new
  // master: the loop calls it every turn (before the dispatcher's flush),
  // and sleeps at most next_due_ms().
  void tick(uint64_t now_ms);
  std::optional<uint64_t> next_due_ms(uint64_t now_ms) const;

  // Cluster
  bool up() const override { return up_; }
  void publish(const PublishMsg& m) override;
  void watch(std::string_view room, uint64_t epoch, uint64_t after, uint32_t limit) override;
  void unwatch(std::string_view room) override;
  void fetch(std::string_view room, uint64_t after, uint64_t upto, uint64_t token) override;
  void member(std::string_view room, const Present& who, bool here, bool quiet) override;
  void members(std::string_view room, uint64_t token) override;

  // The master the room's commands go to now ("host:port"), empty when
  // none is known (tests).
  std::string server_of(std::string_view room) const;

 private:
  struct Node;
  class Side final : public redis::Link::Handler {
   public:
    Side(RedisCluster& c, Node& n, bool subscriber)
        : cluster_(c), node_(n), subscriber_(subscriber) {}
    void on_up() override { cluster_.link_up(node_, subscriber_); }
    void on_reply(const redis::Reply& r) override {
      subscriber_ ? cluster_.on_push(node_, r) : cluster_.on_answer(node_, r);
    }
    void on_down(size_t) override { cluster_.link_down(node_); }

   private:
    RedisCluster& cluster_;
    Node& node_;
    bool subscriber_;
  };
  // What an answer on a command connection is for.
  struct Pending {
    // kMembers and kNodes: the two answers of one members() (its token),
    // in either order (in a Redis Cluster they come from two masters).
    // kDead: the nodes whose heartbeat ran out (heartbeat()).
    enum class What : uint8_t {
      kPublish,
      kSync,
      kFetch,
      kSlots,
      kMembers,
      kNodes,
      kDead,
      kIgnore
    } what;
    Publisher publisher;  // kPublish
    std::string room;     // all but kSlots and kIgnore
    uint64_t token = 0;   // kFetch, kMembers, kNodes
    // Redis Cluster: the command, to send again after a redirection.
    std::vector<std::string> argv;
    uint8_t tries = 0;      // redirections and retries so far
    uint64_t since_ms = 0;  // waiting: since when
    uint16_t slot = 0;      // Redis Cluster: where it goes (command_at)
    bool sent = false;      // went out, no answer yet: if it fails, it may have been applied
  };
  // A subscriber connection's (un)subscribe, for its reply.
  struct SubPending {
    std::string room;
    bool subscribe;
  };
  // One Redis server: the one Redis, or a master of the Redis Cluster.
  struct Node {
    Node(RedisCluster& c, redis::Dispatcher& d, const redis::Endpoint& ep, redis::NodeAddr a,
         uint64_t seed);
    redis::NodeAddr addr;
    Side cmd_side, sub_side;
    redis::Link cmd, sub;
    std::deque<Pending> pending;           // answers due on cmd, in order
    std::deque<Pending> waiting;           // for when cmd is up
    std::deque<SubPending> sub_pending;    // replies due on sub, in order
    std::vector<std::string> sub_waiting;  // rooms to subscribe when sub is up
  };
  // A room watched: subscribed (or subscribing) at `node`, and the sync to
  // run then.
  struct Watch {
    uint64_t epoch = 0;
    uint64_t after = 0;
    uint32_t limit = 0;
    bool subscribed = false;
    Node* node = nullptr;
  };

  bool sharded() const { return !cfg_.seeds.empty(); }
  // How the scripts broadcast on a room's channel: sharded pub/sub in a
  // Redis Cluster.
  const char* publish_command() const { return sharded() ? "SPUBLISH" : "PUBLISH"; }
  void link_up(Node& n, bool subscriber);
  void link_down(Node& n);
  // A master of the slot map (a seed may be none: a replica, or another
  // name of a master).
  bool in_map(const Node& n) const;
  void try_up();
  void on_answer(Node& n, const redis::Reply& r);
  void on_push(Node& n, const redis::Reply& r);
  // The server of a room's commands and subscription, or of a slot's (never
  // null once the slot map is known).
  Node* node_for(std::string_view room);
  Node* node_for_slot(uint16_t slot);
  Node& node_at(const redis::NodeAddr& a);
  // THE way a room's command goes out: to node_for(room). A command on a
  // key that is no room's (say, a per-node key) goes by the key's slot:
  // command_for_key. Either way MOVED, ASK and retries follow it.
  void command_for(std::string_view room, std::initializer_list<std::string_view> argv, Pending p);
  void command_for_key(std::string_view key, std::initializer_list<std::string_view> argv,
                       Pending p);
  void command_at(uint16_t slot, std::span<const std::string_view> argv, Pending p);
  void send(Node& n, std::span<const std::string_view> argv, Pending p);
  void resend(Node& n, Pending p);
  bool redirected(Node& n, Pending& p, const redis::Reply& r);
  void fail(const Pending& p);
  void ask_slots();
  void subscribe(std::string_view room, Watch& w);
  void sync(std::string_view room, const Watch& w);
  void answer_sync(const std::string& room, const redis::Reply& r);
  // Asks for room's subscription or sync again in a while: Redis refused it.
  void rewatch_later(std::string_view room);
  void answer_members(const Pending& p, const redis::Reply& r);
  // members()'s two questions. A token with kReapToken is answer_dead()'s:
  // only to remove (and announce the leave of) the members of dead nodes,
  // nobody is answered.
  void ask_members(std::string_view room, uint64_t token);
  static bool reaping(uint64_t token) { return (token & kReapToken) != 0; }
  void answer_dead(const redis::Reply& r);
  void heartbeat();
  // Decodes stream entries [[id, [field, record]], ...] into `out`.
  void entries(const redis::Reply& r, std::vector<ClusterRecord>* out);
  std::string candidate_epoch();

  redis::Dispatcher& dispatcher_;
  RedisClusterConfig cfg_;
  obs::ShardMetrics& metrics_;
  Cluster::Events* events_ = nullptr;
  std::vector<std::unique_ptr<Node>> nodes_;  // [0]: the one Redis, or the first seed
  std::unordered_map<std::string, Node*> by_addr_;
  redis::SlotMap map_;
  bool map_known_ = false;
  bool slots_asked_ = false;
  uint64_t slots_retry_ms_ = 0;                       // ask CLUSTER SLOTS again then (0: not due)
  std::deque<std::pair<uint64_t, Pending>> retries_;  // (due, command)
  // (due, room): a subscription or sync Redis refused (an ACL without the
  // channel, a script error), asked again until it is taken.
  std::deque<std::pair<uint64_t, std::string>> rewatches_;
  std::string publish_sha_, sync_sha_, presence_sha_;
  uint64_t next_beat_ms_ = 0;  // monotonic
  // members(): its two answers, until both are in.
  struct Members {
    std::vector<Present> all;
    std::vector<uint32_t> live;
    bool have_all = false, have_live = false;
  };
  // The bit of answer_dead()'s ask_members() tokens (RoomService's never
  // have it).
  static constexpr uint64_t kReapToken = uint64_t{1} << 63;
  uint64_t reaps_ = 0;
  std::unordered_set<uint32_t> dead_;  // nodes whose heartbeat ran out, as last seen
  std::unordered_map<uint64_t, Members> members_;
  bool up_ = false;
  std::mt19937_64 rng_;
  std::unordered_map<std::string, Watch, NameHash, std::equal_to<>> watches_;
  std::string history_text_;  // cfg_.history, as the publish script takes it
  uint64_t bad_records_ = 0;
};

}  // namespace ringchat::chat
