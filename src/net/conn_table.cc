// A shard's connections: completions, the end-of-turn flush and the close
// state machine (see ConnState).
#include "ringchat/net/conn_table.h"

#include <sys/mman.h>

#include <cerrno>
#include <cstring>
#include <new>
#include <utility>

#include "ringchat/core/check.h"
#include "ringchat/obs/log.h"

namespace ringchat::net {

using core::Op;
using obs::Metric;

ConnTable::ConnTable(const ConnTableConfig& cfg, ConnIo& io, core::TimerWheel& timers,
                     ConnHandler& handler, obs::ShardMetrics& metrics)
    : cfg_(cfg), io_(io), timers_(timers), handler_(handler), metrics_(metrics) {}

ConnTable::~ConnTable() {
  for (uint32_t i = 0; i < constructed_; ++i) {
    timers_.cancel(conns_[i]);
    conns_[i].~Conn();
  }
  if (conns_) munmap(conns_, conns_bytes_);
}

Result<void, std::string> ConnTable::init() {
  // Mapped, not allocated: a slot's pages are touched only once it is used.
  conns_bytes_ = sizeof(Conn) * cfg_.max_conns;
  void* mem = mmap(nullptr, conns_bytes_, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (mem == MAP_FAILED) return Err(std::string("mmap connection table failed"));
  conns_ = static_cast<Conn*>(mem);
  return {};
}

Conn* ConnTable::find(uint32_t slot, uint32_t gen) {
  if (slot >= constructed_) return nullptr;
  Conn& c = conns_[slot];
  return c.gen == gen && c.state != ConnState::kFree ? &c : nullptr;
}

uint8_t ConnTable::add_transport(Transport& t) {
  RC_CHECK(transport_count_ < kMaxTransports);
  t.attach(budget_);
  transports_[transport_count_] = &t;
  return transport_count_++;
}

Conn& ConnTable::open(uint32_t slot, const PeerAddr& peer, uint8_t transport) {
  RC_CHECK(slot < cfg_.max_conns);
  while (constructed_ <= slot) new (&conns_[constructed_++]) Conn();
  Conn& c = conns_[slot];
  RC_CHECK(c.state == ConnState::kFree && c.pending == 0);
  c.state = ConnState::kOpen;
  c.peer = peer;
  RC_CHECK(transport < transport_count_);
  c.transport = transport;
  c.last_seen_ms = static_cast<uint32_t>(now_ms_);
  ++open_;
  metrics_.add(Metric::kConnectionsAccepted);
  metrics_.add(Metric::kConnectionsOpen);
  transports_[transport]->open(c);
  arm_recv(c);
  handler_.on_open(c);
  return c;
}

void ConnTable::arm_recv(Conn& c) {
  io_.recv(slot_of(c), c.gen);
  c.recv_armed = true;
  ++c.pending;
}

void ConnTable::on_completion(const io_uring_cqe* cqe, core::Tag tag) {
  Conn* c = find(tag.slot, tag.gen);
  if (!c) {
    // The slot was closed (and maybe reused) since the op was submitted.
    metrics_.add(Metric::kStaleCompletions);
    return;
  }
  switch (tag.op) {
    case Op::kRecv:
      on_recv(*c, cqe);
      break;
    case Op::kSend:
      on_send(*c, cqe);
      break;
    default:
      on_op_done(*c);
      break;
  }
  if (c->state == ConnState::kFinalizing && c->pending == 0) release(*c);
}

void ConnTable::on_recv(Conn& c, const io_uring_cqe* cqe) {
  const bool more = cqe->flags & IORING_CQE_F_MORE;
  bool cancelled = false;
  if (!more) {
    c.recv_armed = false;
    cancelled = c.recv_cancelled;
    c.recv_cancelled = false;
    --c.pending;
  }
  const bool finalizing = c.state == ConnState::kFinalizing;
  if (cqe->res == -ECANCELED && cancelled && !finalizing) {
    // We paused the input. If it has resumed since, or the connection is
    // closing (it must see the peer's FIN), read again.
    if (!c.paused) rearm_.push_back(slot_of(c));
  } else if (cqe->res > 0 && !finalizing) {
    c.last_seen_ms = static_cast<uint32_t>(now_ms_);
    // The loop recycles the buffer after this returns.
    consume(c, io_.received(cqe));
    if (!more && c.state != ConnState::kFinalizing && c.state != ConnState::kFree) {
      rearm_.push_back(slot_of(c));
    }
  } else if (cqe->res == -ENOBUFS) {
    metrics_.add(Metric::kRecvNoBuffers);
    if (!finalizing) rearm_.push_back(slot_of(c));
  } else if (cqe->res <= 0 && !finalizing) {
    // 0: the peer closed; -ECONNRESET and friends: it is gone.
    if (cqe->res < 0 && cqe->res != -ECONNRESET && cqe->res != -ECANCELED) {
      metrics_.add(Metric::kIoErrors);
      RC_WARN_LIMITED("recv failed: %s", std::strerror(-cqe->res))
          .kv("event", "recv_failed")
          .kv("peer", c.peer.to_string())
          .err(-cqe->res);
    }
    abort(c);
  }
}

void ConnTable::consume(Conn& c, std::span<std::byte> wire) {
  if (c.state != ConnState::kOpen) return;  // kClosing: read and dropped until the FIN
  const Decoded d = transport(c).decode(c, wire);
  if (d.flush) mark_dirty(c);
  if (!d.data.empty()) take(c, d.data);
  // The peer ended the transport (TLS close_notify) or broke it: what it
  // sent before is the protocol's, then the connection closes after our
  // last bytes.
  if (d.closed && c.state == ConnState::kOpen) close(c);
}

void ConnTable::take(Conn& c, std::span<std::byte> data) {
  if (c.paused) {
    // What the recv delivered before its cancel took effect waits too.
    std::string& bytes = stashes_[slot_of(c)].bytes;
    if (bytes.size() + data.size() > kMaxStash) return request_close(c, CloseWhy::kInputOverflow);
    bytes.append(reinterpret_cast<const char*>(data.data()), data.size());
    return;
  }
  std::span<std::byte> rest = handler_.on_data(c, data);
  // Left over: the protocol's input is blocked (its answers are unsent...).
  if (!rest.empty() && c.usable()) pause_input(c, rest);
}

void ConnTable::on_send(Conn& c, const io_uring_cqe* cqe) {
  --c.pending;
  c.sending = false;
  if (cqe->res < 0) {
    // Nothing more goes to this peer; its buffers are released once, when
    // the slot is (the aborted queue keeps them until then).
    if (c.sendq) c.sendq->abort();
    const int err = -cqe->res;
    if (err != EPIPE && err != ECONNRESET && err != ECANCELED && err != ETIMEDOUT) {
      metrics_.add(Metric::kIoErrors);
      RC_WARN_LIMITED("send failed on connection %u (%s): %s (%zu bytes unsent)", slot_of(c),
                      c.peer.to_string().c_str(), std::strerror(err), unsent(c))
          .kv("event", "send_failed")
          .kv("peer", c.peer.to_string())
          .kv("unsent", unsent(c))
          .err(err);
    }
    abort(c);
    return;
  }
  transport(c).sent(c, static_cast<size_t>(cqe->res));
  freed_ = true;
  // A peer reading a big message cannot answer the pings queued behind
  // it; that it reads at all is the sign of life.
  const size_t left = unsent(c);
  note_backlog(c, left);
  if (cqe->res > 0 && left > 0) c.last_seen_ms = static_cast<uint32_t>(now_ms_);
  if (c.state == ConnState::kFinalizing) return;
  mark_dirty(c);
  if (c.paused && !handler_.input_blocked(c)) {
    resume_input(c);
  } else if (c.paused && cqe->res > 0) {
    stashes_[slot_of(c)].progress_ms = now_ms_;  // slow, but taking bytes
  }
}

void ConnTable::on_op_done(Conn& c) {
  // A shutdown finished: now wait for the peer's FIN (recv returns 0).
  --c.pending;
}

void ConnTable::on_timer(Conn& c) {
  switch (c.state) {
    case ConnState::kOpen:
      handler_.on_timer(c);
      return;
    case ConnState::kClosing:
      abort(c);  // the peer never sent its FIN
      return;
    case ConnState::kFinalizing:
    case ConnState::kFree:
      return;
  }
}

void ConnTable::end_turn() {
  if (!blocked_elsewhere_.empty()) resume_blocked_elsewhere();
  for (uint32_t slot : rearm_) {
    Conn& c = conns_[slot];
    if ((c.state == ConnState::kOpen || c.state == ConnState::kClosing) && !c.recv_armed &&
        !c.paused) {
      arm_recv(c);
    }
  }
  rearm_.clear();
  // Only events mark connections dirty, so the list is stable here.
  for (uint32_t slot : dirty_) {
    Conn& c = conns_[slot];
    c.in_dirty = false;
    if (c.state == ConnState::kOpen || c.state == ConnState::kClosing) flush(c);
  }
  dirty_.clear();
}

void ConnTable::flush(Conn& c) {
  if (c.output_held || c.sending) return;
  if (const msghdr* msg = transport(c).prepare_send(c)) {
    io_.send(slot_of(c), c.gen, msg);
    ++c.pending;
    c.sending = true;
    return;
  }
  // Idle connections hold no send queue (a TLS one keeps what waits for
  // its handshake).
  if (c.sendq && c.sendq->empty()) c.sendq.reset();
  if (c.state == ConnState::kClosing && !c.shutdown_sent) {
    // Lingering close: send FIN, keep reading until the peer's FIN so that
    // unread input cannot turn our last bytes into a reset.
    io_.shutdown(slot_of(c), c.gen);
    ++c.pending;
    c.shutdown_sent = true;
  }
}

void ConnTable::hold_output(Conn& c, bool hold) {
  c.output_held = hold;
  if (!hold) mark_dirty(c);
}

void ConnTable::leave_open(Conn& c) {
  RC_DCHECK(c.state == ConnState::kOpen);
  handler_.on_closed(c);
  drop_stash(c);
  c.output_held = false;  // what is queued (a 101, a close frame) goes out now
}

void ConnTable::close(Conn& c) {
  if (c.state != ConnState::kOpen) return;
  leave_open(c);
  c.state = ConnState::kClosing;
  timers_.schedule(c, cfg_.close_timeout_ms);
  mark_dirty(c);
  // Paused input was dropped; reading resumes, to see the peer's FIN.
  if (!c.recv_armed) rearm_.push_back(slot_of(c));
}

void ConnTable::abort(Conn& c) {
  if (c.state == ConnState::kFree || c.state == ConnState::kFinalizing) return;
  if (c.state == ConnState::kOpen) leave_open(c);
  timers_.cancel(c);
  c.state = ConnState::kFinalizing;
  // Cancel every request still on this descriptor; their completions
  // bring pending to zero and free the slot.
  if (c.pending > 0) {
    io_.cancel_all(slot_of(c));
  } else {
    release(c);
  }
}

void ConnTable::release(Conn& c) {
  note_backlog(c, 0);
  transport(c).release(c);
  io_.close(slot_of(c), c.gen);
  timers_.cancel(c);
  const uint32_t gen = (c.gen + 1) & core::kGenMask;
  c.~Conn();
  new (&c) Conn();
  c.gen = gen;
  freed_ = true;
  --open_;
  metrics_.add(Metric::kConnectionsClosed);
  metrics_.sub(Metric::kConnectionsOpen);
}

}  // namespace ringchat::net
