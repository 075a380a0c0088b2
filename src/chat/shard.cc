// The shard loop: one io_uring, multishot accept and recv, batched sends at
// the end of each turn, mailboxes between shards, a timer wheel.
#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <new>
#include <utility>

#include "ringchat/net/listener.h"
#include "ringchat/obs/log.h"
#include "shard_impl.h"

namespace ringchat::chat {

using core::Op;
using core::pack;
using obs::Metric;

namespace {
constexpr uint64_t kTickMs = 50;
constexpr size_t kWheelSlots = 1024;
constexpr unsigned kMaxCqesPerTurn = 4096;
constexpr uint64_t kTrimIntervalMs = 1000;
}  // namespace

Shard::Shard(unsigned id, Shared& shared) : impl_(std::make_unique<ShardImpl>(id, shared)) {}
Shard::~Shard() = default;
Result<void, std::string> Shard::init() { return impl_->init(); }
void Shard::run() { impl_->run(); }

ShardImpl::ShardImpl(unsigned id, Shared& shared)
    : id_(id),
      shared_(shared),
      cfg_(shared.config),
      metrics_(shared.metrics.shard(id)),
      outbox_(shared.mail, id),
      rooms_(id, shared.config.shards, *this, metrics_,
             0x9e3779b97f4a7c15ULL ^ (uint64_t{id} << 32) ^ static_cast<uint64_t>(getpid()) ^
                 core::monotonic_ms()) {}

ShardImpl::~ShardImpl() {
  // Runs after every shard thread has stopped: what is still in the rings
  // addressed to this shard, or in its outbox, is released here.
  for (unsigned from = 0; from < shared_.mail.shards(); ++from) {
    shared_.mail.ring(from, id_).drain(SIZE_MAX, [](const MailMsg& m) { release(m); });
  }
  outbox_.release_all([](const MailMsg& m) { release(m); });
  for (uint32_t i = 0; i < constructed_; ++i) conns_[i].~Conn();
  if (conns_) munmap(conns_, conns_bytes_);
  if (listen_fd_ >= 0) close(listen_fd_);
}

Result<void, std::string> ShardImpl::init() {
  obs::set_thread_shard(static_cast<int>(id_));
  core::ReactorOptions opts;
  opts.fixed_files = cfg_.max_connections_per_shard;
  std::string how;
  auto r = reactor_.init(opts, &how);
  if (!r) {
    return Err(std::string("io_uring setup failed (") + std::string(to_string(r.error())) +
               "): " + std::strerror(errno));
  }
  if (id_ == 0) RC_INFO("io_uring mode: %s", how.c_str());
  max_conns_ = cfg_.max_connections_per_shard;
  // Mapped, not allocated: a slot's pages are touched only once it is used.
  conns_bytes_ = sizeof(Conn) * max_conns_;
  void* mem = mmap(nullptr, conns_bytes_, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (mem == MAP_FAILED) return Err(std::string("mmap connection table failed"));
  conns_ = static_cast<Conn*>(mem);

  uint16_t port = shared_.bound_port.load();
  if (port == 0) port = cfg_.port;
  net::SocketOptions so{cfg_.rcvbuf, cfg_.sndbuf, 4096};
  uint16_t bound = 0;
  auto fd = net::listen_tcp(cfg_.bind, port, so, &bound);
  if (!fd) return Err(fd.error());
  listen_fd_ = *fd;
  shared_.bound_port.store(bound);
  timers_.emplace(kTickMs, kWheelSlots, core::monotonic_ms());
  shared_.ring_fds[id_].store(reactor_.ring_fd());
  return {};
}

void ShardImpl::run() {
  now_ms_ = core::monotonic_ms();
  arm_accept();
  while (!finished()) {
    int64_t timeout = next_timeout();
    if (timeout != 0) timeout = trim_before_sleep(timeout);
    if (timeout != 0 && !shared_.mail.prepare_sleep(id_)) timeout = 0;
    if (!reactor_.submit_and_wait(timeout)) {
      RC_ERROR("io_uring_enter failed: %s", std::strerror(errno));
      break;
    }
    shared_.mail.woke(id_);
    now_ms_ = core::monotonic_ms();
    // First: the wheel measures new delays from its last advance, and the
    // loop may have slept for any length of time.
    timers_->advance(now_ms_, [this](core::TimerNode& n) {
      on_timer(static_cast<Conn&>(n));
      settle();
    });
    reap();
    drain_mail();
    if (!owner_paused_.empty()) resume_paused();
    for (uint32_t slot : rearm_) {
      Conn& c = conn(slot);
      if (c.state != ConnState::kFree && !c.finalizing && !c.recv_armed && !c.paused) {
        arm_recv(slot);
      }
    }
    rearm_.clear();
    flush_sends();
    outbox_.flush([this](unsigned to) { ring_doorbell(to); });
    metrics_.set(Metric::kSendQueuedBytes, budget_.held_bytes);
    metrics_.set(Metric::kSendQueuedPeak, budget_.peak_bytes);
  }
  RC_INFO("shard stopped: %u connections left", open_);
}

int64_t ShardImpl::next_timeout() {
  // Mail a full ring refused is retried soon. (Receives ended by -ENOBUFS
  // were re-armed this turn: every buffer is recycled as soon as it is read.)
  // Otherwise sleep until the next timer, or forever.
  if (outbox_.has_backlog()) return 1;
  auto t = timers_->next_timeout_ms(now_ms_);
  int64_t timeout = t ? static_cast<int64_t>(*t) : -1;
  if (draining_) {
    int64_t left = static_cast<int64_t>(drain_deadline_ms_) - static_cast<int64_t>(now_ms_);
    if (left < 0) left = 0;
    if (timeout < 0 || left < timeout) timeout = left;
  }
  return timeout;
}

int64_t ShardImpl::trim_before_sleep(int64_t timeout) {
  // Memory freed under load goes back to the OS once the shard goes idle,
  // at most every kTrimIntervalMs (the sleep is cut short to keep that).
  if (!freed_since_trim_ || !shared_.trim_memory) return timeout;
  const uint64_t due = last_trim_ms_ + kTrimIntervalMs;
  if (now_ms_ < due) {
    const auto wait = static_cast<int64_t>(due - now_ms_);
    return timeout < 0 || wait < timeout ? wait : timeout;
  }
  shared_.trim_memory();
  last_trim_ms_ = now_ms_;
  freed_since_trim_ = false;
  return timeout;
}

void ShardImpl::reap() {
  io_uring* ring = reactor_.ring();
  io_uring_cqe* cqe;
  unsigned head;
  unsigned n = 0;
  io_uring_for_each_cqe(ring, head, cqe) {
    dispatch(cqe);
    settle();
    if (++n == kMaxCqesPerTurn) break;
  }
  io_uring_cq_advance(ring, n);
}

void ShardImpl::dispatch(const io_uring_cqe* cqe) {
  const core::Tag tag = core::unpack(cqe->user_data);
  switch (tag.op) {
    case Op::kAccept:
      on_accept(cqe);
      return;
    case Op::kDoorbell:
      return;  // the mailboxes are drained every turn
    case Op::kStop:
      begin_drain();
      return;
    case Op::kClose:
    case Op::kCancel:
    case Op::kNone:
      return;
    case Op::kRecv:
    case Op::kSend:
    case Op::kShutdown:
      break;
  }
  if (tag.op == Op::kRecv && (cqe->flags & IORING_CQE_F_BUFFER)) {
    // Whatever happens to the connection, the buffer goes back afterwards.
    const auto bid = static_cast<uint16_t>(cqe->flags >> IORING_CQE_BUFFER_SHIFT);
    Conn* c = tag.slot < constructed_ ? &conn(tag.slot) : nullptr;
    if (c && c->gen == tag.gen && c->state != ConnState::kFree) {
      on_recv(*c, tag.slot, cqe);
    } else {
      metrics_.add(Metric::kStaleCompletions);
    }
    reactor_.recycle(bid);
    return;
  }
  if (tag.slot >= constructed_ || conn(tag.slot).gen != tag.gen ||
      conn(tag.slot).state == ConnState::kFree) {
    metrics_.add(Metric::kStaleCompletions);
    return;
  }
  Conn& c = conn(tag.slot);
  if (tag.op == Op::kRecv) {
    on_recv(c, tag.slot, cqe);
  } else if (tag.op == Op::kSend) {
    on_send(c, cqe);
  } else {
    on_op_done(c);
  }
}

void ShardImpl::arm_accept() {
  if (draining_ || accept_armed_) return;
  io_uring_sqe* sqe = reactor_.get_sqe();
  io_uring_prep_multishot_accept_direct(sqe, listen_fd_, nullptr, nullptr, 0);
  io_uring_sqe_set_data64(sqe, pack(Op::kAccept, 0, 0));
  accept_armed_ = true;
}

void ShardImpl::arm_recv(uint32_t slot) {
  Conn& c = conn(slot);
  io_uring_sqe* sqe = reactor_.get_sqe();
  io_uring_prep_recv_multishot(sqe, static_cast<int>(slot), nullptr, 0, 0);
  sqe->flags |= IOSQE_FIXED_FILE | IOSQE_BUFFER_SELECT;
  sqe->buf_group = core::Reactor::kBufferGroup;
  io_uring_sqe_set_data64(sqe, pack(Op::kRecv, slot, c.gen));
  c.recv_armed = true;
  ++c.pending;
}

void ShardImpl::on_accept(const io_uring_cqe* cqe) {
  if (!(cqe->flags & IORING_CQE_F_MORE)) {
    accept_armed_ = false;
    arm_accept();
  }
  if (cqe->res < 0) {
    if (cqe->res == -ENFILE || cqe->res == -EMFILE) {
      metrics_.add(Metric::kConnectionsRejected);
      RC_WARN_LIMITED("connection refused: all %u connection slots in use", max_conns_);
    } else if (cqe->res != -ECANCELED) {
      metrics_.add(Metric::kIoErrors);
      RC_WARN_LIMITED("accept failed: %s", std::strerror(-cqe->res));
    }
    return;
  }
  const auto slot = static_cast<uint32_t>(cqe->res);
  RC_CHECK(slot < max_conns_);
  while (constructed_ <= slot) new (&conns_[constructed_++]) Conn();
  Conn& c = conn(slot);
  RC_CHECK(c.state == ConnState::kFree && c.pending == 0);
  c.state = ConnState::kHttp;
  c.last_seen_ms = now_ms_;
  c.http = std::make_unique<http::RequestParser>(http::Limits{cfg_.max_header, cfg_.max_message});
  ++open_;
  metrics_.add(Metric::kConnectionsAccepted);
  metrics_.add(Metric::kConnectionsOpen);
  timers_->schedule(c, cfg_.handshake_timeout_ms);
  arm_recv(slot);
  if (draining_) finalize(c);
}

void ShardImpl::on_recv(Conn& c, uint32_t slot, const io_uring_cqe* cqe) {
  const bool more = cqe->flags & IORING_CQE_F_MORE;
  bool cancelled = false;
  if (!more) {
    c.recv_armed = false;
    cancelled = std::exchange(c.recv_cancelled, false);
    --c.pending;
  }
  if (cqe->res == -ECANCELED && cancelled && !c.finalizing) {
    // We paused the input. If it has resumed since, or the connection is
    // closing (it must see the peer's FIN), read again.
    if (!c.paused) rearm_.push_back(slot);
  } else if (cqe->res > 0 && !c.finalizing) {
    c.last_seen_ms = now_ms_;
    auto data = reactor_.buffer(static_cast<uint16_t>(cqe->flags >> IORING_CQE_BUFFER_SHIFT),
                                static_cast<size_t>(cqe->res));
    on_data(c, data);
    if (!more && !c.finalizing && c.state != ConnState::kFree) rearm_.push_back(slot);
  } else if (cqe->res == -ENOBUFS) {
    metrics_.add(Metric::kRecvNoBuffers);
    if (!c.finalizing) rearm_.push_back(slot);
  } else if (cqe->res <= 0 && !c.finalizing) {
    // 0: the peer closed; -ECONNRESET and friends: it is gone.
    if (cqe->res < 0 && cqe->res != -ECONNRESET && cqe->res != -ECANCELED) {
      metrics_.add(Metric::kIoErrors);
      RC_WARN_LIMITED("recv failed: %s", std::strerror(-cqe->res));
    }
    finalize(c);
  }
  if (c.finalizing && c.pending == 0) release_slot(c);
}

void ShardImpl::on_send(Conn& c, const io_uring_cqe* cqe) {
  --c.pending;
  if (cqe->res < 0) {
    // Nothing more goes to this peer; its frames are released once, when
    // the slot is (the aborted queue keeps them until then).
    c.sendq->abort();
    const int err = -cqe->res;
    if (err != EPIPE && err != ECONNRESET && err != ECANCELED && err != ETIMEDOUT) {
      metrics_.add(Metric::kIoErrors);
      RC_WARN_LIMITED("send failed on connection %u: %s (%zu bytes in %zu buffers queued)",
                      slot_of(c), std::strerror(err), c.sendq->backlog_bytes(), c.sendq->buffers());
    }
    finalize(c);
  } else {
    c.sendq->complete(static_cast<size_t>(cqe->res));
    freed_since_trim_ = true;
    // A peer reading a big message cannot answer the pings queued behind
    // it; that it reads at all is the sign of life.
    if (cqe->res > 0 && !c.sendq->empty()) c.last_seen_ms = now_ms_;
    if (!c.finalizing) {
      mark_dirty(c);
      if (c.paused && !input_blocked(c)) {
        resume_input(c);
      } else if (c.paused && cqe->res > 0) {
        stashes_[slot_of(c)].progress_ms = now_ms_;  // slow, but taking bytes
      }
    }
  }
  if (c.finalizing && c.pending == 0) release_slot(c);
}

void ShardImpl::on_op_done(Conn& c) {
  // A shutdown finished: now wait for the peer's FIN (recv returns 0).
  --c.pending;
  if (c.finalizing && c.pending == 0) release_slot(c);
}

void ShardImpl::flush_sends() {
  // Only completions mark connections dirty, so the list is stable here.
  for (uint32_t slot : dirty_) {
    Conn& c = conn(slot);
    c.in_dirty = false;
    if (c.state != ConnState::kFree && !c.finalizing) flush_conn(c, slot);
  }
  dirty_.clear();
}

void ShardImpl::flush_conn(Conn& c, uint32_t slot) {
  if (c.awaiting_join || (c.sendq && c.sendq->in_flight())) return;
  if (c.sendq && !c.sendq->empty()) {
    io_uring_sqe* sqe = reactor_.get_sqe();
    io_uring_prep_sendmsg(sqe, static_cast<int>(slot), c.sendq->prepare(), MSG_NOSIGNAL);
    sqe->flags |= IOSQE_FIXED_FILE;
    io_uring_sqe_set_data64(sqe, pack(Op::kSend, slot, c.gen));
    ++c.pending;
    return;
  }
  c.sendq.reset();  // idle connections hold no send queue
  if (c.close_after_flush && !c.shutdown_sent) {
    // Lingering close: send FIN, keep reading until the peer's FIN so that
    // unread input cannot turn our last frame into a reset.
    io_uring_sqe* sqe = reactor_.get_sqe();
    io_uring_prep_shutdown(sqe, static_cast<int>(slot), SHUT_WR);
    sqe->flags |= IOSQE_FIXED_FILE;
    io_uring_sqe_set_data64(sqe, pack(Op::kShutdown, slot, c.gen));
    ++c.pending;
    c.shutdown_sent = true;
  }
}

void ShardImpl::ring_doorbell(unsigned to) {
  const int fd = shared_.ring_fds[to].load(std::memory_order_relaxed);
  if (fd < 0) return;
  io_uring_sqe* sqe = reactor_.get_sqe();
  io_uring_prep_msg_ring(sqe, fd, 0, pack(Op::kDoorbell, id_, 0), 0);
  sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
  io_uring_sqe_set_data64(sqe, pack(Op::kCancel, 0, 0));
}

void ShardImpl::begin_drain() {
  if (draining_) return;
  draining_ = true;
  drain_deadline_ms_ = now_ms_ + cfg_.drain_timeout_ms;
  io_uring_sqe* sqe = reactor_.get_sqe();
  io_uring_prep_cancel64(sqe, pack(Op::kAccept, 0, 0), 0);
  io_uring_sqe_set_data64(sqe, pack(Op::kCancel, 0, 0));
  // New clients are refused at once rather than left in the backlog. The
  // cancelled accept holds its own reference to the socket, and a shard
  // with no connections stops before submitting the cancel: shutdown()
  // takes the socket out of the SO_REUSEPORT group now, whatever holds it.
  shutdown(listen_fd_, SHUT_RDWR);
  close(listen_fd_);
  listen_fd_ = -1;
  for (uint32_t slot = 0; slot < constructed_; ++slot) {
    Conn& c = conn(slot);
    if (c.state == ConnState::kWs) {
      send_close(c, 1001, "server shutting down");
      begin_close(c);
    } else if (c.state == ConnState::kHttp) {
      finalize(c);
    }
  }
}

bool ShardImpl::finished() const {
  return draining_ && (open_ == 0 || now_ms_ >= drain_deadline_ms_);
}

}  // namespace ringchat::chat
