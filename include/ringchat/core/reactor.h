#pragma once
#include <liburing.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "ringchat/core/errc.h"
#include "ringchat/core/result.h"

namespace ringchat::core {

struct ReactorOptions {
  unsigned sq_entries = 4096;
  unsigned cq_entries = 16384;  // multishot ops post many CQEs per SQE
  unsigned fixed_files = 0;     // sparse direct-descriptor table size
  unsigned buffer_count = 512;  // provided receive buffers (power of two)
  unsigned buffer_size = 16384;
};

// What the server's shards ask of a ring beyond what init() sets up: the
// opcodes they submit (net: accept, receive, send, shutdown, cancel, close;
// chat and app: MSG_RING doorbells and stops; redis: connect, single-shot
// receive, send, cancel and close of a plain descriptor), each with the Linux release
// that gave it the form used here, and the IORING_FEAT_* behaviour they rely
// on. `ringchat doctor` checks a kernel against these lists.
struct RingOp {
  uint8_t opcode;
  const char* name;
  const char* since;  // the form the shards use (direct descriptors, multishot, ...)
};
inline constexpr RingOp kRingOps[] = {
    {IORING_OP_ACCEPT, "ACCEPT", "5.19"},  // into a direct descriptor, IORING_FILE_INDEX_ALLOC
    {IORING_OP_RECV, "RECV", "6.0"},       // multishot, from the provided-buffer ring
    {IORING_OP_SENDMSG, "SENDMSG", "5.3"},
    {IORING_OP_SHUTDOWN, "SHUTDOWN", "5.11"},
    {IORING_OP_ASYNC_CANCEL, "ASYNC_CANCEL", "5.19"},  // IORING_ASYNC_CANCEL_FD_FIXED | _ALL
    {IORING_OP_CLOSE, "CLOSE", "5.15"},                // of a direct descriptor
    {IORING_OP_MSG_RING, "MSG_RING", "5.18"},
    {IORING_OP_CONNECT, "CONNECT", "5.5"},  // redis::Link, a plain descriptor
    {IORING_OP_SEND, "SEND", "5.6"},        // redis::Link, one buffer
};
struct RingFeature {
  uint32_t flag;
  const char* name;
};
inline constexpr RingFeature kRingFeatures[] = {
    {IORING_FEAT_NODROP, "NODROP"},        // a full CQ keeps completions (multishot posts many)
    {IORING_FEAT_FAST_POLL, "FAST_POLL"},  // socket ops wait by poll, not in io-wq threads
    {IORING_FEAT_EXT_ARG, "EXT_ARG"},      // timed waits without a timeout SQE
};

// One io_uring owned by one shard thread: setup with SINGLE_ISSUER and
// DEFER_TASKRUN where the kernel has them (a logged fallback otherwise), a
// sparse direct-descriptor table, and one provided-buffer ring for receives.
// Thread: the shard thread that called init() only (io_uring's submitter task).
class Reactor {
 public:
  Reactor() = default;
  Reactor(const Reactor&) = delete;
  Reactor& operator=(const Reactor&) = delete;
  ~Reactor();

  // Must run on the thread that will use the ring. On success `what` names
  // the setup the kernel gave (and so any fallback); on failure it names the
  // call that failed ("io_uring_queue_init", "io_uring_register_files_sparse",
  // "mmap", "io_uring_register_buf_ring"), with errno set to its error.
  // Errc::kResourceLimit means only the direct-descriptor table did not fit
  // (its size is bounded by RLIMIT_NOFILE).
  Result<void, Errc> init(const ReactorOptions& opts, std::string* what);

  // Never fails: when the SQ is full it submits and retries.
  io_uring_sqe* get_sqe();
  // Submits, then waits for at least one CQE or `timeout_ms` (< 0: forever,
  // 0: don't wait). Returns false only on a fatal ring error.
  bool submit_and_wait(int64_t timeout_ms);
  // The same with a timeout in nanoseconds, for loops whose deadlines are
  // finer than a millisecond (tools/ringload's send schedule).
  bool submit_and_wait_ns(int64_t timeout_ns);
  io_uring* ring() { return &ring_; }
  int ring_fd() const { return ring_.ring_fd; }
  unsigned fixed_files() const { return fixed_files_; }
  // The kRingOps this ring's kernel does not support (IORING_REGISTER_PROBE);
  // every one of them when the kernel cannot say. REQUIRES: init() succeeded.
  std::vector<RingOp> missing_ops();

  // Provided-buffer ring. A CQE carrying IORING_CQE_F_BUFFER names the buffer
  // in its flags; hand it back with recycle() once its bytes are consumed.
  static constexpr uint16_t kBufferGroup = 0;
  std::span<std::byte> buffer(uint16_t bid, size_t len) {
    return {buffers_ + size_t{bid} * buffer_size_, len};
  }
  void recycle(uint16_t bid);

 private:
  Result<void, Errc> init_buffers(const ReactorOptions& opts, std::string* what);

  io_uring ring_{};
  bool ring_ok_ = false;
  unsigned fixed_files_ = 0;
  io_uring_buf_ring* buf_ring_ = nullptr;
  size_t buf_ring_bytes_ = 0;
  std::byte* buffers_ = nullptr;
  size_t buffers_bytes_ = 0;
  unsigned buffer_count_ = 0;
  unsigned buffer_size_ = 0;
};

}  // namespace ringchat::core
