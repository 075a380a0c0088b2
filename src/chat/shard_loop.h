#pragma once
// Private to the chat module: a shard's parts and its turn.
#include <cstdint>
#include <string>
#include <vector>

#include "front.h"
#include "http_front.h"
#include "json_socket.h"
#include "members.h"
#include "raw_room.h"
#include "redis_cluster.h"
#include "ringchat/chat/room_service.h"
#include "ringchat/chat/shard.h"
#include "ringchat/core/event_loop.h"
#include "ringchat/net/acceptor.h"
#include "ringchat/net/conn_io.h"
#include "ringchat/net/conn_table.h"
#include "ringchat/tls/transport.h"
#include "session.h"
#include "shard_stats.h"
#include "sse.h"

namespace ringchat::chat {

// One shard: builds and owns its parts and runs their turn.
//   core::EventLoop   the ring, the timer wheel, completions by op
//   net::Acceptor     Op::kAccept: the listeners (plain, TLS), peers' addresses
//   tls::TlsTransport the TLS port's connections' transport
//   net::ConnTable    Op::kRecv/kSend/kShutdown: connections, output budget
//   Front             the table's handler: HttpFront, then RawRoom
//   RoomService       rooms; its Host is this loop (mail) and RawRoom
// A turn (core::TurnHooks): timers and completions, settle() after each
// event; then the goodbyes due (draining), the mailboxes, the connections'
// end of turn (one send each), and the outbox with its doorbells.
// The drain (Op::kStop): the listeners close, HTTP connections between
// requests close, and the WebSockets and event streams are told goodbye
// (with a reconnect hint) in a shuffled order, in batches paced over the
// drain window (DrainPlan); until its turn, a connection works as before.
// The loop ends once every shard's connections are gone, or at the drain
// deadline.
// Thread: built by the control thread; init() and run() on the shard's own.
class ShardLoop final : public core::TurnHooks,
                        public core::CompletionHandler,
                        public RoomService::Host {
 public:
  ShardLoop(unsigned id, Shared& shared);
  ~ShardLoop() override;
  Result<void, std::string> init();
  void run();

 private:
  // core::TurnHooks
  void on_timer(core::TimerNode& node) override;
  void after_event() override { conns_.settle(); }
  void end_turn() override;
  int64_t before_sleep(int64_t timeout_ms) override;
  void woke() override;
  bool finished() override;
  void turned(unsigned submitted, int64_t lag_ns) override;
  // Op::kStop: the control thread asks for a drain.
  void on_completion(const io_uring_cqe* cqe, core::Tag tag) override;
  // RoomService::Host
  void post(unsigned shard, const MailMsg& m) override { outbox_.post(shard, m); }
  void deliver(std::span<const uint32_t> members, const Sequenced& msg) override {
    members_.deliver(members, msg);
  }
  void confirmed(std::span<const uint32_t> members) override { members_.confirmed(members); }
  void moved(uint32_t member, const LocalRoom* room, uint32_t index) override {
    members_.moved(member, room, index);
  }
  void acked(uint32_t slot, uint32_t token, uint64_t epoch, uint64_t seq) override;
  void history(uint32_t member, const HistoryBatch& batch) override {
    members_.history(member, batch);
  }
  void answered(uint32_t slot, uint32_t token, const HistoryBatch& batch) override;
  std::string_view user_of(uint32_t slot) override { return ctx_.user_of(conns_.conn(slot)); }
  void refused(uint32_t slot, uint32_t gen, uint32_t token, bool maybe_applied) override;

  void drain_mail();
  void ring_doorbell(unsigned to);
  void begin_drain();
  // Says the goodbyes that are due by now.
  void say_goodbyes();
  void goodbye(net::Conn& c);
  // The drain's wait for the turn: until the next batch, or for the other
  // shards (polled), or the deadline.
  int64_t drain_sleep(int64_t timeout);
  int64_t trim_before_sleep(int64_t timeout);
  // Stops the connections to Redis; true once the kernel is done with them.
  bool let_redis_go();

  unsigned id_;
  Shared& shared_;
  const ShardConfig& cfg_;
  obs::ShardMetrics& metrics_;
  core::EventLoop loop_;
  net::ReactorIo io_;
  std::unique_ptr<tls::TlsTransport> tls_;  // with config.tls
  net::ConnTable conns_;
  SessionTable sessions_;
  Outbox outbox_;
  RoomService rooms_;
  ShardContext ctx_;
  Front front_;
  Members members_;
  RawRoom raw_room_;
  JsonSocket json_;
  SseStream sse_;
  HttpFront http_;
  net::Acceptor acceptor_;
  // Cluster mode: the shard's connections to Redis (made in init()).
  std::unique_ptr<redis::Dispatcher> redis_io_;
  std::unique_ptr<RedisCluster> cluster_;
  ShardStats stats_{ctx_};
  uint64_t drain_deadline_ms_ = 0;
  // The WebSockets and streams to tell goodbye, in order; the first
  // `said_` are done.
  struct Goodbye {
    uint32_t slot;
    uint32_t gen;  // a connection closed meanwhile is skipped
  };
  std::vector<Goodbye> goodbyes_;
  size_t said_ = 0;
  bool drained_ = false;  // counted in Shared::shards_drained
  uint64_t last_trim_ms_ = 0;
  uint64_t last_tick_ms_ = 0;
  bool freed_since_trim_ = false;  // worth giving memory back when idle
};

}  // namespace ringchat::chat
