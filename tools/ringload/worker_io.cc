// Worker: submissions, completions and the connection lifecycle.
//
// A connection's slot in the direct-descriptor table is reused only after
// every operation on it has completed (inflight == 0) and close_direct has
// finished, so a completion always belongs to the current incarnation.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "backoff.h"
#include "client_handshake.h"
#include "clock.h"
#include "drain_hint.h"
#include "ringchat/ws/frame_encoder.h"
#include "ringchat/ws/handshake.h"
#include "worker.h"

namespace ringchat::ringload {
namespace {

std::string errno_kind(std::string_view what, int err) {
  const char* name = strerrorname_np(err);
  return std::string(what) + ":" + (name ? name : std::to_string(err));
}

}  // namespace

Result<void, std::string> Worker::install_socket(uint32_t i) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Err(errno_kind("socket", errno));
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (s_.churn > 0 && conns_[i].role == Role::kClient) {
    // A churn reset closes with RST (linger 0), as a dropped network does.
    // The ring cannot set it later on a direct descriptor, so every client
    // socket has it; a clean close still sends its FIN (shutdown) first.
    const linger lg{1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  }
  if (!ep_.sources.empty()) {
    if (auto r = bind_source(fd, i); !r) {
      close(fd);
      return r;
    }
  }
  int slot_fd = fd;
  const int rc = io_uring_register_files_update(reactor_.ring(), i, &slot_fd, 1);
  close(fd);  // the table holds its own reference
  if (rc < 0) return Err(errno_kind("register_file", -rc));
  return {};
}

// Binds the source address with a port of our choosing. Letting connect()
// pick the port costs a scan of the port range per connection
// (__inet_hash_connect), quadratic over tens of thousands of connections;
// here each worker walks its own share of the range (ports = index mod
// workers) and skips ports that are taken.
Result<void, std::string> Worker::bind_source(int fd, uint32_t i) {
  // By local index: client ids of one worker are all congruent mod the
  // worker count, so they would all land on one address.
  const size_t ip = i % ep_.sources.size();
  if (port_cursor_.empty())
    port_cursor_.assign(ep_.sources.size(), ep_.port_lo + static_cast<uint32_t>(index_));
  sockaddr_in src = ep_.sources[ip];
  // A run of taken ports means this worker's share is used up: fail the
  // attempt (it backs off) rather than walk the whole range every time.
  constexpr uint32_t kMaxTries = 64;
  for (uint32_t tries = 0; tries < kMaxTries; ++tries) {
    uint32_t& cursor = port_cursor_[ip];
    src.sin_port = htons(static_cast<uint16_t>(cursor));
    cursor += static_cast<uint32_t>(count_);
    if (cursor > ep_.port_hi) cursor = ep_.port_lo + static_cast<uint32_t>(index_);
    if (bind(fd, reinterpret_cast<const sockaddr*>(&src), sizeof src) == 0) return {};
    if (errno != EADDRINUSE) return Err(errno_kind("bind", errno));
  }
  return Err(errno_kind("bind", EADDRINUSE));
}

void Worker::start_attempt(uint32_t i, uint64_t now) {
  Conn& c = conns_[i];
  ++c.epoch;
  c.parser = ws::FrameParser(ws::Role::kClient, s_.max_message);
  c.out.clear();
  c.wire.clear();
  c.out_off = 0;
  c.send_inflight = false;
  c.close_sent = false;
  c.awaiting_echo = false;
  c.next_send_ns = 0;
  c.in.clear();
  c.pub_waiting = 0;
  c.raw_next = 0;
  c.replay_until = 0;
  c.tls.reset();
  c.tls_counted = false;
  c.tls_saved = false;
  c.cycle_done = false;
  c.told_draining = false;
  c.attempt_ns = now;
  if (s_.protocol == Protocol::kSse && c.role == Role::kClient)
    c.sse = std::make_unique<SseParser>();
  if (auto r = install_socket(i); !r) {
    count_error(r.error());
    ++conn_counts_.failed;
    c.state = State::kClosingFd;
    on_closed(i, now);
    return;
  }
  if (c.role == Role::kClient && s_.mode != Mode::kHandshake) {
    std::array<uint8_t, 16> nonce{};
    for (auto& b : nonce) b = static_cast<uint8_t>(rng_());
    const std::string key = make_client_key(nonce);
    c.hs = std::make_unique<Handshake>(
        Handshake{s_.protocol == Protocol::kSse ? std::string() : ws::accept_key(key), {}});
    c.out = connect_request(i, key);
  }
  c.state = State::kConnecting;
  c.deadline_ns = now + static_cast<uint64_t>(s_.connect_timeout_s * 1e9);
  ++connecting_;
  io_uring_sqe* sqe = reactor_.get_sqe();
  const sockaddr_in& dest = ep_.dests.empty() ? ep_.dest : ep_.dests[plan_.port[c.client]];
  io_uring_prep_connect(sqe, static_cast<int>(i), reinterpret_cast<const sockaddr*>(&dest),
                        sizeof dest);
  sqe->flags |= IOSQE_FIXED_FILE;
  io_uring_sqe_set_data64(sqe, pack(Op::kConnect, i));
  ++c.inflight;
}

void Worker::submit_send(Conn& c, uint32_t i) {
  if (c.wire.size() == c.out_off) fill_wire(c);
  if (c.wire.empty()) return;  // TLS: the plaintext waits for the handshake
  io_uring_sqe* sqe = reactor_.get_sqe();
  io_uring_prep_send(sqe, static_cast<int>(i), c.wire.data() + c.out_off, c.wire.size() - c.out_off,
                     MSG_NOSIGNAL);
  sqe->flags |= IOSQE_FIXED_FILE;
  io_uring_sqe_set_data64(sqe, pack(Op::kSend, i));
  c.send_inflight = true;
  ++c.inflight;
}

void Worker::arm_recv(uint32_t i) {
  io_uring_sqe* sqe = reactor_.get_sqe();
  io_uring_prep_recv_multishot(sqe, static_cast<int>(i), nullptr, 0, 0);
  sqe->flags |= IOSQE_FIXED_FILE | IOSQE_BUFFER_SELECT;
  sqe->buf_group = core::Reactor::kBufferGroup;
  io_uring_sqe_set_data64(sqe, pack(Op::kRecv, i));
  ++conns_[i].inflight;
}

void Worker::dispatch(io_uring_cqe* cqe, uint64_t now) {
  const uint64_t ud = io_uring_cqe_get_data64(cqe);
  const auto op = static_cast<Op>(ud >> 56);
  const auto i = static_cast<uint32_t>(ud & 0xffffffffu);
  Conn& c = conns_[i];
  const bool final = op != Op::kRecv || !(cqe->flags & IORING_CQE_F_MORE);
  if (final) --c.inflight;
  switch (op) {
    case Op::kConnect:
      on_connect(i, cqe->res, now);
      break;
    case Op::kSend:
      on_send(i, cqe->res);
      break;
    case Op::kRecv:
      on_recv(i, cqe, now);
      break;
    case Op::kCancel:
      break;
    case Op::kClose:
      on_closed(i, now);
      return;
  }
  if (c.state == State::kTearDown) op_done(i, now);
}

void Worker::on_connect(uint32_t i, int res, uint64_t now) {
  Conn& c = conns_[i];
  if (c.state != State::kConnecting) return;
  if (res < 0) {
    abort_conn(i, errno_kind("connect", -res), now);
    return;
  }
  arm_recv(i);
  if (ep_.tls) {
    start_tls(i, now);  // open once the handshake is done (worker_tls.cc)
    return;
  }
  if (s_.mode == Mode::kHandshake) return finish_cycle(i, now);  // plain: the connect only
  if (c.role == Role::kPublisher) {
    on_open(i, now, OpenInfo{});  // plain HTTP keep-alive: nothing to wait for
    return;
  }
  c.state = State::kHandshake;
  submit_send(c, i);
}

void Worker::on_send(uint32_t i, int res) {
  Conn& c = conns_[i];
  c.send_inflight = false;
  if (c.state == State::kTearDown) return;
  if (res < 0) {
    abort_conn(i, errno_kind("send", -res), now_ns());
    return;
  }
  c.out_off += static_cast<size_t>(res);
  if (c.out_off < c.wire.size() || has_output(c)) {
    submit_send(c, i);
    if (c.send_inflight) return;
  }
  c.wire.clear();
  c.out_off = 0;
  if (c.wire.capacity() > 65536) c.wire.shrink_to_fit();
  // Handshake mode: the close_notify is out; now the socket.
  if (c.cycle_done && c.state == State::kClosing) abort_conn(i, "", now_ns());
}

void Worker::on_recv(uint32_t i, io_uring_cqe* cqe, uint64_t now) {
  Conn& c = conns_[i];
  const bool final = !(cqe->flags & IORING_CQE_F_MORE);
  const int res = cqe->res;
  if (cqe->flags & IORING_CQE_F_BUFFER) {
    const auto bid = static_cast<uint16_t>(cqe->flags >> IORING_CQE_BUFFER_SHIFT);
    if (res > 0 && (c.state == State::kHandshake || c.state == State::kJoining ||
                    c.state == State::kOpen || c.state == State::kClosing)) {
      on_wire(i, reactor_.buffer(bid, static_cast<size_t>(res)), now);
    }
    reactor_.recycle(bid);
  }
  if (c.state == State::kTearDown) return;
  if (res == -ENOBUFS) {
    count_error("recv:no_buffers");
    if (final) rearm_.push_back(i);
    return;
  }
  if (res < 0) {
    abort_conn(i, errno_kind("recv", -res), now);
  } else if (res == 0) {
    // A server that said it drains (SSE `draining`) ends the stream on purpose.
    abort_conn(i, c.close_sent || c.told_draining ? "" : "recv:eof", now);
  } else if (final) {
    arm_recv(i);
  }
}

// Ends a connection attempt or an open connection: shut the socket down so
// what is in flight completes, then close the direct descriptor once nothing is. An empty
// `error_kind` is a clean end.
void Worker::abort_conn(uint32_t i, std::string_view error_kind, uint64_t now) {
  Conn& c = conns_[i];
  const State was = c.state;
  if (was != State::kConnecting && was != State::kHandshake && was != State::kJoining &&
      was != State::kOpen && was != State::kClosing) {
    return;
  }
  if (!error_kind.empty()) count_error(error_kind);
  if (was == State::kOpen || was == State::kClosing) note_unacked(i);
  if (was == State::kOpen) note_drop(i, now);
  if (c.role == Role::kPublisher && c.pub_waiting > 0) {
    // Publishes in flight may be lost: the sender starts a new sequence.
    Conn& owner = conns_[c.link];
    ++owner.incarnation;
    owner.seq = 0;
  }
  if (was == State::kConnecting || was == State::kHandshake || was == State::kJoining) {
    --connecting_;
    ++conn_counts_.failed;
  }
  if (was == State::kOpen) --open_;
  c.state = State::kTearDown;
  ++c.epoch;
  c.hs.reset();
  if (c.inflight > 0) {
    io_uring_sqe* sqe = reactor_.get_sqe();
    // shutdown() ends the connect, the multishot recv and any send on this
    // socket in O(1); an ASYNC_CANCEL by fd scans every pending request of
    // the ring, which is quadratic when thousands of connections close.
    io_uring_prep_shutdown(sqe, static_cast<int>(i), SHUT_RDWR);
    sqe->flags |= IOSQE_FIXED_FILE;
    io_uring_sqe_set_data64(sqe, pack(Op::kCancel, i));
    ++c.inflight;
  }
  op_done(i, now);
}

void Worker::op_done(uint32_t i, uint64_t) {
  Conn& c = conns_[i];
  if (c.state != State::kTearDown || c.inflight > 0) return;
  c.state = State::kClosingFd;
  io_uring_sqe* sqe = reactor_.get_sqe();
  io_uring_prep_close_direct(sqe, i);
  io_uring_sqe_set_data64(sqe, pack(Op::kClose, i));
  ++c.inflight;
}

// The descriptor is closed: reconnect after a backoff, or stop for good.
void Worker::on_closed(uint32_t i, uint64_t now) {
  Conn& c = conns_[i];
  c.out = std::string();
  c.wire = std::string();
  c.in = std::string();
  c.sse.reset();
  c.tls.reset();
  c.parser.release();
  if (stage_ >= phase_count_ + 1) {
    c.state = State::kDone;
    ++terminal_;
    return;
  }
  if (c.cycle_done) {  // handshake mode: the next cycle, at once
    c.cycle_done = false;
    if (sending() && cycle_quota_left()) {
      ++cycles_started_;
      c.state = State::kWaiting;
      timers_.push(Timer{now, i, c.epoch, TimerKind::kStart});
    } else {
      c.state = State::kDone;
      ++terminal_;
      check_quota(now);
    }
    return;
  }
  if (c.reset_pending) {
    // Our churn reset: back after a pause (uniform, mean --churn-pause).
    c.reset_pending = false;
    c.state = State::kWaiting;
    std::uniform_real_distribution<double> u(0.0, 2.0);
    timers_.push(Timer{now + static_cast<uint64_t>(s_.churn_pause_s * 1e9 * u(rng_)), i, c.epoch,
                       TimerKind::kStart});
    return;
  }
  const Backoff backoff(static_cast<uint64_t>(s_.backoff_base_ms * 1e6),
                        static_cast<uint64_t>(s_.backoff_cap_ms * 1e6), s_.max_retries);
  if (backoff.exhausted(c.attempt)) {
    c.state = State::kDead;
    ++terminal_;
    ++conn_counts_.gave_up;
    count_error("gave_up");
    if (!c.ever_opened) ++settled_;
    return;
  }
  // A draining server's retry_ms wins over the backoff.
  std::optional<uint32_t> hint;
  if (c.retry_hint_ms >= 0) {
    hint = static_cast<uint32_t>(c.retry_hint_ms);
    c.retry_hint_ms = -1;
    ++hinted_;
  }
  c.state = State::kWaiting;
  timers_.push(Timer{now + reconnect_delay_ns(backoff, c.attempt, hint, rng_()), i, c.epoch,
                     TimerKind::kStart});
  ++c.attempt;
}

void Worker::start_close(uint32_t i, uint64_t now) {
  Conn& c = conns_[i];
  switch (c.state) {
    case State::kWaiting:
      ++c.epoch;
      c.state = State::kDone;
      ++terminal_;
      break;
    case State::kConnecting:
    case State::kHandshake:
    case State::kJoining:
      abort_conn(i, "", now);
      break;
    case State::kOpen: {
      if (s_.protocol == Protocol::kSse) {  // HTTP: no closing handshake
        --open_;
        c.state = State::kClosing;
        abort_conn(i, "", now);
        break;
      }
      const std::string body = ws::close_payload(1000, "done");
      queue_frame(i, ws::Opcode::kClose, std::as_bytes(std::span(body)));
      c.close_sent = true;
      c.state = State::kClosing;
      c.deadline_ns = now + 2'000'000'000;
      --open_;
      break;
    }
    default:
      break;
  }
}

}  // namespace ringchat::ringload
