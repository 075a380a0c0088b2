#include "runner.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "clock.h"
#include "tls_client.h"

namespace ringchat::ringload {
namespace {

constexpr uint64_t kStepNs = 50'000'000;

double self_cpu_s() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

}  // namespace

Runner::Runner(const Scenario& s, const std::atomic<bool>& interrupted)
    : s_(s), interrupted_(interrupted), phases_(s.phases()), plan_(build_plan(s)) {
  progress_ = s.progress == ProgressMode::kAlways ||
              (s.progress == ProgressMode::kAuto && isatty(STDERR_FILENO));
}

Runner::~Runner() {
  control_.stage.store(static_cast<int>(phases_.size()) + 2);
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
}

Result<void, std::string> Runner::resolve() {
  auto target = parse_url(s_.url);
  if (!target) return Err(target.error());
  endpoint_.target = *target;
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (int rc = getaddrinfo(target->host.c_str(), nullptr, &hints, &res); rc != 0 || !res) {
    return Err("cannot resolve " + target->host + ": " + gai_strerror(rc));
  }
  std::memcpy(&endpoint_.dest, res->ai_addr, sizeof endpoint_.dest);
  endpoint_.dest.sin_port = htons(target->port);
  freeaddrinfo(res);
  for (uint16_t port : s_.ports) {
    sockaddr_in d = endpoint_.dest;
    d.sin_port = htons(port);
    endpoint_.dests.push_back(d);
  }
  unsigned lo = 0, hi = 0;
  if (std::sscanf(report_.kernel.ip_local_port_range.c_str(), "%u %u", &lo, &hi) == 2 && lo > 0 &&
      hi >= lo && hi <= 65535) {
    endpoint_.port_lo = static_cast<uint16_t>(lo);
    endpoint_.port_hi = static_cast<uint16_t>(hi);
  }
  if (s_.tls) {
    auto ctx = TlsClientContext::create(s_.tls_ca, s_.tls_version);
    if (!ctx) return Err(ctx.error());
    tls_ = std::move(*ctx);
    endpoint_.tls = tls_.get();
  }
  for (const std::string& ip : s_.src_ips) {
    sockaddr_in src{};
    src.sin_family = AF_INET;
    if (inet_pton(AF_INET, ip.c_str(), &src.sin_addr) != 1)
      return Err("bad --src-ips address: " + ip);
    endpoint_.sources.push_back(src);
  }
  return {};
}

// One ring registers at most RLIMIT_NOFILE direct descriptors, so when the
// connections per worker would exceed it, the --cpus list is repeated
// (several workers share a CPU) until they fit.
std::vector<int> Runner::worker_cpus() {
  rlimit rl{};
  getrlimit(RLIMIT_NOFILE, &rl);
  const uint64_t per_ring = rl.rlim_cur > 64 ? rl.rlim_cur - 32 : 32;
  std::vector<int> cpus = s_.cpus;
  while (s_.connections > per_ring * cpus.size()) {
    cpus.push_back(s_.cpus[cpus.size() % s_.cpus.size()]);
  }
  if (cpus.size() != s_.cpus.size()) {
    report_.warnings.push_back(std::to_string(cpus.size()) +
                               " workers on the --cpus list: one io_uring holds at most " +
                               std::to_string(per_ring) + " connections (RLIMIT_NOFILE)");
  }
  return cpus;
}

Result<void, std::string> Runner::start_workers() {
  const std::vector<int> cpus = worker_cpus();
  const int n = static_cast<int>(cpus.size());
  worker_errors_.resize(static_cast<size_t>(n));
  for (int w = 0; w < n; ++w) {
    workers_.push_back(std::make_unique<Worker>(s_, plan_, endpoint_, control_, w, n, t0_));
  }
  for (int w = 0; w < n; ++w) {
    threads_.emplace_back([this, w, cpu = cpus[static_cast<size_t>(w)]] {
      cpu_set_t set;
      CPU_ZERO(&set);
      CPU_SET(cpu, &set);
      if (sched_setaffinity(0, sizeof set, &set) != 0) {
        worker_errors_[static_cast<size_t>(w)] = "cannot pin to CPU " + std::to_string(cpu);
      }
      auto r = workers_[static_cast<size_t>(w)]->run();
      if (!r) worker_errors_[static_cast<size_t>(w)] = r.error();
      release_tls_thread_caches();
    });
  }
  return {};
}

bool Runner::all_settled() const {
  uint64_t settled = 0;
  for (const auto& w : workers_) {
    if (w->live().exited.load()) return true;
    settled += w->live().settled.load(std::memory_order_relaxed);
  }
  return settled >= uint64_t{s_.connections} + plan_.publishers;
}

bool Runner::handshakes_done() const {
  for (const auto& w : workers_) {
    if (!w->live().quota_done.load(std::memory_order_relaxed) && !w->live().exited.load())
      return false;
  }
  return true;
}

bool Runner::quiet() const {
  const uint64_t now = now_ns();
  uint64_t delivered = 0;
  for (const auto& w : workers_) delivered += w->live().delivered.load(std::memory_order_relaxed);
  if (delivered != quiet_last_ || quiet_since_ == 0) {
    quiet_last_ = delivered;
    quiet_since_ = now;
    return false;
  }
  return now - quiet_since_ > 300'000'000;
}

bool Runner::wait_for(uint64_t ns, const std::string& label, bool (Runner::*done)() const) {
  const uint64_t end = now_ns() + ns;
  while (now_ns() < end) {
    if (interrupted_.load()) return false;
    if (done && (this->*done)()) return true;
    maybe_go();
    if (rolling_) rolling_->step(now_ns(), phases_ns_);
    const uint64_t left = end - std::min(end, now_ns());
    const uint64_t step = std::min(left, kStepNs);
    timespec ts{static_cast<time_t>(step / kNsPerSec), static_cast<long>(step % kNsPerSec)};
    nanosleep(&ts, nullptr);
    tick(label);
  }
  return true;
}

// Fan-out rounds start once every client is open (or gave up), plus
// --settle for servers that register a member just after the 101.
void Runner::maybe_go() {
  if (control_.go.load() || s_.mode != Mode::kFanout || control_.stage.load() < 1 || !all_settled())
    return;
  const uint64_t now = now_ns();
  if (settled_at_ns_ == 0) settled_at_ns_ = now;
  if (now - settled_at_ns_ >= static_cast<uint64_t>(s_.settle_s * 1e9)) control_.go.store(true);
}

void Runner::tick(const std::string& label) {
  const uint64_t now = now_ns();
  if (now - last_tick_ns_ < kNsPerSec) return;
  const double dt = static_cast<double>(now - last_tick_ns_) / 1e9;
  last_tick_ns_ = now;
  Sample smp;
  smp.t_s = static_cast<double>(now - t0_) / 1e9;
  smp.phase = label;
  Histogram h;
  uint64_t sent = 0, delivered = 0, errors = 0, cycles = 0, reconnects = 0, failures = 0;
  for (const auto& w : workers_) {
    WorkerLive& l = w->live();
    cycles += l.cycles.load(std::memory_order_relaxed);
    reconnects += l.reconnects.load(std::memory_order_relaxed);
    failures += l.connect_failures.load(std::memory_order_relaxed);
    sent += l.sent.load(std::memory_order_relaxed);
    delivered += l.delivered.load(std::memory_order_relaxed);
    errors += l.errors.load(std::memory_order_relaxed);
    smp.open += l.open.load(std::memory_order_relaxed);
    std::lock_guard<std::mutex> lock(l.mu);
    h.merge(l.interval);
    l.interval.reset();
  }
  smp.sent_per_s = static_cast<double>(sent - last_sent_) / dt;
  smp.delivered_per_s = static_cast<double>(delivered - last_delivered_) / dt;
  smp.handshakes_per_s = static_cast<double>(cycles - last_cycles_) / dt;
  smp.errors_per_s = static_cast<double>(errors - last_errors_) / dt;
  smp.reconnects_per_s = static_cast<double>(reconnects - last_reconnects_) / dt;
  smp.connect_failures_per_s = static_cast<double>(failures - last_connect_failures_) / dt;
  last_errors_ = errors;
  last_reconnects_ = reconnects;
  last_connect_failures_ = failures;
  last_sent_ = sent;
  last_delivered_ = delivered;
  last_cycles_ = cycles;
  smp.p50_ns = h.percentile(50);
  smp.p99_ns = h.percentile(99);
  smp.max_ns = h.max();
  if (progress_ && s_.mode == Mode::kHandshake) {
    std::fprintf(stderr, "[%6.1fs %-7s] handshakes %.0f/s  p50 %.0fus  p99 %.0fus  errors %llu\n",
                 smp.t_s, label.c_str(), smp.handshakes_per_s,
                 static_cast<double>(smp.p50_ns) / 1e3, static_cast<double>(smp.p99_ns) / 1e3,
                 static_cast<unsigned long long>(errors));
  } else if (progress_) {
    std::fprintf(stderr,
                 "[%6.1fs %-7s] open %u/%u  sent %.0f/s  delivered %.0f/s  p50 %.0fus  p99 %.0fus  "
                 "errors %llu\n",
                 smp.t_s, label.c_str(), smp.open, s_.connections, smp.sent_per_s,
                 smp.delivered_per_s, static_cast<double>(smp.p50_ns) / 1e3,
                 static_cast<double>(smp.p99_ns) / 1e3, static_cast<unsigned long long>(errors));
  }
  report_.timeline.push_back(std::move(smp));
}

Runner::Snapshot Runner::snapshot() const {
  Snapshot snap;
  snap.wall_s = static_cast<double>(now_ns() - t0_) / 1e9;
  snap.client_cpu_s = self_cpu_s();
  if (s_.server_pid > 0) {
    snap.server_cpu_s = process_cpu_s(s_.server_pid);
    snap.server_rss_bytes = process_rss_bytes(s_.server_pid);
  }
  for (const auto& w : workers_) snap.worker_cpu_s.push_back(thread_cpu_s(w->live().tid.load()));
  return snap;
}

}  // namespace ringchat::ringload
