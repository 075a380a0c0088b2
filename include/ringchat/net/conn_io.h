#pragma once
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <span>

#include "ringchat/core/reactor.h"

namespace ringchat::net {

// The operations a ConnTable asks of its ring, each on a connection's direct
// descriptor (its slot) and tagged with the slot's generation. The seam lets
// tests drive a table with no ring and no socket.
// Thread: owner shard only.
class ConnIo {
 public:
  virtual ~ConnIo() = default;
  // A multishot recv into the provided-buffer ring.
  virtual void recv(uint32_t slot, uint32_t gen) = 0;
  // The bytes a recv completion with res > 0 delivered (valid until the
  // completion is done with).
  virtual std::span<std::byte> received(const io_uring_cqe* cqe) = 0;
  // Cancels that recv (its last completion says -ECANCELED).
  virtual void cancel_recv(uint32_t slot, uint32_t gen) = 0;
  virtual void send(uint32_t slot, uint32_t gen, const msghdr* msg) = 0;
  virtual void shutdown(uint32_t slot, uint32_t gen) = 0;
  // Cancels every request on the descriptor.
  virtual void cancel_all(uint32_t slot) = 0;
  // Closes the direct descriptor (no completion is acted on).
  virtual void close(uint32_t slot, uint32_t gen) = 0;
};

// ConnIo over a shard's io_uring.
class ReactorIo final : public ConnIo {
 public:
  explicit ReactorIo(core::Reactor& r) : reactor_(r) {}
  void recv(uint32_t slot, uint32_t gen) override;
  std::span<std::byte> received(const io_uring_cqe* cqe) override {
    return reactor_.buffer(static_cast<uint16_t>(cqe->flags >> IORING_CQE_BUFFER_SHIFT),
                           static_cast<size_t>(cqe->res));
  }
  void cancel_recv(uint32_t slot, uint32_t gen) override;
  void send(uint32_t slot, uint32_t gen, const msghdr* msg) override;
  void shutdown(uint32_t slot, uint32_t gen) override;
  void cancel_all(uint32_t slot) override;
  void close(uint32_t slot, uint32_t gen) override;

 private:
  core::Reactor& reactor_;
};

}  // namespace ringchat::net
