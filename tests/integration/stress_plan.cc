// The stress scenario's set-up and outcome: which client goes where, the
// phases, and the checks once the bytes have stopped.
//
// A connection's shard is the one whose accept counter moves when it
// connects (SO_REUSEPORT spreads connections; we only watch), and room
// names are chosen for their owner shard, so every scenario has:
//   A  every member on the room's owner shard (the owner's own fan-out
//      closes its members), messages up to --max-message
//   B  members on every shard, messages up to --max-message, a ping flood
//      among the members, two readers joining mid-run
//   C  every member on one shard that is not the owner, messages up to
//      1 MiB, a reader joining mid-run on the owner
//   L  a publisher alone on the owner shard that never reads
//   P  a ping flood alone on the owner shard
//   and one HTTP connection pipelining GET /metrics that never reads.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <sstream>
#include <thread>

#include "ringchat/chat/room_name.h"
#include "stress_driver.h"

namespace ringchat::testing::stress {

namespace {

constexpr int kSmallRcvbuf = 16384;  // stopped readers: little hides in kernel buffers
constexpr size_t kSlack = 1u << 20;  // more than those kernel buffers hold
constexpr int kAcceptWaitMs = 5000;

double mib(uint64_t bytes) { return static_cast<double>(bytes) / (1u << 20); }

// Where two sequences first differ, for a failure message.
std::string first_difference(const std::vector<uint64_t>& got, const uint64_t* ref,
                             size_t ref_size) {
  const size_t n = std::min(got.size(), ref_size);
  size_t i = 0;
  while (i < n && got[i] == ref[i]) ++i;
  return "read " + std::to_string(got.size()) + " messages, reference " + std::to_string(ref_size) +
         ", first difference at " + std::to_string(i);
}

}  // namespace

Driver::Driver(const ScenarioConfig& cfg, const PayloadPool& pool, TestServer& server)
    : cfg_(cfg),
      pool_(pool),
      server_(server),
      rng_(cfg.seed),
      epoll_fd_(epoll_create1(EPOLL_CLOEXEC)),
      read_buf_(256u << 10),
      window_(cfg.max_backlog / 4),
      behind_limit_(cfg.max_backlog + kSlack) {}

Driver::~Driver() {
  for (auto& c : conns_) finish(*c, true);
  for (const Spare& s : spares_) close(s.fd);
  close(epoll_fd_);
}

ScenarioResult Driver::run() {
  const auto t0 = Clock::now();
  if (plan_rooms() && wait_handshakes()) {
    publishing_ = true;
    for (auto& c : conns_) update_interest(*c);  // the floods start
    const auto publish_deadline = Clock::now() + std::chrono::milliseconds(cfg_.scale.publish_ms);
    while (!failed_ && !publish_phase_over() && Clock::now() < publish_deadline) turn(1);
    publishing_ = false;
    published_ = true;
    for (auto& c : conns_) update_interest(*c);
    const auto settle_deadline = Clock::now() + std::chrono::milliseconds(cfg_.scale.settle_ms);
    while (!failed_ && !settled() && Clock::now() < settle_deadline) turn(1);
    if (!failed_ && !settled()) report_unsettled();
    if (!failed_) verify();
  }
  sample_rss();
  check_gauges();
  const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  ScenarioResult result;
  result.summary = summary(seconds);
  for (auto& c : conns_) finish(*c, true);
  if (!failed_) check_still_serves();
  result.failures = failures_;
  return result;
}

uint64_t Driver::shard_metric(unsigned shard, obs::Metric m) const {
  // Registry::shard() has no const overload; get() is a relaxed load,
  // which any thread may do.
  return const_cast<obs::Registry&>(server_.metrics()).shard(shard).get(m);
}

bool Driver::plan_rooms() {
  const unsigned n = cfg_.shards;
  auto any = [&] { return static_cast<int>(rng_() % n); };
  const int sa = any();
  Room& a = add_room('a', sa, -1, cfg_.max_message);
  bool ok = add(Role::kPublisher, &a, sa) && add(Role::kPublisher, &a, sa) &&
            add(Role::kReader, &a, sa) && add(Role::kStopper, &a, sa) &&
            add(Role::kVanisher, &a, sa);
  Room& b = add_room('b', -1, -1, cfg_.max_message);
  for (unsigned s = 0; s < n; ++s) ok = ok && add(Role::kReader, &b, static_cast<int>(s));
  for (int i = 0; i < 3; ++i) ok = ok && add(Role::kPublisher, &b, any());
  for (int i = 0; i < 2; ++i) ok = ok && add(Role::kStopper, &b, any());
  ok = ok && add(Role::kVanisher, &b, any()) && add(Role::kPingFlood, &b, any());
  if (ok) conns_.back()->must_close = true;  // the room's traffic must close it
  for (int i = 0; i < 2; ++i) ok = ok && add(Role::kLateReader, &b, any());
  const int sc = any();
  Room& c = add_room('c', -1, n > 1 ? sc : -1, 1u << 20);
  ok = ok && add(Role::kPublisher, &c, sc) && add(Role::kPublisher, &c, sc) &&
       add(Role::kReader, &c, sc) && add(Role::kStopper, &c, sc) && add(Role::kVanisher, &c, sc) &&
       add(Role::kLateReader, &c, static_cast<int>(c.owner));
  const int sl = any();
  ok = ok && add(Role::kBlindPublisher, &add_room('l', sl, -1, 1000), sl);
  const int sp = any();
  ok = ok && add(Role::kPingFlood, &add_room('p', sp, -1, 0), sp);
  ok = ok && add(Role::kHttpFlood, nullptr, -1);
  for (const Spare& s : spares_) close(s.fd);
  spares_.clear();
  if (!ok) return false;
  assign_witnesses();
  for (auto& conn : conns_) {
    if (conn->role == Role::kHttpFlood) {
      conn->state = State::kOpen;
    } else if (conn->role != Role::kLateReader) {
      send_upgrade(*conn);
    }
  }
  return !failed_;
}

Room& Driver::add_room(char tag, int owner, int avoid_owner, size_t max_size) {
  auto room = std::make_unique<Room>();
  room->tag = static_cast<char>(tag - 'a' + 'A');
  room->max_size = max_size;
  for (unsigned i = 0;; ++i) {
    char name[64];
    std::snprintf(name, sizeof(name), "stress-%c-%016llx-%u", tag,
                  static_cast<unsigned long long>(cfg_.seed), i);
    const auto o = static_cast<int>(chat::shard_for(chat::room_hash(name), cfg_.shards));
    if ((owner >= 0 && o != owner) || (avoid_owner >= 0 && o == avoid_owner)) continue;
    room->name = name;
    room->owner = static_cast<unsigned>(o);
    break;
  }
  rooms_.push_back(std::move(room));
  return *rooms_.back();
}

bool Driver::add(Role role, Room* room, int shard) {
  const bool small = role == Role::kStopper || role == Role::kPingFlood;
  int fd;
  unsigned got;
  if (!take(shard, small, fd, got)) {
    fail(nullptr, "could not get a connection accepted by shard " + std::to_string(shard));
    return false;
  }
  auto c = std::make_unique<Conn>(role, cfg_.max_message);
  c->fd = fd;
  c->id = static_cast<unsigned>(conns_.size());
  c->shard = got;
  c->room = room;
  c->rng.seed(rng_());
  c->must_close = role == Role::kStopper;
  if (role == Role::kStopper) c->trigger_bytes = c->rng() % (1u << 20);
  if (role == Role::kVanisher) c->trigger_bytes = c->rng() % (8u << 20);
  if (role == Role::kLateReader) c->trigger_bytes = c->rng() % (4u << 20);
  if (room) room->members.push_back(c.get());
  if (role == Role::kPublisher) {
    c->pub_id = static_cast<uint32_t>(publishers_.size());
    c->quota = cfg_.scale.messages_per_publisher * (room->tag == 'C' ? 3 : 1);
    publishers_.push_back(c.get());
    room->publishers.push_back(c.get());
  }
  conns_.push_back(std::move(c));
  return true;
}

bool Driver::take(int shard, bool small, int& fd, unsigned& got) {
  for (size_t i = 0; i < spares_.size(); ++i) {
    if (spares_[i].small != small || (shard >= 0 && spares_[i].shard != unsigned(shard))) continue;
    fd = spares_[i].fd;
    got = spares_[i].shard;
    spares_.erase(spares_.begin() + static_cast<std::ptrdiff_t>(i));
    return true;
  }
  for (int tries = 0; tries < 200; ++tries) {
    unsigned s;
    const int f = connect_one(small, s);
    if (f < 0) return false;
    if (shard < 0 || s == unsigned(shard)) {
      fd = f;
      got = s;
      return true;
    }
    spares_.push_back({f, s, small});
  }
  return false;
}

int Driver::connect_one(bool small, unsigned& shard) {
  std::vector<uint64_t> before(cfg_.shards);
  for (unsigned i = 0; i < cfg_.shards; ++i)
    before[i] = shard_metric(i, obs::Metric::kConnectionsAccepted);
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (small) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &kSmallRcvbuf, sizeof(kSmallRcvbuf));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(server_.port());
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  // Nothing else connects meanwhile: the shard whose counter moves took it.
  const auto deadline = Clock::now() + std::chrono::milliseconds(kAcceptWaitMs);
  while (Clock::now() < deadline) {
    for (unsigned i = 0; i < cfg_.shards; ++i) {
      if (shard_metric(i, obs::Metric::kConnectionsAccepted) > before[i]) {
        shard = i;
        return fd;
      }
    }
    std::this_thread::sleep_for(std::chrono::microseconds(20));  // polling a counter
  }
  close(fd);
  return -1;
}

void Driver::assign_witnesses() {
  for (auto& c : conns_) {
    if (!c->must_close) continue;
    for (Conn* m : c->room->members) {
      if ((m->role == Role::kPublisher || m->role == Role::kReader) && m->shard == c->shard) {
        c->witness = m;
        m->watched.push_back(c.get());
        break;
      }
    }
    if (!c->witness) fail(c.get(), "no reader that keeps up shares its shard");
  }
}

void Driver::send_upgrade(Conn& c) {
  c.out += "GET /ws/" + c.room->name +
           " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
  c.state = State::kHandshake;
  flush(c);
}

bool Driver::wait_handshakes() {
  const auto deadline = Clock::now() + std::chrono::milliseconds(cfg_.scale.setup_ms);
  while (!failed_) {
    const auto waiting = std::find_if(conns_.begin(), conns_.end(),
                                      [](const auto& c) { return c->state == State::kHandshake; });
    if (waiting == conns_.end()) return true;
    if (Clock::now() > deadline) {
      fail(waiting->get(), "no 101 within " + std::to_string(cfg_.scale.setup_ms) + " ms");
      return false;
    }
    turn(1);
  }
  return false;
}

void Driver::report_unsettled() {
  for (const auto& r : rooms_) {
    if (r->delivered()) continue;
    if (r->pending.empty()) {
      fail(nullptr, std::to_string(cfg_.shards) + " shards: room " + r->tag + ": filler (" +
                        std::to_string(r->anonymous) + " published) or the last message still " +
                        "unread by some reader after " + std::to_string(cfg_.scale.settle_ms) +
                        " ms");
      continue;
    }
    // The oldest message someone still owes, and who.
    auto oldest = std::min_element(
        r->pending.begin(), r->pending.end(),
        [](const auto& x, const auto& y) { return x.second.index < y.second.index; });
    const auto pub = static_cast<uint32_t>(oldest->first >> 32);
    const auto ctr = static_cast<uint32_t>(oldest->first);
    std::string who;
    for (const Conn* m : r->members) {
      if (!keeps_up(m->role) || m->state != State::kOpen) continue;
      auto it = m->next_ctr.find(pub);
      if (it == m->next_ctr.end() || it->second <= ctr) who += " #" + std::to_string(m->id);
    }
    fail(nullptr, std::to_string(cfg_.shards) + " shards: room " + r->tag + ": " +
                      std::to_string(r->pending.size()) + " messages (" +
                      std::to_string(r->inflight >> 10) + " KiB) still unread after " +
                      std::to_string(cfg_.scale.settle_ms) + " ms; the oldest, publisher " +
                      std::to_string(pub) + " #" + std::to_string(ctr) + " (" +
                      std::to_string(oldest->second.size) + " bytes), is missing at" + who);
  }
  for (const auto& c : conns_) {
    if (c->state == State::kHandshake) fail(c.get(), "no 101");
    if (!c->must_close || c->state == State::kDone) continue;
    if (c->state == State::kDraining) continue;  // step_drain_deadlines() reports it
    fail(c.get(), "the publishing phase ended (" + std::to_string(cfg_.scale.publish_ms) +
                      " ms) before it fell " + std::to_string(behind_limit_ >> 10) +
                      " KiB behind (" + std::to_string(c->behind >> 10) + " KiB so far)");
  }
}

void Driver::verify() {
  for (const auto& r : rooms_) {
    if (!r->publishers.empty()) verify_room(*r);
  }
}

void Driver::verify_room(const Room& room) {
  // Readers that joined before the first message read one sequence; a late
  // reader reads its end; a reader that stopped or vanished, its start.
  const Conn* ref = room.reference();
  const std::vector<uint64_t>& seq = ref->got;
  if (ref->fillers != room.anonymous) {
    fail(ref, "read " + std::to_string(ref->fillers) + " filler messages of " +
                  std::to_string(room.anonymous) + " published");
  }
  for (const Conn* m : room.members) {
    const auto& got = m->got;
    const bool fits = got.size() <= seq.size();
    if (m->role == Role::kPublisher || m->role == Role::kReader) {
      if (got != seq)
        fail(m, "sequence differs from #" + std::to_string(ref->id) +
                    "'s: " + first_difference(got, seq.data(), seq.size()));
    } else if (m->role == Role::kLateReader) {
      if (!fits || !std::equal(got.begin(), got.end(),
                               seq.end() - static_cast<std::ptrdiff_t>(got.size()))) {
        fail(m,
             "not a suffix of the room's sequence: " +
                 first_difference(got, seq.data() + seq.size() - std::min(got.size(), seq.size()),
                                  std::min(got.size(), seq.size())));
      }
    } else if (!fits || !std::equal(got.begin(), got.end(), seq.begin())) {
      fail(m,
           "not a prefix of the room's sequence: " + first_difference(got, seq.data(), seq.size()));
    }
    if (!keeps_up(m->role)) continue;
    for (const Conn* p : room.publishers) {
      auto it = m->next_ctr.find(p->pub_id);
      const uint32_t upto = it != m->next_ctr.end() ? it->second : m->join_ctr.at(p->pub_id);
      if (upto != p->ctr) {
        fail(m, "publisher " + std::to_string(p->pub_id) + ": read up to #" + std::to_string(upto) +
                    " of " + std::to_string(p->ctr));
      }
    }
  }
}

void Driver::check_gauges() {
  const uint64_t bound = cfg_.max_shard_backlog + cfg_.max_message + (1u << 20);
  uint64_t sum = 0;
  for (unsigned i = 0; i < cfg_.shards; ++i) {
    const uint64_t peak = shard_metric(i, obs::Metric::kSendQueuedPeak);
    sum += peak;
    if (peak > bound) {
      fail(nullptr, "shard " + std::to_string(i) + " of " + std::to_string(cfg_.shards) +
                        ": send queues peaked at " + std::to_string(peak >> 20) +
                        " MiB, over --shard-backlog + --max-message + 1 MiB = " +
                        std::to_string(bound >> 20) + " MiB");
    }
  }
  if (sum == 0 && published_bytes_ > 0) {
    fail(nullptr, std::to_string(cfg_.shards) +
                      " shards: ringchat_send_queued_peak is 0 on every shard after " +
                      std::to_string(delivered_bytes_ >> 20) +
                      " MiB went through 4 KiB socket buffers: the gauge is not kept");
  }
}

void Driver::check_still_serves() {
  Client c(server_.port());
  if (c.fd() < 0 || c.upgrade("/ws/after-stress") != 101) {
    return fail(nullptr,
                std::to_string(cfg_.shards) + " shards: a new client gets no 101 after the run");
  }
  c.send_text("still serving");
  auto m = c.recv_data();
  if (!m || m->payload != "still serving") {
    fail(nullptr, std::to_string(cfg_.shards) + " shards: a new client gets no echo after the run");
  }
}

void Driver::sample_rss() {
  FILE* f = std::fopen("/proc/self/statm", "r");
  if (!f) return;
  unsigned long size = 0, resident = 0;
  if (std::fscanf(f, "%lu %lu", &size, &resident) == 2) {
    rss_peak_ = std::max(
        rss_peak_, static_cast<size_t>(resident) * static_cast<size_t>(sysconf(_SC_PAGESIZE)));
  }
  std::fclose(f);
}

std::string Driver::summary(double seconds) const {
  int stopped = 0, by_frame = 0, by_idle = 0, by_eof = 0, vanished = 0, late = 0;
  uint64_t ping = 0, blind = 0, http = 0, messages = 0;
  for (const auto& c : conns_) {
    if (c->must_close) {
      ++stopped;
      by_frame += c->close_code == 1008;
      by_idle += c->close_code == 1001;
      by_eof += c->saw_eof;
    }
    vanished += c->role == Role::kVanisher && c->state == State::kDone && c->close_code == 0;
    if (c->role == Role::kPingFlood) ping += c->flood_bytes;
    if (c->role == Role::kBlindPublisher) blind += c->flood_bytes;
    if (c->role == Role::kHttpFlood) http += c->flood_bytes;
    if (c->role == Role::kPublisher) messages += c->sent;
    late += c->role == Role::kLateReader;
  }
  std::ostringstream s;
  s.setf(std::ios::fixed);
  s.precision(1);
  s << cfg_.shards << " shards, " << seconds << " s: published " << messages << " messages ("
    << mib(published_bytes_) << " MiB), delivered " << mib(delivered_bytes_)
    << " MiB; stopped readers closed " << by_frame + by_idle + by_eof << "/" << stopped
    << " (1008: " << by_frame << ", 1001: " << by_idle << ", EOF: " << by_eof << "); vanished "
    << vanished << "; late readers joined mid-run " << late_joins_ << "/" << late
    << "; floods pushed ping " << mib(ping) << " MiB, blind " << mib(blind) << " MiB, HTTP "
    << mib(http) << " MiB; queued peak per shard [";
  for (unsigned i = 0; i < cfg_.shards; ++i) {
    s << (i ? ", " : "") << mib(shard_metric(i, obs::Metric::kSendQueuedPeak));
  }
  auto total = [&](obs::Metric m) { return server_.total(m); };
  s << "] MiB; slow-consumer closes " << total(obs::Metric::kSlowConsumerCloses) << ", sheds "
    << total(obs::Metric::kShardBacklogSheds) << ", input pauses "
    << total(obs::Metric::kInputPauses) << "; RSS peak " << mib(rss_peak_) << " MiB";
  return s.str();
}

ScenarioResult run_scenario(const ScenarioConfig& cfg, const PayloadPool& pool) {
  chat::ShardConfig sc = test_config(cfg.shards);
  if (cfg.server_cpu >= 0) sc.cpus = {cfg.server_cpu};
  sc.sndbuf = cfg.sndbuf;
  sc.max_message = cfg.max_message;
  sc.max_backlog = cfg.max_backlog;
  sc.max_shard_backlog = cfg.max_shard_backlog;
  // Late readers connect during set-up and send their request mid-run.
  sc.handshake_timeout_ms = 60000;
  // Server pings during the run: a ping queued behind a message bigger than
  // --send-backlog must not close a reader that keeps up.
  sc.ping_interval_ms = 1500;
  TestServer server(sc);
  if (server.port() == 0) return {{"the server did not start"}, {}};
  Driver driver(cfg, pool, server);
  return driver.run();
}

}  // namespace ringchat::testing::stress
