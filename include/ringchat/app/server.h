#pragma once
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
};

// Raises the soft RLIMIT_NOFILE to the hard limit; returns the new limit.
uint64_t raise_nofile_limit();

}  // namespace ringchat::app
