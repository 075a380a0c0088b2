#pragma once
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "ringchat/app/config.h"
#include "ringchat/chat/shard.h"
#include "ringchat/core/result.h"

namespace ringchat::app {

// The whole server: shared state and one pinned thread per shard.
// Thread: the control thread (main, or a test) calls every method.
class Server {
 public:
  explicit Server(const chat::ShardConfig& config);
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;
  ~Server();

  // What the allocator offers the shards (chat::AllocatorHooks: trimming
  // when idle, its /metrics families; by default nothing).
  // REQUIRES: start() has not been called.
  void set_allocator(chat::AllocatorHooks hooks);
  // Starts the shards one by one (the first binds, so port 0 works) and
  // returns the bound plain port (0 without one) once every shard is
  // accepting. A port on which something already listens is an error unless
  // config.reuse_port.
  Result<uint16_t, std::string> start();
  // Asks every shard to drain (close WebSockets with 1001) and stop.
  void stop();
  // Joins the shard threads.
  void wait();
  // Every shard thread has returned (wait() would not block).
  bool stopped() const { return threads_done_.load() >= threads_.size(); }
  const obs::Registry& metrics() const { return shared_->metrics; }
  // The bound TLS port after start() (0 without TLS).
  uint16_t tls_port() const { return shared_->bound_tls_port.load(); }
  // The TLS context connections made from now on get (a reload); open ones
  // keep theirs. REQUIRES: the server was configured with TLS.
  void set_tls(std::shared_ptr<const tls::ServerContext> ctx) { shared_->tls.set(std::move(ctx)); }
  std::shared_ptr<const tls::ServerContext> tls() const { return shared_->tls.get(); }

 private:
  std::unique_ptr<chat::Shared> shared_;
  std::vector<std::unique_ptr<chat::Shard>> shards_;
  std::vector<std::thread> threads_;
  std::atomic<size_t> threads_done_{0};  // shard threads that returned
};

// Raises the soft RLIMIT_NOFILE to the hard limit; returns the new limit.
uint64_t raise_nofile_limit();

// The most connections one shard holds under RLIMIT_NOFILE `nofile` (0:
// unknown): the size of its direct-descriptor table, which the kernel caps
// at RLIMIT_NOFILE and at kMaxTable entries.
inline constexpr uint32_t kMaxTable = 1u << 20;
uint32_t connections_per_shard(uint64_t nofile);

// Shards for --threads `threads`: itself, or 0 for one per CPU of `cpus`
// (the process's affinity mask), at least one.
unsigned shard_count(unsigned threads, const std::vector<int>& cpus);

}  // namespace ringchat::app
