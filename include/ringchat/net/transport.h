#pragma once
#include <sys/socket.h>

#include <cstddef>
#include <span>

#include "ringchat/net/conn.h"
#include "ringchat/net/shared_buf.h"

namespace ringchat::net {

// What a transport made of the bytes the socket delivered.
struct Decoded {
  // Plaintext for the protocol (may point into the bytes delivered, or into
  // the transport's own buffer until the next call for any connection).
  std::span<std::byte> data;
  bool flush = false;  // it has bytes of its own to send (a handshake's)
  // The peer broke the transport's protocol or ended it: the connection
  // closes (after `data` is handed to the protocol, and what the transport
  // queued, an alert, goes out).
  bool closed = false;
};

// The seam between the socket and the protocols. Bytes in from the buffer
// ring go through the connection's transport before its protocol sees them;
// bytes out (the send queue: plaintext) go through it before sendmsg. Plain
// passes both through; TLS decrypts and encrypts here.
// Thread: owner shard only; one instance serves every connection using it.
class Transport {
 public:
  virtual ~Transport() = default;
  // The shard's output budget, for bytes the transport holds of its own
  // (ciphertext); called once, as the table takes the transport.
  virtual void attach(SendBudget&) {}
  // `c` was accepted on this transport's port; release() comes once, as
  // its slot is freed.
  virtual void open(Conn&) {}
  virtual void release(Conn&) {}
  // Bytes the socket delivered (only while `c` is kOpen).
  virtual Decoded decode(Conn& c, std::span<std::byte> wire) = 0;
  // The next sendmsg for `c`, or null if nothing is ready. May take bytes
  // from the send queue (c.sendq, which may be null). A kClosing connection
  // gets its transport's last words here once its queue is empty.
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
  Decoded decode(Conn&, std::span<std::byte> wire) override { return {wire}; }
  const msghdr* prepare_send(Conn& c) override {
    return c.sendq && !c.sendq->empty() ? c.sendq->prepare() : nullptr;
  }
  void sent(Conn& c, size_t n) override { c.sendq->complete(n); }
  size_t unsent(const Conn& c) const override { return c.sendq ? c.sendq->backlog_bytes() : 0; }
};

}  // namespace ringchat::net
