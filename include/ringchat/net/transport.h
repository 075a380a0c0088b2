#pragma once
#include <sys/socket.h>

#include <cstddef>
#include <span>

#include "ringchat/net/conn.h"

namespace ringchat::net {

// The seam between the socket and the protocols. Bytes in from the buffer
// ring go through the connection's transport before its protocol sees them;
// bytes out (the send queue: plaintext) go through it before sendmsg. Plain
// passes both through; TLS will decrypt and encrypt here.
// Thread: owner shard only; one instance serves every connection using it.
class Transport {
 public:
  virtual ~Transport() = default;
  // Bytes the socket delivered. Returns the plaintext to hand the protocol
  // (may point into `wire`, or into the transport's own buffer until the
  // next call for this connection); empty when there is none yet.
  virtual std::span<std::byte> decode(Conn& c, std::span<std::byte> wire) = 0;
  // The next sendmsg for `c`'s queued bytes, or null if nothing is ready.
  // REQUIRES: no send of `c` is in flight. The msghdr lives until sent().
  virtual const msghdr* prepare_send(Conn& c) = 0;
  // The send prepared last wrote `n` bytes to the socket.
  virtual void sent(Conn& c, size_t n) = 0;
  // Bytes queued for `c` that have not reached the socket (its backlog).
  virtual size_t unsent(const Conn& c) const = 0;
};

// No transformation: the send queue's buffers go to sendmsg as they are.
class PlainTransport final : public Transport {
 public:
  std::span<std::byte> decode(Conn&, std::span<std::byte> wire) override { return wire; }
  const msghdr* prepare_send(Conn& c) override {
    return c.sendq && !c.sendq->empty() ? c.sendq->prepare() : nullptr;
  }
  void sent(Conn& c, size_t n) override { c.sendq->complete(n); }
  size_t unsent(const Conn& c) const override { return c.sendq ? c.sendq->backlog_bytes() : 0; }
};

}  // namespace ringchat::net
