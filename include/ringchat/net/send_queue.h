#pragma once
#include <sys/socket.h>
#include <sys/uio.h>

#include <cstddef>
#include <vector>

#include "ringchat/net/shared_buf.h"

namespace ringchat::net {

// A connection's outgoing buffers, sent with one sendmsg over an iovec of many
// buffers (write coalescing), at most one send in flight. It exists only
// while a connection has something to send: idle connections hold none.
// Thread: owner shard only.
class SendQueue {
 public:
  static constexpr size_t kMaxIov = 64;

  SendQueue() = default;
  SendQueue(const SendQueue&) = delete;
  SendQueue& operator=(const SendQueue&) = delete;
  ~SendQueue();

  // Takes one count of `lf`.
  void push(LocalBuf* lf);
  bool empty() const { return head_ == bufs_.size(); }
  bool in_flight() const { return in_flight_; }
  size_t backlog_bytes() const { return backlog_bytes_; }

  // Builds the msghdr for the next send over up to kMaxIov buffers.
  // REQUIRES: !empty() && !in_flight(). The msghdr lives until complete().
  const msghdr* prepare();
  // The in-flight send wrote `n` bytes (n >= 0); fully sent buffers are
  // released, a partial one resumes at its offset next time.
  void complete(size_t n);
  // The send failed: nothing more will be sent; buffers stay until destruction.
  void abort() { in_flight_ = false; }
  // Releases every buffer no byte of which has been offered to the socket
  // (those of an in-flight send stay until complete()). Returns the bytes
  // dropped. For a connection that is being closed: only what is on the wire
  // is finished, and the memory of the rest comes back at once.
  size_t drop_unstarted();
  size_t buffers() const { return bufs_.size() - head_; }

 private:
  std::vector<LocalBuf*> bufs_;
  size_t head_ = 0;
  size_t first_offset_ = 0;    // bytes of bufs_[head_] already sent
  size_t in_flight_bufs_ = 0;  // buffers from head_ that the in-flight send covers
  size_t backlog_bytes_ = 0;
  bool in_flight_ = false;
  msghdr msg_{};
  iovec iov_[kMaxIov];
};

}  // namespace ringchat::net
