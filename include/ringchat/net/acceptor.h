#pragma once
#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <string>

#include "ringchat/core/event_loop.h"
#include "ringchat/core/reactor.h"
#include "ringchat/core/result.h"
#include "ringchat/net/conn_table.h"
#include "ringchat/net/listener.h"
#include "ringchat/obs/metrics.h"

namespace ringchat::net {

// A shard's listening sockets and the accepts on them: each accepted socket
// goes into the ring's direct-descriptor table and opens a slot of the
// ConnTable, with its peer address and its port's transport. Accepts are
// single-shot, kSlots of them armed per port, each with its own address
// buffer: a multishot accept would write every peer's address into one
// buffer, overwritten before a batch of completions is read. Completions of
// Op::kAccept come here (the tag's gen names the port).
// Thread: owner shard only.
class Acceptor final : public core::CompletionHandler {
 public:
  static constexpr uint32_t kSlots = 32;
  static constexpr size_t kMaxPorts = 2;

  Acceptor(core::Reactor& reactor, ConnTable& table, obs::ShardMetrics& metrics)
      : reactor_(reactor), table_(table), metrics_(metrics) {}
  ~Acceptor() override;
  Acceptor(const Acceptor&) = delete;
  Acceptor& operator=(const Acceptor&) = delete;

  // Listens on `bind`:`port` (SO_REUSEPORT; see listen_tcp); *bound gets the
  // port (for port 0). Its connections use `transport` (ConnTable::open).
  // REQUIRES: fewer than kMaxPorts, before start().
  Result<void, std::string> listen(const std::string& bind, uint16_t port,
                                   const SocketOptions& opts, uint16_t* bound,
                                   uint8_t transport = 0);
  // Arms every accept slot of every port.
  void start();
  // Stops accepting: cancels the accepts and closes the listeners, so new
  // clients are refused at once rather than left in the backlog.
  void stop();
  bool stopped() const { return stopped_; }

  void on_completion(const io_uring_cqe* cqe, core::Tag tag) override;

 private:
  struct Slot {
    sockaddr_storage addr;
    socklen_t len;
  };
  struct Port {
    int fd = -1;
    uint8_t transport = 0;
    std::array<Slot, kSlots> slots{};
  };
  void arm(uint32_t port, uint32_t i);

  core::Reactor& reactor_;
  ConnTable& table_;
  obs::ShardMetrics& metrics_;
  bool stopped_ = false;
  std::array<Port, kMaxPorts> ports_{};
  uint32_t port_count_ = 0;
};

}  // namespace ringchat::net
