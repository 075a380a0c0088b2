#include "ringchat/core/reactor.h"

#include <sys/mman.h>

#include <cerrno>
#include <cstring>

#include "ringchat/core/check.h"

namespace ringchat::core {

namespace {

// Tries the fastest setup first and steps down one flag at a time, so an
// older kernel still gets a working ring and the log says what it lacks.
int setup_ring(io_uring* ring, const ReactorOptions& opts, std::string* what) {
  struct Attempt {
    unsigned flags;
    const char* name;
  };
  const Attempt attempts[] = {
      {IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_SUBMIT_ALL |
           IORING_SETUP_CQSIZE,
       "SINGLE_ISSUER+DEFER_TASKRUN"},
      {IORING_SETUP_COOP_TASKRUN | IORING_SETUP_SUBMIT_ALL | IORING_SETUP_CQSIZE,
       "COOP_TASKRUN (no DEFER_TASKRUN)"},
      {IORING_SETUP_CQSIZE, "plain (no COOP_TASKRUN)"},
  };
  int rc = -EINVAL;
  for (const Attempt& a : attempts) {
    io_uring_params p{};
    p.flags = a.flags;
    p.cq_entries = opts.cq_entries;
    rc = io_uring_queue_init_params(opts.sq_entries, ring, &p);
    if (rc == 0) {
      if (what) *what = a.name;
      return 0;
    }
    if (rc != -EINVAL) return rc;
  }
  return rc;
}

// Names the failed call for the caller and leaves its error in errno.
void failed(std::string* what, const char* call, int err) {
  if (what) *what = call;
  errno = err;
}

}  // namespace

Reactor::~Reactor() {
  if (ring_ok_) {
    if (buf_ring_) io_uring_unregister_buf_ring(&ring_, kBufferGroup);
    io_uring_queue_exit(&ring_);
  }
  if (buf_ring_) munmap(buf_ring_, buf_ring_bytes_);
  if (buffers_) munmap(buffers_, buffers_bytes_);
}

Result<void, Errc> Reactor::init(const ReactorOptions& opts, std::string* what) {
  int rc = setup_ring(&ring_, opts, what);
  if (rc < 0) {
    failed(what, "io_uring_queue_init", -rc);
    return Err(rc == -ENOSYS || rc == -EPERM ? Errc::kUnsupported : Errc::kSystem);
  }
  ring_ok_ = true;
  if (opts.fixed_files > 0) {
    rc = io_uring_register_files_sparse(&ring_, opts.fixed_files);
    if (rc < 0) {
      failed(what, "io_uring_register_files_sparse", -rc);
      return Err(Errc::kResourceLimit);
    }
    fixed_files_ = opts.fixed_files;
  }
  // Registering the ring fd saves an fget/fput per io_uring_enter.
  io_uring_register_ring_fd(&ring_);
  return init_buffers(opts, what);
}

Result<void, Errc> Reactor::init_buffers(const ReactorOptions& opts, std::string* what) {
  RC_CHECK(opts.buffer_count > 0 && (opts.buffer_count & (opts.buffer_count - 1)) == 0);
  buffer_count_ = opts.buffer_count;
  buffer_size_ = opts.buffer_size;
  buf_ring_bytes_ = sizeof(io_uring_buf) * buffer_count_;
  void* br =
      mmap(nullptr, buf_ring_bytes_, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (br == MAP_FAILED) {
    failed(what, "mmap", errno);
    return Err(Errc::kSystem);
  }
  buf_ring_ = static_cast<io_uring_buf_ring*>(br);
  // The buffers are mapped, not allocated: pages cost memory only once a
  // receive has used them, and there are a fixed number per shard.
  buffers_bytes_ = size_t{buffer_count_} * buffer_size_;
  void* bufs =
      mmap(nullptr, buffers_bytes_, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (bufs == MAP_FAILED) {
    failed(what, "mmap", errno);
    return Err(Errc::kSystem);
  }
  buffers_ = static_cast<std::byte*>(bufs);

  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<uint64_t>(buf_ring_);
  reg.ring_entries = buffer_count_;
  reg.bgid = kBufferGroup;
  int rc = io_uring_register_buf_ring(&ring_, &reg, 0);
  if (rc < 0) {
    failed(what, "io_uring_register_buf_ring", -rc);
    return Err(Errc::kUnsupported);
  }
  io_uring_buf_ring_init(buf_ring_);
  const int mask = io_uring_buf_ring_mask(buffer_count_);
  for (unsigned i = 0; i < buffer_count_; ++i) {
    io_uring_buf_ring_add(buf_ring_, buffers_ + size_t{i} * buffer_size_, buffer_size_,
                          static_cast<uint16_t>(i), mask, static_cast<int>(i));
  }
  io_uring_buf_ring_advance(buf_ring_, static_cast<int>(buffer_count_));
  return {};
}

std::vector<RingOp> Reactor::missing_ops() {
  std::vector<RingOp> missing;
  io_uring_probe* probe = io_uring_get_probe_ring(&ring_);
  for (const RingOp& op : kRingOps) {
    if (probe == nullptr || !io_uring_opcode_supported(probe, op.opcode)) missing.push_back(op);
  }
  if (probe) io_uring_free_probe(probe);
  return missing;
}

void Reactor::recycle(uint16_t bid) {
  io_uring_buf_ring_add(buf_ring_, buffers_ + size_t{bid} * buffer_size_, buffer_size_, bid,
                        io_uring_buf_ring_mask(buffer_count_), 0);
  io_uring_buf_ring_advance(buf_ring_, 1);
}

io_uring_sqe* Reactor::get_sqe() {
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
  while (sqe == nullptr) {
    // SQ full: push what we have to the kernel and try again.
    io_uring_submit(&ring_);
    sqe = io_uring_get_sqe(&ring_);
  }
  return sqe;
}

bool Reactor::submit_and_wait(int64_t timeout_ms) {
  return submit_and_wait_ns(timeout_ms < 0 ? -1 : timeout_ms * 1'000'000);
}

bool Reactor::submit_and_wait_ns(int64_t timeout_ns) {
  int rc;
  if (timeout_ns == 0) {
    rc = io_uring_submit_and_get_events(&ring_);
  } else if (timeout_ns < 0) {
    rc = io_uring_submit_and_wait(&ring_, 1);
  } else {
    __kernel_timespec ts{};
    ts.tv_sec = timeout_ns / 1'000'000'000;
    ts.tv_nsec = timeout_ns % 1'000'000'000;
    io_uring_cqe* cqe = nullptr;
    rc = io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, &ts, nullptr);
  }
  // -ETIME: timeout; -EINTR: a signal; -EBUSY/-EAGAIN: CQ overflow backlog,
  // handled by reaping. None is fatal.
  return rc >= 0 || rc == -ETIME || rc == -EINTR || rc == -EBUSY || rc == -EAGAIN;
}

}  // namespace ringchat::core
