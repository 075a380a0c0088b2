// A shard: its parts wired together, its turn, the mail between shards, and
// the drain.
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "ringchat/auth/verifier.h"
#include "ringchat/obs/log.h"
#include "shard_loop.h"

namespace ringchat::chat {

using core::Op;
using obs::Metric;

namespace {
constexpr uint64_t kTrimIntervalMs = 1000;
constexpr uint64_t kRoomTickMs = 1000;  // rooms' TTL sweep

HistoryConfig history_config(const ShardConfig& c) {
  HistoryConfig h;
  h.per_room.max_messages = c.history;
  h.per_room.max_bytes = c.history_bytes;
  h.shard_total = c.history_total / c.shards;
  h.room_ttl_ms = c.room_ttl_ms;
  h.presence_events_max = c.presence_events_max;
  if (c.clustered()) {
    // Redis keeps the history; a room here is a cache while it is watched.
    h.follows = true;
    h.room_ttl_ms = c.redis_linger_ms;
  }
  return h;
}

net::ConnTableConfig table_config(const ShardConfig& c) {
  net::ConnTableConfig t;
  t.max_conns = c.max_connections_per_shard;
  t.max_backlog = c.max_backlog;
  t.max_shard_backlog = c.max_shard_backlog;
  t.close_timeout_ms = c.close_timeout_ms;
  return t;
}
// A kernel without an op the shards submit would fail them one by one, at
// run time: refuse to start, naming them (`ringchat doctor` says the same).
Result<void, std::string> require_ops(core::Reactor& reactor) {
  const auto missing = reactor.missing_ops();
  if (missing.empty()) return {};
  std::string names;
  for (const core::RingOp& op : missing) {
    names += (names.empty() ? "" : ", ") + std::string(op.name) + " (Linux " + op.since + ")";
  }
  return Err("this kernel's io_uring lacks " + names + "; see `ringchat doctor`");
}

}  // namespace

std::string Shared::prometheus() const {
  std::string out;
  out.reserve(64 << 10);
  metrics.prometheus(out);
  const unsigned n = mail.shards();
  auto pairs = [&](const char* name, const char* help, auto&& value) {
    if (n < 2) return;
    obs::append_family(out, name, "gauge", help);
    for (unsigned from = 0; from < n; ++from) {
      for (unsigned to = 0; to < n; ++to) {
        if (from == to) continue;
        const std::string labels =
            "from=\"" + std::to_string(from) + "\",to=\"" + std::to_string(to) + "\"";
        obs::append_sample(out, name, labels, static_cast<double>(value(from, to)));
      }
    }
  };
  pairs("ringchat_mailbox_depth", "Messages in the SPSC ring from one shard to another",
        [&](unsigned from, unsigned to) { return mail.ring(from, to).size_approx(); });
  pairs("ringchat_mailbox_waiting",
        "Messages for another shard waiting in the sender's overflow queue (its ring was full)",
        [&](unsigned from, unsigned to) { return mail.waiting(from, to); });
  obs::append_process_metrics(out);
  if (allocator.metrics) allocator.metrics(out);
  return out;
}

Shard::Shard(unsigned id, Shared& shared) : loop_(std::make_unique<ShardLoop>(id, shared)) {}
Shard::~Shard() = default;
Result<void, std::string> Shard::init() { return loop_->init(); }
void Shard::run() {
  loop_->run();
  // What wolfCrypt cached on this thread for ES256 tokens goes with it.
  auth::release_thread_caches();
}

ShardLoop::ShardLoop(unsigned id, Shared& shared)
    : id_(id),
      shared_(shared),
      cfg_(shared.config),
      metrics_(shared.metrics.shard(id)),
      io_(loop_.reactor()),
      conns_(table_config(cfg_), io_, loop_.timers(), front_, metrics_),
      sessions_(cfg_.max_connections_per_shard),
      outbox_(shared.mail, id),
      rooms_(id, cfg_.shards, *this, metrics_,
             0x9e3779b97f4a7c15ULL ^ (uint64_t{id} << 32) ^ static_cast<uint64_t>(getpid()) ^
                 core::monotonic_ms(),
             history_config(cfg_)),
      ctx_{id, shared, cfg_, metrics_, conns_, sessions_, rooms_, outbox_},
      front_(ctx_),
      members_(ctx_),
      raw_room_(ctx_),
      json_(ctx_),
      sse_(ctx_),
      http_(ctx_, raw_room_, json_, sse_),
      acceptor_(loop_.reactor(), conns_, metrics_) {
  front_.set(ProtocolId::kHttp, http_);
  front_.set(ProtocolId::kRawRoom, raw_room_);
  members_.set(ProtocolId::kRawRoom, raw_room_);
  front_.set(ProtocolId::kJson, json_);
  members_.set(ProtocolId::kJson, json_);
  front_.set(ProtocolId::kSse, sse_);
  members_.set(ProtocolId::kSse, sse_);
  loop_.on(Op::kAccept, acceptor_);
  loop_.on(Op::kRecv, conns_);
  loop_.on(Op::kSend, conns_);
  loop_.on(Op::kShutdown, conns_);
  loop_.on(Op::kStop, *this);
}

ShardLoop::~ShardLoop() {
  // Runs after every shard thread has stopped: what is still in the rings
  // addressed to this shard, or in its outbox, is released here.
  for (unsigned from = 0; from < shared_.mail.shards(); ++from) {
    shared_.mail.ring(from, id_).drain(SIZE_MAX, [](const MailMsg& m) { release(m); });
  }
  outbox_.release_all([](const MailMsg& m) { release(m); });
}

Result<void, std::string> ShardLoop::init() {
  obs::set_thread_shard(static_cast<int>(id_));
  metrics_.turned(core::monotonic_ms());  // /healthz: alive from here
  core::ReactorOptions opts;
  opts.fixed_files = cfg_.max_connections_per_shard;
  std::string how;
  if (auto r = loop_.init(opts, &how); !r) return r;
  // One kernel for every shard: the first reports on it.
  if (id_ == 0) {
    RC_INFO("io_uring mode: %s", how.c_str());
    if (auto r = require_ops(loop_.reactor()); !r) return r;
  }
  if (auto r = conns_.init(); !r) return r;
  // The first shard binds; the others join its ports (port 0: the one it got).
  const net::SocketOptions sock{.rcvbuf = cfg_.rcvbuf, .sndbuf = cfg_.sndbuf};
  auto listen = [&](std::atomic<uint16_t>& bound, uint16_t configured,
                    uint8_t transport) -> Result<void, std::string> {
    uint16_t port = bound.load();
    if (port == 0) port = configured;
    uint16_t got = 0;
    if (auto r = acceptor_.listen(cfg_.bind, port, sock, &got, transport); !r) return r;
    bound.store(got);
    return {};
  };
  if (cfg_.plain) {
    if (auto r = listen(shared_.bound_port, cfg_.port, 0); !r) return r;
  }
  if (cfg_.tls) {
    tls_ = std::make_unique<tls::TlsTransport>(shared_.tls, metrics_);
    if (auto r = listen(shared_.bound_tls_port, cfg_.tls_port, conns_.add_transport(*tls_)); !r) {
      return Err("TLS port: " + r.error());
    }
  }
  if (cfg_.clustered()) {
    redis_io_ = std::make_unique<redis::Dispatcher>(loop_);
    RedisClusterConfig rc{
        .endpoint = cfg_.redis.value_or(redis::Endpoint{}),
        .seeds = cfg_.redis_cluster,
        .node = cfg_.node_id,
        .history = cfg_.history,
        .seed = 0x2545F4914F6CDD1DULL ^ (uint64_t{cfg_.node_id} << 16) ^ id_ ^ core::monotonic_ns(),
        .reply_timeout_ms = cfg_.redis_timeout_ms,
        // Presence outlives a node by about two Redis timeouts.
        .heartbeat_ms = std::max(100u, cfg_.redis_timeout_ms / 3),
        .node_ttl_ms = 2 * cfg_.redis_timeout_ms};
    cluster_ = std::make_unique<RedisCluster>(*redis_io_, rc, metrics_);
    cluster_->attach(rooms_);
    rooms_.follow(*cluster_, cfg_.node_id);
    cluster_->start();
  }
  shared_.ring_fds[id_].store(loop_.reactor().ring_fd());
  shared_.shards_started.fetch_add(1);
  return {};
}

void ShardLoop::run() {
  conns_.set_now(core::monotonic_ms());
  last_tick_ms_ = core::monotonic_ms();
  rooms_.tick(last_tick_ms_);  // room activity is timed from here
  acceptor_.start();
  if (!loop_.run(*this)) RC_ERROR("io_uring_enter failed: %s", std::strerror(errno));
  // What the last turn queued goes out before the ring does: the goodbyes
  // of a drain its deadline ended (all of them, with --drain-timeout 0).
  loop_.reactor().submit_and_wait(0);
  RC_INFO("shard stopped: %u connections left", conns_.open_count());
}

void ShardLoop::woke() {
  shared_.mail.woke(id_);
  conns_.set_now(loop_.now_ms());
}

void ShardLoop::turned(unsigned submitted, int64_t lag_ns) {
  metrics_.add(Metric::kLoopTurns);
  metrics_.observe(obs::Hist::kSubmissions, submitted);
  if (lag_ns >= 0) {
    metrics_.observe(obs::Hist::kLoopLag, static_cast<uint64_t>(lag_ns));
    metrics_.turned(loop_.now_ms());  // /healthz: this shard's loop turns
  }
}

void ShardLoop::on_timer(core::TimerNode& node) { conns_.on_timer(static_cast<net::Conn&>(node)); }

void ShardLoop::end_turn() {
  if (ctx_.draining()) say_goodbyes();
  if (loop_.now_ms() - last_tick_ms_ >= kRoomTickMs) {
    last_tick_ms_ = loop_.now_ms();
    rooms_.tick(last_tick_ms_);
  }
  drain_mail();
  if (redis_io_) {
    cluster_->tick(loop_.now_ms());  // heartbeat, retries, redirections: before the flush
    redis_io_->tick(loop_.now_ms());
    redis_io_->flush();  // what this turn asked of Redis, in one send per connection
  }
  conns_.end_turn();
  if (!ctx_.delivered.empty()) {
    // The sends of this turn were just prepared; they are submitted next.
    const uint64_t now = core::monotonic_ns();
    for (const auto& [created, members] : ctx_.delivered) {
      metrics_.observe(obs::Hist::kPublishToSend, now > created ? now - created : 0, members);
    }
    ctx_.delivered.clear();
  }
  outbox_.flush([this](unsigned to) { ring_doorbell(to); });
  freed_since_trim_ |= conns_.take_freed();
  metrics_.set(Metric::kSendQueuedBytes, conns_.budget().held_bytes);
  metrics_.set(Metric::kSendQueuedPeak, conns_.budget().peak_bytes);
  metrics_.set(Metric::kConnsOverHalf, conns_.over_half_backlog());
  stats_.end_turn(loop_.now_ms());
}

int64_t ShardLoop::before_sleep(int64_t timeout) {
  // Mail a full ring refused is retried soon. (Receives ended by -ENOBUFS
  // were re-armed this turn: every buffer is recycled as soon as it is read.)
  // Otherwise sleep until the next timer, or forever.
  if (outbox_.has_backlog()) return 1;
  if (ctx_.draining()) timeout = drain_sleep(timeout);
  if (redis_io_ && timeout != 0) {
    if (auto due = redis_io_->next_due_ms(loop_.now_ms())) {
      const auto wait = static_cast<int64_t>(*due);
      if (timeout < 0 || wait < timeout) timeout = wait;
    }
    if (auto due = cluster_->next_due_ms(loop_.now_ms())) {
      const auto wait = static_cast<int64_t>(*due);
      if (timeout < 0 || wait < timeout) timeout = wait;
    }
  }
  if (timeout != 0) timeout = trim_before_sleep(timeout);
  if (timeout != 0 && !shared_.mail.prepare_sleep(id_)) timeout = 0;
  return timeout;
}

int64_t ShardLoop::trim_before_sleep(int64_t timeout) {
  // Memory freed under load goes back to the OS once the shard goes idle,
  // at most every kTrimIntervalMs (the sleep is cut short to keep that).
  if (!freed_since_trim_ || !shared_.allocator.trim) return timeout;
  const uint64_t now = loop_.now_ms();
  const uint64_t due = last_trim_ms_ + kTrimIntervalMs;
  if (now < due) {
    const auto wait = static_cast<int64_t>(due - now);
    return timeout < 0 || wait < timeout ? wait : timeout;
  }
  shared_.allocator.trim();
  last_trim_ms_ = now;
  freed_since_trim_ = false;
  return timeout;
}

void ShardLoop::acked(uint32_t slot, uint32_t token, uint64_t epoch, uint64_t seq) {
  // The token tells the asking connection apart from a later one on the slot.
  net::Conn& c = conns_.conn(slot);
  if (!c.usable()) return;
  if (c.protocol == static_cast<uint8_t>(ProtocolId::kJson)) {
    return json_.acked(c, sessions_[slot], token, seq);
  }
  if (c.protocol == static_cast<uint8_t>(ProtocolId::kHttp)) http_.acked(slot, token, epoch, seq);
}

void ShardLoop::refused(uint32_t slot, uint32_t gen, uint32_t token, bool maybe_applied) {
  net::Conn& c = conns_.conn(slot);
  if (!c.usable() || c.gen != gen) return;
  switch (static_cast<ProtocolId>(c.protocol)) {
    case ProtocolId::kJson:
      return json_.refused(c, sessions_[slot], token, maybe_applied);
    case ProtocolId::kHttp:
      return http_.refused(slot, token, maybe_applied);
    case ProtocolId::kRawRoom:
      return raw_room_.refused(c);
    default:
      return;
  }
}

void ShardLoop::answered(uint32_t slot, uint32_t token, const HistoryBatch& batch) {
  net::Conn& c = conns_.conn(slot);
  if (!c.usable()) return;
  if (c.protocol == static_cast<uint8_t>(ProtocolId::kJson)) {
    return json_.answered(c, sessions_[slot], token, batch);
  }
  if (c.protocol == static_cast<uint8_t>(ProtocolId::kHttp)) {
    http_.answered(slot, token, batch);
  }
}

void ShardLoop::drain_mail() {
  // A bounded batch per source per turn keeps one busy peer from starving
  // this shard's own connections.
  constexpr size_t kBatch = 1024;
  for (unsigned from = 0; from < cfg_.shards; ++from) {
    if (from == id_) continue;
    shared_.mail.ring(from, id_).drain(kBatch, [&](const MailMsg& m) {
      metrics_.add(Metric::kMailboxIn);
      rooms_.on_mail(from, m);
      conns_.settle();
    });
  }
}

void ShardLoop::ring_doorbell(unsigned to) {
  const int fd = shared_.ring_fds[to].load(std::memory_order_relaxed);
  if (fd < 0) return;
  io_uring_sqe* sqe = loop_.reactor().get_sqe();
  io_uring_prep_msg_ring(sqe, fd, 0, core::pack(Op::kDoorbell, id_, 0), 0);
  sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
  io_uring_sqe_set_data64(sqe, core::pack(Op::kCancel, 0, 0));
}

void ShardLoop::on_completion(const io_uring_cqe*, core::Tag) { begin_drain(); }

void ShardLoop::begin_drain() {
  if (ctx_.draining()) return;
  const uint64_t now = loop_.now_ms();
  drain_deadline_ms_ = now + cfg_.drain_timeout_ms;
  acceptor_.stop();
  // HTTP connections go now, but for requests under way; the others wait
  // their turn.
  conns_.for_each_open([this](net::Conn& c) {
    if (c.protocol == static_cast<uint8_t>(ProtocolId::kHttp)) return;
    goodbyes_.push_back({conns_.slot_of(c), c.gen});
  });
  const uint64_t seed = 0x2545f4914f6cdd1dULL ^ (uint64_t{id_} << 40) ^
                        static_cast<uint64_t>(getpid()) ^ core::monotonic_ms();
  ctx_.drain.emplace(now, cfg_.drain_timeout_ms, goodbyes_.size(), seed);
  ctx_.drain->shuffle(goodbyes_);
  conns_.for_each_open([this](net::Conn& c) {
    if (c.protocol == static_cast<uint8_t>(ProtocolId::kHttp)) http_.drain(c, ctx_.session(c));
  });
  RC_INFO("draining: %zu WebSockets and streams to close in %zu batches over %llu ms",
          goodbyes_.size(), ctx_.drain->batches(),
          static_cast<unsigned long long>(ctx_.drain->window_ms()));
  say_goodbyes();
}

void ShardLoop::say_goodbyes() {
  const size_t due = ctx_.drain->due(loop_.now_ms());
  while (said_ < due) {
    const Goodbye g = goodbyes_[said_++];
    net::Conn* c = conns_.find(g.slot, g.gen);
    if (c && c->usable()) goodbye(*c);
  }
}

void ShardLoop::goodbye(net::Conn& c) {
  switch (static_cast<ProtocolId>(c.protocol)) {
    case ProtocolId::kRawRoom:
      return raw_room_.goodbye(c, ctx_.retry_ms());
    case ProtocolId::kJson:
      return json_.goodbye(c, ctx_.retry_ms());
    case ProtocolId::kSse:
      return sse_.goodbye(c, ctx_.retry_ms());
    default:
      return conns_.close(c);
  }
}

int64_t ShardLoop::drain_sleep(int64_t timeout) {
  // Wake for the next batch, to look whether the other shards are done
  // (kWaitPollMs: they ring no doorbell for it), and at the deadline.
  constexpr uint64_t kWaitPollMs = 10;
  const uint64_t now = loop_.now_ms();
  uint64_t wake = drain_deadline_ms_;
  if (auto next = ctx_.drain->next_batch_ms(now)) wake = std::min(wake, *next);
  if (drained_) wake = std::min(wake, now + kWaitPollMs);
  const int64_t left = wake > now ? static_cast<int64_t>(wake - now) : 0;
  return timeout < 0 || left < timeout ? left : timeout;
}

bool ShardLoop::finished() {
  if (!ctx_.draining()) return false;
  if (loop_.now_ms() >= drain_deadline_ms_)
    return let_redis_go() || loop_.now_ms() >= drain_deadline_ms_ + 1000;
  // No connection left: none is owed a goodbye either.
  if (!drained_ && conns_.open_count() == 0) {
    drained_ = true;
    shared_.shards_drained.fetch_add(1);
  }
  // The rooms this shard owns serve the others' clients until they are done.
  if (!drained_ || shared_.shards_drained.load() < shared_.shards_started.load()) return false;
  return let_redis_go();
}

bool ShardLoop::let_redis_go() {
  if (!cluster_) return true;
  // The sockets' last ops use the links' buffers: the loop runs until the
  // kernel is done with them.
  cluster_->stop();
  return redis_io_->idle();
}

}  // namespace ringchat::chat
