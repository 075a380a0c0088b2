// Worker: the io_uring loop, connection lifecycle and timers. Message
// handling (handshake, frames, modes) is in worker_msg.cc.
#include "worker.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "backoff.h"
#include "clock.h"
#include "http_client.h"
#include "ringchat/core/check.h"

namespace ringchat::ringload {
namespace {

constexpr unsigned kRingEntries = 4096;
constexpr unsigned kCqEntries = 65536;
constexpr unsigned kBufCount = 4096;  // power of two
constexpr unsigned kBufSize = 4096;
constexpr uint32_t kMaxConnecting = 512;
constexpr uint64_t kScanEveryNs = 100'000'000;
constexpr uint64_t kPublishEveryNs = 200'000'000;
constexpr uint64_t kCloseGraceNs = 1'000'000'000;
constexpr uint64_t kMaxWaitNs = 10'000'000;

}  // namespace

Worker::Worker(const Scenario& s, const Plan& plan, const Endpoint& ep, Control& control, int index,
               int count, uint64_t t0)
    : s_(s),
      plan_(plan),
      ep_(ep),
      control_(control),
      index_(index),
      count_(count),
      t0_(t0),
      phases_(s.phases()),
      phase_count_(static_cast<int>(phases_.size())),
      rng_(s.seed * 1000003u + static_cast<uint64_t>(index)) {
  stages_.resize(static_cast<size_t>(phase_count_) + 3);
  if (s.mode == Mode::kHandshake && s.handshakes > 0) {
    // This worker's share of --handshakes: the first (handshakes % count)
    // workers take one more.
    quota_ = s.handshakes / static_cast<uint64_t>(count) +
             (static_cast<uint64_t>(index) < s.handshakes % static_cast<uint64_t>(count) ? 1 : 0);
    if (quota_ == 0) live_.quota_done.store(true);
  }
  std::string json_path = ep.target.path;
  while (json_path.size() > 1 && json_path.back() == '/') json_path.pop_back();
  for (uint32_t c = static_cast<uint32_t>(index); c < s.connections;
       c += static_cast<uint32_t>(count)) {
    conns_.emplace_back(s.max_message);
    Conn& conn = conns_.back();
    conn.client = c;
    if (s.protocol == Protocol::kJson) {
      conn.path = json_path;
    } else if (s.protocol == Protocol::kSocketIo) {
      conn.path = ep.target.path + "?EIO=4&transport=websocket&room=" + plan.room_name(s, c);
    } else {
      conn.path = ep.target.path + plan.room_name(s, c);
    }
    to_start_.push_back(static_cast<uint32_t>(conns_.size() - 1));
  }
  // sse: every sender gets a publisher, started with the streams.
  if (s.protocol != Protocol::kSse) return;
  const size_t clients = conns_.size();
  for (uint32_t i = 0; i < clients; ++i) {
    if (!plan.sender[conns_[i].client]) continue;
    conns_.emplace_back(s.max_message);
    Conn& pub = conns_.back();
    pub.client = conns_[i].client;
    pub.role = Role::kPublisher;
    pub.link = i;
    pub.path = expand_room(s.pub_path, plan.room_name(s, pub.client));
    conns_[i].link = static_cast<uint32_t>(conns_.size() - 1);
    to_start_.push_back(conns_[i].link);
  }
}

// The ring and buffer sizes are ringload's own (not the server's defaults):
// a CQ deep enough for every connection's multishot receive, and many small
// buffers since a chat frame is small and idle connections hold none.
Result<void, std::string> Worker::setup_ring() {
  core::ReactorOptions opts;
  opts.sq_entries = kRingEntries;
  opts.cq_entries = kCqEntries;
  opts.fixed_files = static_cast<unsigned>(std::max<size_t>(conns_.size(), 1));
  opts.buffer_count = kBufCount;
  opts.buffer_size = kBufSize;
  std::string what;
  auto r = reactor_.init(opts, &what);
  if (r) return {};
  const int err = errno;
  if (r.error() == Errc::kResourceLimit) {
    rlimit rl{};
    getrlimit(RLIMIT_NOFILE, &rl);
    return Err("register " + std::to_string(opts.fixed_files) +
               " direct descriptors: " + strerror(err) + " (a ring holds at most RLIMIT_NOFILE=" +
               std::to_string(rl.rlim_cur) + "; add workers with --cpus, e.g. 1,1,1)");
  }
  return Err(what + ": " + strerror(err));
}

Result<void, std::string> Worker::run() {
  live_.tid.store(static_cast<int>(gettid()), std::memory_order_relaxed);
  auto r = setup_ring();
  if (!r) {
    live_.exited.store(true);
    return r;
  }
  loop();
  close_stage_counts();
  publish_live(now_ns(), true);
  live_.exited.store(true);
  return {};
}

void Worker::loop() {
  while (true) {
    const uint64_t now = now_ns();
    turn(now);
    if (finished(now)) return;
    uint64_t wait = kMaxWaitNs;
    if (!timers_.empty())
      wait = timers_.top().when > now ? std::min(wait, timers_.top().when - now) : 0;
    // A ring error is not fatal here: the close stage's deadline still ends
    // the run.
    reactor_.submit_and_wait_ns(static_cast<int64_t>(wait));
    io_uring* ring = reactor_.ring();
    io_uring_cqe* cqe = nullptr;
    unsigned head = 0, seen = 0;
    const uint64_t after = now_ns();
    io_uring_for_each_cqe(ring, head, cqe) {
      dispatch(cqe, after);
      ++seen;
    }
    io_uring_cq_advance(ring, seen);
  }
}

void Worker::turn(uint64_t now) {
  const int stage = control_.stage.load(std::memory_order_relaxed);
  if (stage != stage_) on_stage_change(stage, now);
  if (!go_ && control_.go.load(std::memory_order_relaxed)) {
    go_ = true;
    for (uint32_t i = 0; i < conns_.size(); ++i) kick(i, now);
  }
  start_connections(now);
  fire_timers(now);
  for (uint32_t i : rearm_) {
    if (conns_[i].state == State::kOpen || conns_[i].state == State::kClosing) arm_recv(i);
  }
  rearm_.clear();
  if (now - last_scan_ns_ >= kScanEveryNs) scan_deadlines(now);
  flush_sends();
  publish_live(now, false);
}

void Worker::on_stage_change(int stage, uint64_t now) {
  const bool was_sending = sending();
  close_stage_counts();
  stage_ = stage;
  if (!was_sending && sending()) {
    for (uint32_t i = 0; i < conns_.size(); ++i) kick(i, now);
  }
  if (stage_ == phase_count_ + 2) {
    close_deadline_ns_ = now + kCloseGraceNs + static_cast<uint64_t>(s_.connect_timeout_s * 1e9);
    for (uint32_t i = 0; i < conns_.size(); ++i) start_close(i, now);
  }
}

bool Worker::finished(uint64_t now) const {
  if (stage_ < phase_count_ + 2) return false;
  return terminal_ == conns_.size() || now >= close_deadline_ns_;
}

void Worker::start_connections(uint64_t now) {
  if (stage_ >= phase_count_ + 1 || next_start_ >= to_start_.size()) return;
  // Handshake mode: the phases are the measurement; nothing opens before.
  if (s_.mode == Mode::kHandshake && !sending()) return;
  const double rate = s_.effective_connect_rate() / count_;
  if (rate > 0) {
    if (last_tokens_ns_ == 0) last_tokens_ns_ = now;
    connect_tokens_ =
        std::min(connect_tokens_ + rate * static_cast<double>(now - last_tokens_ns_) / 1e9,
                 std::max(1.0, rate / 10));
    last_tokens_ns_ = now;
  }
  while (next_start_ < to_start_.size() && connecting_ < kMaxConnecting) {
    if (s_.mode == Mode::kHandshake) {
      if (!cycle_quota_left()) return check_quota(now);
      ++cycles_started_;
    }
    if (rate > 0) {
      if (connect_tokens_ < 1) break;
      connect_tokens_ -= 1;
    }
    const uint32_t i = to_start_[next_start_++];
    start_attempt(i, now);
    if (conns_[i].state != State::kConnecting) break;  // no socket now; try again next turn
  }
}

void Worker::fire_timers(uint64_t now) {
  while (!timers_.empty() && timers_.top().when <= now) {
    const Timer t = timers_.top();
    timers_.pop();
    Conn& c = conns_[t.conn];
    if (t.epoch != c.epoch) continue;
    if (t.kind == TimerKind::kStart) {
      if (c.state == State::kWaiting && stage_ <= phase_count_) {
        if (connecting_ >= kMaxConnecting) {
          timers_.push(Timer{now + 1'000'000, t.conn, c.epoch, TimerKind::kStart});
        } else {
          start_attempt(t.conn, now);
        }
      }
      continue;
    }
    if (c.state != State::kOpen || !sending()) continue;
    if (s_.protocol == Protocol::kSse && conns_[c.link].state != State::kOpen) {
      // The sender's POST connection is away (a draining server closed it):
      // this slot is skipped, not queued: a reconnect starts with nothing
      // queued, so a message queued now would vanish uncounted.
      c.next_send_ns += next_interval_ns();
      timers_.push(Timer{c.next_send_ns, t.conn, c.epoch, TimerKind::kSend});
      continue;
    }
    send_message(t.conn, ++c.seq, c.next_send_ns - t0_);
    c.next_send_ns += next_interval_ns();
    timers_.push(Timer{c.next_send_ns, t.conn, c.epoch, TimerKind::kSend});
  }
}

void Worker::scan_deadlines(uint64_t now) {
  if (s_.churn > 0 && last_scan_ns_ != 0 && sending()) churn_scan(now, now - last_scan_ns_);
  last_scan_ns_ = now;
  for (uint32_t i = 0; i < conns_.size(); ++i) {
    Conn& c = conns_[i];
    const bool pending = c.state == State::kConnecting || c.state == State::kHandshake ||
                         c.state == State::kJoining || c.state == State::kClosing;
    if (pending && now >= c.deadline_ns && s_.mode == Mode::kHandshake &&
        c.state == State::kHandshake && c.tls && c.tls->established()) {
      count_error("tls:no_ticket");  // TLS 1.3 without a ticket: close all the same
      finish_cycle(i, now);
      continue;
    }
    if (pending && now >= c.deadline_ns) {
      // At the end of a run a server slow to answer our close is not an
      // error of the load; it is counted apart.
      const bool ours = c.state == State::kClosing && stage_ >= phase_count_ + 2;
      if (ours) ++conn_counts_.unanswered_closes;
      abort_conn(i,
                 ours                         ? ""
                 : c.state == State::kClosing ? "close:timeout"
                                              : "connect:timeout",
                 now);
      continue;
    }
    if (s_.mode == Mode::kFanout && go_ && sending() && c.state == State::kOpen &&
        c.role == Role::kClient &&
        now - c.round_start_ns > static_cast<uint64_t>(s_.round_timeout_s * 1e9)) {
      count_error("fanout:round_stall");
      advance_round(i, now);
    }
  }
}

void Worker::flush_sends() {
  for (uint32_t i : dirty_) {
    Conn& c = conns_[i];
    c.dirty = false;
    if (!c.send_inflight && has_output(c) && c.state >= State::kHandshake &&
        c.state <= State::kClosing) {
      submit_send(c, i);
    }
  }
  dirty_.clear();
}

void Worker::publish_live(uint64_t now, bool force) {
  if (!force && now - last_publish_ns_ < kPublishEveryNs) return;
  last_publish_ns_ = now;
  live_.sent.store(sent_total_, std::memory_order_relaxed);
  live_.delivered.store(delivered_total_, std::memory_order_relaxed);
  live_.errors.store(errors_total_, std::memory_order_relaxed);
  live_.cycles.store(cycles_total_, std::memory_order_relaxed);
  live_.reconnects.store(conn_counts_.reconnects, std::memory_order_relaxed);
  live_.connect_failures.store(conn_counts_.failed, std::memory_order_relaxed);
  live_.open.store(open_, std::memory_order_relaxed);
  live_.settled.store(settled_, std::memory_order_relaxed);
  std::lock_guard<std::mutex> lock(live_.mu);
  live_.interval.merge(interval_);
  interval_.reset();
}

// Once per stage change (not per message): the order checkers' counts are
// a walk over every connection. Their violations only grow (a late arrival
// turns a gap into a reorder), so the difference is what the stage found.
void Worker::close_stage_counts() {
  StageStats& st = stages_[static_cast<size_t>(stage_)];
  st.reconnects += conn_counts_.reconnects - counted_conns_.reconnects;
  st.connect_failures += conn_counts_.failed - counted_conns_.failed;
  counted_conns_ = conn_counts_;
  const OrderCounts o = order();
  const uint64_t violations = o.gaps + o.duplicates + o.reorders;
  st.order_violations += violations - std::min(violations, counted_violations_);
  counted_violations_ = violations;
}

// Handshake mode with --handshakes: once this worker's share has begun and
// every slot it started has closed, main may end the phase.
void Worker::check_quota(uint64_t now) {
  if (quota_ == 0 || cycle_quota_left() || live_.quota_done.load(std::memory_order_relaxed)) return;
  const size_t never_started = to_start_.size() - next_start_;
  if (terminal_ + never_started < conns_.size()) return;
  publish_live(now, true);
  live_.quota_done.store(true, std::memory_order_relaxed);
}

void Worker::count_error(std::string_view kind) {
  ++stages_[static_cast<size_t>(stage_)].errors[std::string(kind)];
  ++errors_total_;
}

SeqCounts Worker::seq() const {
  SeqCounts total;
  for (const Conn& c : conns_) total.add(c.seqc.counts());
  return total;
}

OrderCounts Worker::order() const {
  OrderCounts total;
  for (const Conn& c : conns_) total.add(c.order.counts());
  return total;
}

uint64_t Worker::next_interval_ns() {
  const double mult = sending() ? phases_[static_cast<size_t>(stage_ - 1)].rate_mult : 1.0;
  const double base = 1e9 / (s_.rate * std::max(mult, 1e-9));
  std::uniform_real_distribution<double> u(0.0, 1.0);
  double v = base;
  switch (s_.think) {
    case Think::kConst:
      break;
    case Think::kExp:
      v = -std::log(1.0 - u(rng_)) * base;
      break;
    case Think::kUniform:
      v = u(rng_) * 2 * base;
      break;
  }
  return static_cast<uint64_t>(std::max(v, 1.0));
}

}  // namespace ringchat::ringload
