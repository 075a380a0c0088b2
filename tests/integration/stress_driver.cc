// The stress scenario's loop: publishers paced by their room's window,
// readers checking every message, stopped readers draining once they are
// far enough behind, floods writing as fast as the server takes them.
#include "stress_driver.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "ringchat/ws/frame_encoder.h"

namespace ringchat::testing::stress {

namespace {

constexpr uint64_t kAnonymous = 1ull << 63;  // key of filler: the bit and the size
constexpr size_t kBigMessage = 4u << 20;     // one at a time across rooms
constexpr uint64_t kPingFloodCap = 256u << 20;
constexpr uint64_t kBlindCap = 256u << 20;
constexpr uint64_t kHttpFloodCap = 16u << 20;
constexpr size_t kMaxHead = 16384;

uint64_t key_of(MessageId id) { return (uint64_t{id.publisher} << 32) | id.counter; }

// Mostly small, a few large, now and then exactly the largest allowed.
size_t random_size(std::mt19937_64& rng, size_t max_size) {
  auto between = [&](size_t lo, size_t hi) {
    hi = std::min(hi, max_size);
    lo = std::min(lo, hi);
    return lo + rng() % (hi - lo + 1);
  };
  const unsigned r = static_cast<unsigned>(rng() % 1000);
  if (r < 80) return between(0, kHeaderBytes - 1);
  if (r < 600) return between(kHeaderBytes, 1024);
  if (r < 850) return between(1025, 64u << 10);
  if (r < 965) return between((64u << 10) + 1, 1u << 20);
  if (r < 990) return between((1u << 20) + 1, max_size);
  return max_size;
}

}  // namespace

const char* to_string(Role role) {
  switch (role) {
    case Role::kPublisher:
      return "publisher";
    case Role::kReader:
      return "reader";
    case Role::kLateReader:
      return "late reader";
    case Role::kStopper:
      return "stopped reader";
    case Role::kVanisher:
      return "vanishing reader";
    case Role::kPingFlood:
      return "ping flood";
    case Role::kBlindPublisher:
      return "blind publisher";
    case Role::kHttpFlood:
      return "HTTP flood";
  }
  return "?";
}

void Driver::turn(int timeout_ms) {
  if (++turns_ % 256 == 0) sample_rss();
  step_publishers();
  step_late_readers();
  step_drain_deadlines();
  epoll_event evs[256];
  const int n = epoll_wait(epoll_fd_, evs, 256, timeout_ms);
  for (int i = 0; i < n && !failed_; ++i) {
    Conn& c = *conns_[evs[i].data.u32];
    if (evs[i].events & EPOLLOUT) on_writable(c);
    if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) on_readable(c);
  }
}

bool Driver::room_needs_traffic(const Room& r) const {
  for (const Conn* m : r.members) {
    if (m->must_close && m->state != State::kDone && m->state != State::kDraining) return true;
  }
  return false;
}

bool Driver::publish_phase_over() {
  if (!publishing_) return true;
  bool done = true;
  for (const auto& r : rooms_) {
    for (const Conn* p : r->publishers) done = done && p->sent >= p->quota;
    done = done && !room_needs_traffic(*r);
  }
  return done;
}

const Conn* Room::reference() const {
  for (const Conn* m : members) {
    if (m->role == Role::kPublisher || m->role == Role::kReader) return m;
  }
  return nullptr;
}

bool Room::delivered() const {
  if (!pending.empty()) return false;
  for (const Conn* m : members) {
    if (m->role != Role::kLateReader && keeps_up(m->role) && m->fillers != anonymous) return false;
  }
  // All messages are in, in one order: a late reader is done when it has
  // the reference's last message, unless it joined after the last one.
  const Conn* ref = reference();
  for (const Conn* m : members) {
    if (m->role != Role::kLateReader || m->state != State::kOpen || m->join_index >= messages)
      continue;
    if (m->got.empty() || !ref || ref->got.empty() || m->got.back() != ref->got.back())
      return false;
  }
  return true;
}

bool Driver::settled() const {
  for (const auto& r : rooms_) {
    if (!r->delivered()) return false;
  }
  for (const auto& c : conns_) {
    if (c->state == State::kHandshake) return false;
    if (c->role == Role::kPublisher && c->out_off < c->out.size()) return false;
    if (c->must_close && c->state != State::kDone) return false;
  }
  return true;
}

void Driver::step_publishers() {
  if (!publishing_) return;
  for (Conn* p : publishers_) {
    if (p->state != State::kOpen || !p->out.empty()) continue;
    Room& r = *p->room;
    if (p->sent >= p->quota && !room_needs_traffic(r)) continue;
    if (r.joining()) continue;
    if (!p->planned) {
      p->plan = plan_message(*p);
      p->planned = true;
    }
    // The window keeps every reader that keeps up within its backlog:
    // what is queued to it before any frame is at most the window, or
    // nothing when the frame is bigger than the window. Filler is not
    // counted in `inflight` (it cannot be told apart) but waits its turn
    // too, or it could queue up behind a big frame.
    const size_t size = p->plan.size;
    if (r.inflight > 0 && r.inflight + size > window_) continue;
    if (size > kBigMessage && big_key_ != 0) continue;
    publish(*p);
  }
}

Plan Driver::plan_message(Conn& p) const {
  Plan m;
  m.size = random_size(p.rng, p.room->max_size);
  m.text = p.rng() % 2 == 0;
  if (p.rng() % 10 < 3)
    m.fragments = 2 + static_cast<unsigned>(p.rng() % (m.size > (1u << 20) ? 31 : 7));
  return m;
}

void Driver::publish(Conn& p) {
  Room& r = *p.room;
  const Plan m = p.plan;
  p.planned = false;
  scratch_.clear();
  const MessageId id{p.pub_id, p.ctr};
  pool_.append(scratch_, m.text, id, m.size, p.rng());
  encode(p, ws::as_bytes(scratch_));
  if (m.size < kHeaderBytes) {
    ++r.anonymous;
  } else {
    Pending pend{m.size, r.messages, 0};
    for (const Conn* c : r.members) {
      if (keeps_up(c->role) && c->state == State::kOpen) ++pend.remaining;
    }
    const uint64_t key = key_of(id);
    r.pending.emplace(key, pend);
    r.inflight += m.size;
    if (m.size > kBigMessage) big_key_ = key;
    ++p.ctr;
  }
  ++r.messages;
  ++p.sent;
  published_bytes_ += m.size;
  flush(p);
}

void Driver::encode(Conn& p, std::span<const std::byte> payload) {
  const ws::Opcode op = p.plan.text ? ws::Opcode::kText : ws::Opcode::kBinary;
  // Fragments split where the dice say: empty ones, mid code point, all
  // allowed (RFC 6455 §5.4); now and then a ping between them (§5.5).
  std::vector<size_t> cuts{0, payload.size()};
  for (unsigned i = 1; i < p.plan.fragments; ++i) cuts.push_back(p.rng() % (payload.size() + 1));
  std::sort(cuts.begin(), cuts.end());
  for (size_t i = 0; i + 1 < cuts.size(); ++i) {
    const bool fin = i + 2 == cuts.size();
    ws::append_client_frame(p.out, i == 0 ? op : ws::Opcode::kContinuation,
                            payload.subspan(cuts[i], cuts[i + 1] - cuts[i]),
                            static_cast<uint32_t>(p.rng()), fin);
    if (!fin && p.rng() % 5 == 0) {
      ws::append_client_frame(p.out, ws::Opcode::kPing, ws::as_bytes("between fragments"),
                              static_cast<uint32_t>(p.rng()));
    }
  }
}

void Driver::step_late_readers() {
  // A late reader joins a quiet room, and the room stays quiet until its
  // 101: a message on its way when it joined would not be in its window,
  // and could hold its queue over the backlog while others read on.
  for (const auto& c : conns_) {
    if (c->role != Role::kLateReader || c->state != State::kIdle) continue;
    if (c->room->completed_bytes < c->trigger_bytes && !published_) continue;
    if (c->room->pending.empty()) send_upgrade(*c);
  }
}

bool Room::joining() const {
  for (const Conn* m : members) {
    if (m->role != Role::kLateReader) continue;
    if (m->state == State::kHandshake) return true;
    if (m->state == State::kIdle && completed_bytes >= m->trigger_bytes) return true;
  }
  return false;
}

void Driver::step_drain_deadlines() {
  const auto now = Clock::now();
  for (const auto& c : conns_) {
    if (c->state != State::kDraining) continue;
    if (now - c->drain_start > std::chrono::milliseconds(cfg_.scale.settle_ms)) {
      fail(c.get(), "not closed " + std::to_string(cfg_.scale.settle_ms) + " ms after falling " +
                        std::to_string(c->behind >> 10) + " KiB behind (read " +
                        std::to_string(c->drained >> 10) + " KiB since, no close frame, no EOF)");
    }
  }
}

bool Driver::reading(const Conn& c) const {
  switch (c.state) {
    case State::kHandshake:
    case State::kDraining:
      return true;
    case State::kOpen:
      return keeps_up(c.role) || c.role == Role::kStopper || c.role == Role::kVanisher;
    default:
      return false;
  }
}

bool Driver::flooding(const Conn& c) const {
  if (!publishing_ || c.flood_cut) return false;
  if (c.state != State::kOpen && c.state != State::kStopped) return false;
  switch (c.role) {
    case Role::kPingFlood:
      return c.flood_bytes < kPingFloodCap;
    case Role::kBlindPublisher:
      return c.flood_bytes < kBlindCap;
    case Role::kHttpFlood:
      return c.flood_bytes < kHttpFloodCap;
    default:
      return false;
  }
}

void Driver::update_interest(Conn& c) {
  uint32_t want = 0;
  if (c.state != State::kDone) {
    if (reading(c)) want |= EPOLLIN;
    if (c.out_off < c.out.size() || flooding(c)) want |= EPOLLOUT;
  }
  if (want == c.events) return;
  epoll_event ev{};
  ev.events = want;
  ev.data.u32 = c.id;
  // A socket nobody reads is unregistered: a reset on it would otherwise
  // wake every turn (EPOLLHUP cannot be masked).
  const int op = want == 0 ? EPOLL_CTL_DEL : c.events == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
  epoll_ctl(epoll_fd_, op, c.fd, &ev);
  c.events = want;
}

void Driver::on_writable(Conn& c) {
  if (c.state == State::kDone) return;
  if (c.out_off == c.out.size() && flooding(c)) refill_flood(c);
  flush(c);
}

void Driver::refill_flood(Conn& c) {
  c.out.clear();
  c.out_off = 0;
  if (c.role == Role::kHttpFlood) {
    for (int i = 0; i < 512; ++i) c.out += "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    return;
  }
  const std::string payload(c.role == Role::kPingFlood ? 125 : 1000, 'f');
  const ws::Opcode op = c.role == Role::kPingFlood ? ws::Opcode::kPing : ws::Opcode::kBinary;
  const int n = c.role == Role::kPingFlood ? 512 : 64;
  for (int i = 0; i < n; ++i) {
    ws::append_client_frame(c.out, op, ws::as_bytes(payload), static_cast<uint32_t>(c.rng()));
  }
}

void Driver::flush(Conn& c) {
  while (c.state != State::kDone && c.out_off < c.out.size()) {
    const ssize_t n =
        send(c.fd, c.out.data() + c.out_off, c.out.size() - c.out_off, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      c.out_off += static_cast<size_t>(n);
      c.flood_bytes += static_cast<uint64_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    if (keeps_up(c.role) && c.state != State::kDone) {
      return fail(&c, std::string("send failed: ") + std::strerror(errno));
    }
    c.flood_cut = true;
    c.saw_eof = c.must_close;  // the server closed it: that is what it must do
    finish(c, true);
    return;
  }
  if (c.out_off == c.out.size()) {
    c.out.clear();
    c.out_off = 0;
  }
  update_interest(c);
}

void Driver::on_readable(Conn& c) {
  for (int i = 0; i < 4 && reading(c); ++i) {
    const ssize_t n = recv(c.fd, read_buf_.data(), read_buf_.size(), 0);
    if (n > 0) {
      // The server's 4 KiB send buffer refills only when we acknowledge:
      // a delayed ACK (up to 40 ms) would stall every send.
      const int one = 1;
      setsockopt(c.fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
      feed(c, std::span<std::byte>(read_buf_.data(), static_cast<size_t>(n)));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    on_gone(c, n == 0 ? "EOF" : std::strerror(errno));
    return;
  }
  if (c.state == State::kOpen) after_read(c);
}

void Driver::feed(Conn& c, std::span<std::byte> in) {
  if (c.state == State::kHandshake && !take_head(c, in)) return;
  while (!failed_ && reading(c)) {
    auto r = c.parser.next(in);
    if (!r) {
      return fail(&c, "server stream unparseable: " + std::string(ws::to_string(r.error())) +
                          " after " + std::to_string(c.rx_bytes) + " payload bytes");
    }
    if (r->kind == ws::Event::Kind::kNeedMore) break;
    on_event(c, *r);
  }
  if (c.state != State::kDone && c.parser.idle()) c.parser.release();
}

bool Driver::take_head(Conn& c, std::span<std::byte>& in) {
  const size_t before = c.head.size();
  c.head.append(reinterpret_cast<const char*>(in.data()), in.size());
  const size_t end = c.head.find("\r\n\r\n");
  if (end == std::string::npos) {
    if (c.head.size() > kMaxHead) fail(&c, "upgrade answer without an end");
    return false;
  }
  in = in.subspan(end + 4 - before);
  if (c.head.compare(0, 13, "HTTP/1.1 101 ") != 0) {
    fail(&c, "upgrade refused: " + c.head.substr(0, c.head.find('\r')));
    return false;
  }
  on_joined(c);
  return true;
}

void Driver::on_joined(Conn& c) {
  c.head.clear();
  c.head.shrink_to_fit();
  c.state = State::kOpen;
  Room& r = *c.room;
  c.join_index = r.messages;
  late_joins_ += c.role == Role::kLateReader && publishing_;
  for (const Conn* p : r.publishers) c.join_ctr[p->pub_id] = p->ctr;
  if (c.role == Role::kPingFlood && c.must_close) {
    c.state = State::kStopped;  // never reads: stopped from its first byte
    c.stop_index = r.messages;
  }
  update_interest(c);
}

void Driver::after_read(Conn& c) {
  if (c.role == Role::kStopper && c.rx_bytes >= c.trigger_bytes) {
    c.state = State::kStopped;
    c.stop_index = c.room->messages;
    update_interest(c);
  } else if (c.role == Role::kVanisher && c.rx_bytes >= c.trigger_bytes &&
             (!c.parser.idle() || c.rx_bytes >= c.trigger_bytes + (8u << 20))) {
    finish(c, true);  // SO_LINGER 0: the server is in the middle of a send to us
  }
}

void Driver::on_event(Conn& c, const ws::Event& ev) {
  switch (ev.kind) {
    case ws::Event::Kind::kMessage:
      return on_message(c, ev.opcode, ev.payload);
    case ws::Event::Kind::kPing:
      if (c.state == State::kOpen) {
        ws::append_client_frame(c.out, ws::Opcode::kPong, ev.payload,
                                static_cast<uint32_t>(c.rng()));
        flush(c);
      }
      return;
    case ws::Event::Kind::kClose:
      return on_close_frame(c, ev.close_code, ev.close_reason);
    default:
      return;  // pongs to our pings between fragments
  }
}

void Driver::on_message(Conn& c, ws::Opcode op, std::span<const std::byte> payload) {
  c.rx_bytes += payload.size();
  delivered_bytes_ += payload.size();
  if (c.state == State::kDraining) c.drained += payload.size();
  const Verdict v = check_payload(op == ws::Opcode::kText, payload);
  if (v.error) {
    return fail(&c, std::string(v.error) + " in a message of " + std::to_string(payload.size()) +
                        " bytes (publisher " + std::to_string(v.id.publisher) + ", #" +
                        std::to_string(v.id.counter) + ")");
  }
  Room& room = *c.room;
  if (v.anonymous) {
    c.got.push_back(kAnonymous | payload.size());
    ++c.fillers;
    return;
  }
  const uint32_t pub = v.id.publisher;
  if (pub >= publishers_.size() || publishers_[pub]->room != &room) {
    return fail(&c, "got publisher " + std::to_string(pub) + "'s message from another room");
  }
  auto [it, first] = c.next_ctr.try_emplace(pub, v.id.counter);
  if (first && v.id.counter > c.join_ctr[pub]) {
    return fail(&c, "publisher " + std::to_string(pub) + ": first message is #" +
                        std::to_string(v.id.counter) + "; #" + std::to_string(c.join_ctr[pub]) +
                        " on were published after the 101 and are missing");
  }
  if (!first && v.id.counter != it->second) {
    return fail(&c, "publisher " + std::to_string(pub) + ": got #" + std::to_string(v.id.counter) +
                        " where #" + std::to_string(it->second) +
                        " was due (lost, repeated or reordered)");
  }
  it->second = v.id.counter + 1;
  const uint64_t key = key_of(v.id);
  c.got.push_back(key);
  if (keeps_up(c.role)) complete(c, room, key);
}

void Driver::complete(Conn& c, Room& room, uint64_t key) {
  auto it = room.pending.find(key);
  if (it == room.pending.end() || it->second.index < c.join_index) return;  // not owed to c
  Pending& p = it->second;
  witness(c, p);
  if (--p.remaining > 0) return;
  room.inflight -= p.size;
  room.completed_bytes += p.size;
  if (big_key_ == key) big_key_ = 0;
  room.pending.erase(it);
}

void Driver::witness(Conn& w, const Pending& p) {
  // The witness shares the stopped reader's shard, so the server queued
  // this message to both in the same fan-out. Once more than the backlog
  // limit (plus what kernel buffers hold) was queued to the stopped reader
  // before some message, queueing that message must close it.
  for (Conn* s : w.watched) {
    if (s->state != State::kStopped || p.index < s->stop_index) continue;
    if (s->behind >= behind_limit_) {
      begin_drain(*s);
    } else {
      s->behind += p.size;
    }
  }
}

void Driver::begin_drain(Conn& c) {
  c.state = State::kDraining;
  c.drain_start = Clock::now();
  c.out.clear();  // a ping flood stops flooding
  c.out_off = 0;
  update_interest(c);
}

void Driver::on_close_frame(Conn& c, uint16_t code, std::string_view reason) {
  c.close_code = code;
  // A reader that stopped is closed as a slow consumer (1008) once its room
  // has queued enough, or as idle (1001) when it has not within two ping
  // intervals: both end it.
  if (c.must_close && code != 1008 && code != 1001) {
    fail(&c, "closed with " + std::to_string(code) + " '" + std::string(reason) +
                 "', expected 1008 or 1001");
  } else if (c.state != State::kDraining && keeps_up(c.role)) {
    // What it could have had queued: what its room had in flight.
    fail(&c, "closed by the server although it keeps up: " + std::to_string(code) + " '" +
                 std::string(reason) + "' (its room had " + std::to_string(c.room->inflight) +
                 " bytes in " + std::to_string(c.room->pending.size()) +
                 " messages unread by some reader; it had read " + std::to_string(c.rx_bytes) +
                 " bytes)");
  }
  finish(c, true);
}

void Driver::on_gone(Conn& c, const char* why) {
  if (c.must_close) {
    c.saw_eof = true;  // a stopped reader may be closed before it could read the close frame
  } else if (keeps_up(c.role) || c.state == State::kHandshake) {
    fail(&c, std::string("connection ended (") + why + ") while it kept up");
  }
  finish(c, true);
}

void Driver::finish(Conn& c, bool reset) {
  if (c.fd < 0) return;
  if (reset) {
    linger lg{1, 0};
    setsockopt(c.fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
  }
  close(c.fd);  // also leaves the epoll set
  c.fd = -1;
  c.events = 0;
  c.state = State::kDone;
  c.out.clear();
  c.out_off = 0;
  c.parser.release();
}

void Driver::fail(const Conn* c, std::string what) {
  failed_ = true;
  if (failures_.size() >= 8) return;
  failures_.push_back(c ? describe(*c) + ": " + what : what);
}

std::string Driver::describe(const Conn& c) const {
  std::string s = std::to_string(cfg_.shards) + " shards: ";
  if (c.room)
    s += std::string("room ") + c.room->tag + " (" + c.room->name + ", owner " +
         std::to_string(c.room->owner) + ") ";
  return s + to_string(c.role) + " #" + std::to_string(c.id) + " on shard " +
         std::to_string(c.shard);
}

}  // namespace ringchat::testing::stress
