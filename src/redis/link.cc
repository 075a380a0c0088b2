#include "ringchat/redis/link.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "ringchat/core/check.h"
#include "ringchat/core/timer_wheel.h"
#include "ringchat/obs/log.h"
#include "ringchat/redis/command.h"

namespace ringchat::redis {

using core::RedisOp;

// ---- Dispatcher ----

Dispatcher::Dispatcher(core::EventLoop& loop) : loop_(loop) { loop_.on(core::Op::kRedis, *this); }

uint32_t Dispatcher::add(Link* link) {
  // Ids are not reused: a late completion of a destroyed link must not
  // reach a new one.
  links_.push_back(link);
  return static_cast<uint32_t>(links_.size() - 1);
}

void Dispatcher::remove(uint32_t id) { links_[id] = nullptr; }

void Dispatcher::tick(uint64_t now_ms) {
  for (Link* l : links_) {
    if (l) l->tick(now_ms);
  }
}

void Dispatcher::flush() {
  for (Link* l : links_) {
    if (l) l->flush();
  }
}

std::optional<uint64_t> Dispatcher::next_due_ms(uint64_t now_ms) const {
  std::optional<uint64_t> due;
  for (const Link* l : links_) {
    if (!l) continue;
    if (auto d = l->next_due_ms(now_ms); d && (!due || *d < *due)) due = d;
  }
  return due;
}

bool Dispatcher::idle() const {
  return std::all_of(links_.begin(), links_.end(), [](const Link* l) { return !l || l->idle(); });
}

void Dispatcher::on_completion(const io_uring_cqe* cqe, core::Tag tag) {
  const core::RedisTag t = core::unpack_redis(tag);
  if (t.link >= links_.size() || links_[t.link] == nullptr) {
    ++orphans_;
    return;
  }
  links_[t.link]->on_completion(cqe, t);
}

// ---- Link ----

namespace {

uint64_t splitmix64(uint64_t& x) {
  uint64_t z = (x += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

bool equals_nocase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return (x | 0x20) == (y | 0x20);
         });
}

// RESP2: these answer with one reply per channel named.
bool is_subscribe_family(std::string_view cmd) {
  for (std::string_view c :
       {"SUBSCRIBE", "PSUBSCRIBE", "SSUBSCRIBE", "UNSUBSCRIBE", "PUNSUBSCRIBE", "SUNSUBSCRIBE"}) {
    if (equals_nocase(cmd, c)) return true;
  }
  return false;
}

}  // namespace

Link::Link(Dispatcher& d, Endpoint ep, Handler& h, Options o, uint64_t seed)
    : dispatcher_(d),
      ep_(std::move(ep)),
      handler_(h),
      opts_(std::move(o)),
      name_(redacted(ep_)),
      id_(d.add(this)),
      rng_(seed),
      rbuf_(std::max<size_t>(opts_.recv_bytes, 512)) {
  opts_.backoff_max_ms = std::max(opts_.backoff_max_ms, opts_.backoff_min_ms);
}

Link::~Link() {
  if (fd_ >= 0) close(fd_);  // only when the ring went first; see the header
  dispatcher_.remove(id_);
}

uint64_t Link::now_ms() const { return core::monotonic_ms(); }

io_uring_sqe* Link::sqe() { return dispatcher_.loop().reactor().get_sqe(); }

void Link::start() {
  if (state_ != State::kIdle && state_ != State::kStopped) return;
  failures_ = 0;
  if (!idle()) {
    // Stopped a moment ago: connect once the old socket's ops are done.
    state_ = State::kBackoff;
    retry_at_ms_ = now_ms();
    return;
  }
  if (!resolved_ && !resolve()) {
    state_ = State::kBackoff;
    retry_at_ms_ = now_ms() + backoff_ms();
    return;
  }
  connect_now(now_ms());
}

void Link::stop() {
  if (state_ == State::kStopped || state_ == State::kIdle) return;
  close_socket();
  expect_.clear();
  sunsubscribing_.clear();
  out_.clear();
  user_in_flight_ = 0;
  handshake_left_ = 0;
  state_ = State::kStopped;
}

bool Link::resolve() {
  addr_ = {};
  if (!ep_.unix_path.empty()) {
    auto* un = reinterpret_cast<sockaddr_un*>(&addr_);
    if (ep_.unix_path.size() >= sizeof(un->sun_path)) {
      RC_ERROR("redis: unix socket path too long").kv("event", "redis_link").kv("redis", name_);
      return false;
    }
    un->sun_family = AF_UNIX;
    std::memcpy(un->sun_path, ep_.unix_path.c_str(), ep_.unix_path.size() + 1);
    addr_len_ = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + ep_.unix_path.size() + 1);
    resolved_ = true;
    return true;
  }
  auto* v4 = reinterpret_cast<sockaddr_in*>(&addr_);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&addr_);
  if (inet_pton(AF_INET, ep_.host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(ep_.port);
    addr_len_ = sizeof(sockaddr_in);
  } else if (inet_pton(AF_INET6, ep_.host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(ep_.port);
    addr_len_ = sizeof(sockaddr_in6);
  } else {
    // A name: the one blocking call, documented in the header.
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    const int rc = getaddrinfo(ep_.host.c_str(), nullptr, &hints, &res);
    if (rc != 0 || res == nullptr) {
      RC_ERROR("redis: cannot resolve the host")
          .kv("event", "redis_link")
          .kv("redis", name_)
          .kv("error", gai_strerror(rc));
      return false;
    }
    std::memcpy(&addr_, res->ai_addr, res->ai_addrlen);
    addr_len_ = res->ai_addrlen;
    freeaddrinfo(res);
    if (addr_.ss_family == AF_INET) v4->sin_port = htons(ep_.port);
    if (addr_.ss_family == AF_INET6) v6->sin6_port = htons(ep_.port);
  }
  resolved_ = true;
  return true;
}

void Link::connect_now(uint64_t now) {
  RC_CHECK(fd_ < 0 && ops_ == 0);
  ++stats_.connects;
  stats_.last_attempt_ms = now;
  conn_gen_ = (conn_gen_ + 1) & core::kRedisGenMask;
  decoder_.reset();
  out_.clear();
  sending_.clear();
  sent_ = 0;
  expect_.clear();
  sunsubscribing_.clear();
  user_in_flight_ = 0;
  handshake_left_ = 0;
  recv_armed_ = sending_now_ = false;
  // Blocking mode on purpose: io_uring never blocks the submitter, and
  // retries a socket op when the socket is ready.
  fd_ = socket(addr_.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) {
    fail("socket", std::strerror(errno));
    return;
  }
  if (addr_.ss_family != AF_UNIX) {
    const int one = 1;
    (void)setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  }
  io_uring_sqe* s = sqe();
  io_uring_prep_connect(s, fd_, reinterpret_cast<const sockaddr*>(&addr_), addr_len_);
  io_uring_sqe_set_data64(s, core::pack_redis(id_, conn_gen_, RedisOp::kConnect));
  ++ops_;
  state_ = State::kConnecting;
  deadline_ms_ = now + opts_.connect_timeout_ms;
}

void Link::on_completion(const io_uring_cqe* cqe, core::RedisTag tag) {
  if (tag.sub == RedisOp::kCancel || tag.sub == RedisOp::kClose) return;
  RC_CHECK(ops_ > 0);
  --ops_;
  if (tag.sub == RedisOp::kRecv && tag.conn_gen == conn_gen_) recv_armed_ = false;
  if (tag.sub == RedisOp::kSend && tag.conn_gen == conn_gen_) sending_now_ = false;
  if (tag.conn_gen != conn_gen_ || fd_ < 0) {
    ++stats_.stale;
    return;
  }
  switch (tag.sub) {
    case RedisOp::kConnect:
      on_connect(cqe->res);
      break;
    case RedisOp::kRecv:
      on_recv(cqe->res);
      break;
    case RedisOp::kSend:
      on_send(cqe->res);
      break;
    default:
      break;
  }
}

void Link::on_connect(int res) {
  if (state_ != State::kConnecting) return;
  if (res < 0) {
    fail("connect", std::strerror(-res));
    return;
  }
  state_ = State::kHandshake;
  last_rx_ms_ = now_ms();
  arm_recv();
  send_handshake();
}

void Link::become_up() {
  state_ = State::kUp;
  ++stats_.ups;
  RC_INFO("redis link up")
      .kv("event", "redis_link")
      .kv("redis", name_)
      .kv("link", id_)
      .kv("attempts", failures_ + 1);
  failures_ = 0;
  handler_.on_up();
}

void Link::send_handshake() {
  if (!ep_.password.empty()) {
    if (ep_.user.empty()) {
      const std::string_view argv[] = {"AUTH", ep_.password};
      queue(argv, Kind::kAuth);
    } else {
      const std::string_view argv[] = {"AUTH", ep_.user, ep_.password};
      queue(argv, Kind::kAuth);
    }
  }
  if (ep_.db != 0) {
    const std::string db = std::to_string(ep_.db);
    const std::string_view argv[] = {"SELECT", db};
    queue(argv, Kind::kSelect);
  }
  shas_.assign(opts_.scripts.size(), std::string());
  for (size_t i = 0; i < opts_.scripts.size(); ++i) {
    const std::string_view argv[] = {"SCRIPT", "LOAD", opts_.scripts[i]};
    queue(argv, Kind::kScript, static_cast<uint32_t>(i));
  }
  handshake_left_ = expect_.size();
  if (handshake_left_ == 0) {
    become_up();
    return;
  }
  flush();
}

void Link::queue(std::span<const std::string_view> argv, Kind kind, uint32_t script) {
  if (expect_.empty()) waiting_since_ = now_ms();
  uint32_t replies = 1;
  if (is_subscribe_family(argv[0])) {
    RC_CHECK(argv.size() >= 2);  // without channels the reply count is unknown
    replies = static_cast<uint32_t>(argv.size() - 1);
    if (equals_nocase(argv[0], "SUNSUBSCRIBE")) {
      for (size_t i = 1; i < argv.size(); ++i) sunsubscribing_.emplace(argv[i]);
    }
  }
  expect_.push_back(Expect{replies, kind, script});
  append_command(out_, argv);
}

void Link::command(std::span<const std::string_view> argv) {
  RC_CHECK(up() && !argv.empty());
  queue(argv, Kind::kUser);
  ++user_in_flight_;
}

void Link::flush() {
  if (state_ != State::kUp && state_ != State::kHandshake) return;
  if (sending_now_ || out_.empty()) return;
  sending_.swap(out_);
  out_.clear();
  sent_ = 0;
  submit_send();
}

void Link::submit_send() {
  io_uring_sqe* s = sqe();
  io_uring_prep_send(s, fd_, sending_.data() + sent_, sending_.size() - sent_, MSG_NOSIGNAL);
  io_uring_sqe_set_data64(s, core::pack_redis(id_, conn_gen_, RedisOp::kSend));
  ++ops_;
  sending_now_ = true;
}

void Link::on_send(int res) {
  if (res < 0) {
    fail("send", std::strerror(-res));
    return;
  }
  sent_ += static_cast<size_t>(res);
  if (sent_ < sending_.size()) {
    ++stats_.partial_sends;
    submit_send();  // partial: the rest, before anything queued since
    return;
  }
  sending_.clear();
  sent_ = 0;
  flush();
}

void Link::arm_recv() {
  io_uring_sqe* s = sqe();
  io_uring_prep_recv(s, fd_, rbuf_.data(), rbuf_.size(), 0);
  io_uring_sqe_set_data64(s, core::pack_redis(id_, conn_gen_, RedisOp::kRecv));
  ++ops_;
  recv_armed_ = true;
}

void Link::on_recv(int res) {
  if (res <= 0) {
    fail(res == 0 ? "closed by the server" : "recv", res == 0 ? "" : std::strerror(-res));
    return;
  }
  last_rx_ms_ = now_ms();
  decoder_.feed(std::string_view(rbuf_.data(), static_cast<size_t>(res)));
  const uint32_t gen = conn_gen_;
  for (;;) {
    auto next = decoder_.next();
    if (!next.ok()) {
      fail("protocol", next.error());
      return;
    }
    if (!next->has_value()) break;
    if (!handle_reply((*next)->view())) return;
    // A callback may have stopped the link.
    if (gen != conn_gen_ || fd_ < 0) return;
  }
  arm_recv();
}

bool Link::is_push(const Reply& r) const {
  if (!opts_.subscriber || r.type() != ReplyType::kArray || r.size() < 3) return false;
  const std::string_view kind = r[0].str();
  if (kind == "message" || kind == "pmessage" || kind == "smessage") return true;
  // Redis 7 unsubscribes a sharded channel by itself when its slot moves
  // away: an "sunsubscribe" no SUNSUBSCRIBE of ours is waiting for.
  return kind == "sunsubscribe" && !sunsubscribing_.contains(r[1].str());
}

bool Link::handle_reply(const Reply& r) {
  if (is_push(r)) {
    ++stats_.replies;
    handler_.on_reply(r);
    return true;
  }
  if (expect_.empty()) {
    fail("protocol", "a reply to no command");
    return false;
  }
  if (opts_.subscriber && r.type() == ReplyType::kArray && r.size() >= 2 &&
      r[0].str() == "sunsubscribe") {
    if (auto it = sunsubscribing_.find(r[1].str()); it != sunsubscribing_.end()) {
      sunsubscribing_.erase(it);
    }
  }
  Expect e = expect_.front();
  // A command refused whole (an ACL denying a channel, a syntax error) gets
  // one error, even one that would have had a reply per channel.
  if (r.is_error()) expect_.front().replies = 1;
  if (--expect_.front().replies == 0) {
    expect_.pop_front();
    if (e.kind == Kind::kUser) --user_in_flight_;
  }
  waiting_since_ = now_ms();
  if (e.kind != Kind::kUser) return handle_own_reply(e, r);
  ++stats_.replies;
  handler_.on_reply(r);
  return true;
}

bool Link::handle_own_reply(const Expect& e, const Reply& r) {
  if (e.kind == Kind::kPing) return true;
  static constexpr const char* kWhat[] = {"", "AUTH", "SELECT", "SCRIPT LOAD", ""};
  if (r.is_error()) {
    // The server's text (WRONGPASS ..., NOAUTH ..., ERR DB index ...) never
    // holds the password.
    fail(kWhat[static_cast<int>(e.kind)], r.str());
    return false;
  }
  if (e.kind == Kind::kScript) shas_[e.script] = std::string(r.str());
  if (--handshake_left_ == 0 && state_ == State::kHandshake) {
    become_up();
    return fd_ >= 0;
  }
  return true;
}

void Link::fail(std::string_view reason, std::string_view detail) {
  const bool was_up = state_ == State::kUp;
  const size_t failed = user_in_flight_;
  ++stats_.failures;
  // A long outage logs its 1st, 2nd, 4th, 8th... failed attempt at warn
  // (about one line per backoff_max_ms at most), the others at debug.
  const uint32_t streak = failures_ + 1;
  const obs::Level level = (streak & (streak - 1)) == 0 ? obs::Level::kWarn : obs::Level::kDebug;
  const uint64_t delay = backoff_ms();
  RC_LOG(level, "redis link down")
      .kv("event", "redis_link")
      .kv("attempts", streak)
      .kv("redis", name_)
      .kv("link", id_)
      .kv("reason", reason)
      .kv("error", detail)
      .kv("was_up", was_up)
      .kv("failed", failed)
      .kv("retry_ms", delay);
  close_socket();
  expect_.clear();
  sunsubscribing_.clear();
  out_.clear();
  user_in_flight_ = 0;
  handshake_left_ = 0;
  state_ = State::kBackoff;
  retry_at_ms_ = now_ms() + delay;
  if (was_up) handler_.on_down(failed);
}

void Link::close_socket() {
  if (fd_ < 0) return;
  // Everything still on the socket completes (-ECANCELED) before the close;
  // a hard link runs the close whatever the cancel found.
  io_uring_sqe* c = sqe();
  io_uring_prep_cancel_fd(c, fd_, IORING_ASYNC_CANCEL_ALL);
  io_uring_sqe_set_data64(c, core::pack_redis(id_, conn_gen_, RedisOp::kCancel));
  c->flags |= IOSQE_IO_HARDLINK;
  io_uring_sqe* x = sqe();
  io_uring_prep_close(x, fd_);
  io_uring_sqe_set_data64(x, core::pack_redis(id_, conn_gen_, RedisOp::kClose));
  fd_ = -1;
  // Completions of this socket are stale from now on.
  conn_gen_ = (conn_gen_ + 1) & core::kRedisGenMask;
  recv_armed_ = sending_now_ = false;
}

uint64_t Link::backoff_ms() {
  const uint32_t shift = std::min<uint32_t>(failures_, 20);
  ++failures_;
  const uint64_t cap =
      std::min<uint64_t>(opts_.backoff_max_ms, uint64_t{opts_.backoff_min_ms} << shift);
  const uint64_t span = cap - opts_.backoff_min_ms + 1;
  return opts_.backoff_min_ms + splitmix64(rng_) % span;
}

void Link::tick(uint64_t now) {
  switch (state_) {
    case State::kBackoff:
      if (now >= retry_at_ms_ && ops_ == 0) {
        if (!resolved_ && !resolve()) {
          retry_at_ms_ = now + backoff_ms();
          return;
        }
        connect_now(now);
      }
      return;
    case State::kConnecting:
      if (now >= deadline_ms_) fail("connect timeout");
      return;
    case State::kHandshake:
    case State::kUp:
      if (!expect_.empty() && now >= waiting_since_ + opts_.reply_timeout_ms) {
        fail("reply timeout");
        return;
      }
      if (opts_.subscriber && state_ == State::kUp && expect_.empty() &&
          now >= last_rx_ms_ + opts_.reply_timeout_ms / 2) {
        const std::string_view ping[] = {"PING"};
        queue(ping, Kind::kPing);
        flush();
      }
      return;
    case State::kIdle:
    case State::kStopped:
      return;
  }
}

std::optional<uint64_t> Link::next_due_ms(uint64_t now) const {
  auto until = [now](uint64_t at) { return at > now ? at - now : 0; };
  switch (state_) {
    case State::kBackoff:
      if (ops_ != 0) return std::nullopt;  // the old socket's completions come first
      return until(retry_at_ms_);
    case State::kConnecting:
      return until(deadline_ms_);
    case State::kHandshake:
    case State::kUp:
      if (!expect_.empty()) return until(waiting_since_ + opts_.reply_timeout_ms);
      if (opts_.subscriber && state_ == State::kUp) {
        return until(last_rx_ms_ + opts_.reply_timeout_ms / 2);
      }
      return std::nullopt;
    case State::kIdle:
    case State::kStopped:
      return std::nullopt;
  }
  return std::nullopt;
}

}  // namespace ringchat::redis
