#include "ringchat/app/server.h"

#include <liburing.h>
#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>

#include <algorithm>
#include <future>

#include "ringchat/core/check.h"
#include "ringchat/core/op.h"
#include "ringchat/net/listener.h"
#include "ringchat/obs/log.h"

namespace ringchat::app {

namespace {

void pin_to(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (const int err = pthread_setaffinity_np(pthread_self(), sizeof(set), &set); err != 0) {
    RC_WARN("could not pin to CPU %d", cpu).kv("event", "pin_failed").kv("cpu", cpu).err(err);
  }
}

// Shards listen with SO_REUSEPORT, which would let this server join the
// listeners of one already on the port, and the kernel would split clients
// (and so rooms) between the two. Unless that is asked for, a port in use
// is an error. Port 0 always gets a fresh port.
Result<void, std::string> check_port(const chat::ShardConfig& cfg, uint16_t port,
                                     const char* flag) {
  if (cfg.reuse_port || port == 0) return {};
  auto in_use = net::port_in_use(cfg.bind, port);
  if (!in_use) return Err(in_use.error());
  if (!*in_use) return {};
  return Err("port " + std::to_string(port) + " on " + cfg.bind +
             " is already in use (is another ringchat running?); stop it, pick another " + flag +
             ", or pass --reuse-port to share it deliberately for a rolling restart");
}

}  // namespace

uint64_t raise_nofile_limit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return 0;
  if (rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    getrlimit(RLIMIT_NOFILE, &rl);
  }
  return rl.rlim_cur;
}

uint32_t connections_per_shard(uint64_t nofile) {
  return static_cast<uint32_t>(std::min<uint64_t>(nofile ? nofile : 1024, kMaxTable));
}

unsigned shard_count(unsigned threads, const std::vector<int>& cpus) {
  return threads ? threads : static_cast<unsigned>(std::max<size_t>(1, cpus.size()));
}

Server::Server(const chat::ShardConfig& config) : shared_(std::make_unique<chat::Shared>(config)) {}

Server::~Server() {
  if (!threads_.empty()) {
    stop();
    wait();
  }
  // Shards release undelivered mail in their destructors: every thread has
  // stopped, so every ring is quiescent.
  shards_.clear();
}

void Server::set_allocator(chat::AllocatorHooks hooks) {
  // Shard threads read it; they do not exist yet, and creating them orders
  // this write before their reads.
  RC_CHECK(threads_.empty());
  shared_->allocator = hooks;
}

Result<uint16_t, std::string> Server::start() {
  const chat::ShardConfig& cfg = shared_->config;
  if (cfg.plain) {
    if (auto r = check_port(cfg, cfg.port, "--port"); !r) return Err(r.error());
  }
  if (cfg.tls) {
    if (auto r = check_port(cfg, cfg.tls_port, "--tls-port"); !r) return Err(r.error());
  }
  for (unsigned i = 0; i < cfg.shards; ++i) {
    shards_.push_back(std::make_unique<chat::Shard>(i, *shared_));
  }
  for (unsigned i = 0; i < cfg.shards; ++i) {
    std::promise<Result<void, std::string>> ready;
    auto ready_f = ready.get_future();
    int cpu = cfg.cpus.empty() ? -1 : cfg.cpus[i % cfg.cpus.size()];
    chat::Shard* shard = shards_[i].get();
    threads_.emplace_back([this, shard, cpu, &ready] {
      if (cpu >= 0) pin_to(cpu);
      auto r = shard->init();
      const bool ok = r.ok();
      ready.set_value(std::move(r));
      if (ok) shard->run();
      threads_done_.fetch_add(1);
    });
    auto r = ready_f.get();
    if (!r) {
      threads_.back().join();
      threads_.pop_back();
      stop();
      wait();
      return Err("shard " + std::to_string(i) + ": " + r.error());
    }
  }
  return shared_->bound_port.load();
}

void Server::stop() {
  // A throwaway ring on this thread: MSG_RING posts a kStop completion into
  // each shard's ring, waking it if it sleeps.
  io_uring ring;
  if (const int r = io_uring_queue_init(8, &ring, 0); r != 0) {
    RC_ERROR("cannot create control ring to stop shards").kv("event", "stop_failed").err(-r);
    return;
  }
  for (auto& fd_slot : shared_->ring_fds) {
    const int fd = fd_slot.load();
    if (fd < 0) continue;
    io_uring_sqe* sqe = io_uring_get_sqe(&ring);
    io_uring_prep_msg_ring(sqe, fd, 0, core::pack(core::Op::kStop, 0, 0), 0);
    io_uring_submit_and_wait(&ring, 1);
    io_uring_cqe* cqe;
    if (io_uring_peek_cqe(&ring, &cqe) == 0) io_uring_cqe_seen(&ring, cqe);
  }
  io_uring_queue_exit(&ring);
}

void Server::wait() {
  for (auto& t : threads_) t.join();
  threads_.clear();
  threads_done_.store(0);
}

}  // namespace ringchat::app
