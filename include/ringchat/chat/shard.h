#pragma once
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ringchat/auth/conn_limiter.h"
#include "ringchat/auth/gate.h"
#include "ringchat/chat/mail.h"
#include "ringchat/chat/stats.h"
#include "ringchat/core/errc.h"
#include "ringchat/core/result.h"
#include "ringchat/obs/metrics.h"
#include "ringchat/redis/url.h"
#include "ringchat/tls/context.h"

namespace ringchat::chat {

// What the shards need of the configuration. Thread: immutable once shards start.
struct ShardConfig {
  std::string bind = "0.0.0.0";
  uint16_t port = 8080;
  unsigned shards = 1;
  size_t max_message = 1 << 20;
  uint32_t max_fragments = 1024;  // frames one WebSocket message may arrive in
  size_t max_header = 8192;
  size_t max_header_fields = 100;  // headers and trailers of one request
  uint32_t ping_interval_ms = 25000;
  uint32_t handshake_timeout_ms = 10000;
  uint32_t close_timeout_ms = 2000;  // lingering close: wait this long for the peer's FIN
  uint32_t drain_timeout_ms = 10000;
  // Output budget. A connection whose unsent bytes, not counting the frame
  // being queued, exceed max_backlog is a slow consumer (1008): a client that
  // keeps up is always admitted one whole message. A shard whose connections
  // hold more than max_shard_backlog unsent bytes closes its biggest
  // consumers first until it is back under.
  size_t max_backlog = 8 << 20;
  size_t max_shard_backlog = 256 << 20;
  // History the room owners keep: per room (--history, --history-bytes),
  // and in all (--history-total, split evenly among the shards); a room with
  // no member is forgotten --room-ttl after its last activity.
  size_t history = 1000;
  size_t history_bytes = 1 << 20;
  size_t history_total = 256 << 20;  // app sets 25% of RAM unless given
  uint64_t room_ttl_ms = 600'000;
  // Join the listening sockets of a server already on this port (rolling
  // restart); otherwise a port in use is an error at start.
  bool reuse_port = false;
  bool echo = true;
  size_t max_rooms_per_conn = 100;    // a JSON socket's rooms
  size_t presence_events_max = 100;   // rooms up to this many members hear joins and leaves
  uint32_t sse_heartbeat_ms = 15000;  // a comment on every event stream this often
  // Who may connect how often (--max-conns, --max-conns-per-ip, --conn-rate,
  // --conn-burst, --limit-loopback), checked as each connection is accepted.
  auth::ConnLimits conn_limits{
      .max_conns = 0, .max_conns_per_ip = 1000, .conn_rate = 50, .conn_burst = 100};
  // Messages per second one connection may publish, and at once (a token
  // bucket); 0: no limit.
  uint32_t pub_rate = 100;
  uint32_t pub_burst = 200;
  // Who may come in and what they may do (--jwt-*, --allow-anonymous,
  // --api-key, --origins); no verifier: everyone, everything.
  auth::GateConfig gate;
  // TLS (--tls-cert, --tls-key, --tls-ciphers): with a context, every shard
  // also listens on tls_port; `plain` false (--no-plain): on that one only.
  std::shared_ptr<const tls::ServerContext> tls;
  uint16_t tls_port = 8443;
  bool plain = true;
  // Cluster mode (--redis): Redis orders every room, and every node that
  // shares it serves the same rooms (chat/cluster.h); unset: one node.
  std::optional<redis::Endpoint> redis;
  // Or over a Redis Cluster (--redis-cluster): its seed nodes (every
  // master is found from them); exclusive with `redis`.
  std::vector<redis::Endpoint> redis_cluster;
  bool clustered() const { return redis.has_value() || !redis_cluster.empty(); }
  uint32_t redis_linger_ms = 5000;   // a room with no member here stays watched this long
  uint32_t redis_timeout_ms = 5000;  // no answer from Redis that long: it is down
  uint32_t node_id = 0;              // this process among the nodes (app: random)
  int rcvbuf = 0;
  int sndbuf = 0;
  unsigned max_connections_per_shard = 16384;  // direct-descriptor table size
  std::vector<int> cpus;                       // shard i runs on cpus[i % size]; empty: unpinned
  // GET /stats tells it as it is: a JSON object whose members (build,
  // config, doctor) app puts together at start; empty: they are null.
  std::string about;
};

// State every shard shares. Thread: any; built before shards start.
// What the process allocator offers (app/allocator.h), set by main before
// the shards start; null members: nothing to do.
struct AllocatorHooks {
  // Gives the calling thread's freed memory back to the OS. Each shard calls
  // it on its own thread when it goes idle after freeing.
  void (*trim)() = nullptr;
  // Appends the allocator's families to a /metrics exposition. Thread: any.
  void (*metrics)(std::string& out) = nullptr;
};

struct Shared {
  explicit Shared(const ShardConfig& c)
      : config(c),
        mail(c.shards),
        metrics(c.shards),
        limiter(c.conn_limits),
        gate(c.gate),
        tls(c.tls),
        stats(c.shards),
        ring_fds(c.shards) {
    for (auto& fd : ring_fds) fd.store(-1);
  }
  const ShardConfig config;
  Mailboxes mail;
  obs::Registry metrics;
  auth::ConnLimiter limiter;                // connections of every shard, by address
  const auth::Gate gate;                    // credentials of requests
  tls::ContextSlot tls;                     // config.tls, until a reload
  StatsBoard stats;                         // GET /stats: the shards' hottest rooms, ...
  std::vector<std::atomic<int>> ring_fds;   // for MSG_RING doorbells
  std::atomic<uint16_t> bound_port{0};      // the real port when config.port is 0
  std::atomic<uint16_t> bound_tls_port{0};  // the same for config.tls_port
  // The drain ends together: a shard whose own connections are gone keeps
  // serving the rooms it owns (other shards' clients still publish to them)
  // until every shard that started has let its connections go, or the drain
  // deadline passes.
  std::atomic<unsigned> shards_started{0};  // init() succeeded
  std::atomic<unsigned> shards_drained{0};  // draining, and no connection left
  AllocatorHooks allocator;
  // /metrics: every shard's metrics, the mailboxes, the process, the
  // allocator. Thread: any.
  std::string prometheus() const;
};

class ShardLoop;

// One thread, one io_uring, one listener; its connections and its rooms.
// Thread: created by the control thread; run() on its own thread only.
class Shard {
 public:
  Shard(unsigned id, Shared& shared);
  ~Shard();
  Shard(const Shard&) = delete;
  Shard& operator=(const Shard&) = delete;

  // On the shard's own thread: ring, buffers, listener. Publishes the ring fd.
  Result<void, std::string> init();
  // Runs the loop until a stop request has drained every connection.
  void run();

 private:
  std::unique_ptr<ShardLoop> loop_;
};

}  // namespace ringchat::chat
