#include "ringchat/core/reactor.h"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <set>
#include <string>

#include "ringchat/core/op.h"

namespace ringchat::core {
namespace {

// A small reactor for one test, skipped where io_uring is unavailable, with
// a vocabulary for waiting on completions under a deadline.
class ReactorTest : public testing::Test {
 protected:
  static constexpr int kDeadlineMs = 10000;

  void start(ReactorOptions opts) {
    std::string what;
    Result<void, Errc> r = reactor_.init(opts, &what);
    if (!r.ok() && r.error() == Errc::kUnsupported) {
      GTEST_SKIP() << "io_uring unavailable: " << std::strerror(errno);
    }
    ASSERT_TRUE(r.ok()) << to_string(r.error()) << ": " << std::strerror(errno);
    EXPECT_FALSE(what.empty()) << "init must say which setup it got";
  }

  // Waits for the next CQE and copies it out; false at the deadline.
  bool next_cqe(io_uring_cqe* out) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kDeadlineMs);
    while (std::chrono::steady_clock::now() < deadline) {
      io_uring_cqe* cqe = nullptr;
      if (io_uring_peek_cqe(reactor_.ring(), &cqe) == 0 && cqe != nullptr) {
        *out = *cqe;
        io_uring_cqe_seen(reactor_.ring(), cqe);
        return true;
      }
      if (!reactor_.submit_and_wait(1000)) return false;
    }
    return false;
  }

  void arm_recv(int fd, uint32_t slot) {
    io_uring_sqe* sqe = reactor_.get_sqe();
    io_uring_prep_recv_multishot(sqe, fd, nullptr, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = Reactor::kBufferGroup;
    io_uring_sqe_set_data64(sqe, pack(Op::kRecv, slot, 1));
  }

  void make_pair() { ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds_), 0); }
  void send_text(const std::string& s) {
    ASSERT_EQ(write(fds_[1], s.data(), s.size()), static_cast<ssize_t>(s.size()));
  }
  std::string text_of(const io_uring_cqe& cqe) {
    const uint16_t bid = static_cast<uint16_t>(cqe.flags >> IORING_CQE_BUFFER_SHIFT);
    std::span<std::byte> b = reactor_.buffer(bid, static_cast<size_t>(cqe.res));
    return std::string(reinterpret_cast<const char*>(b.data()), b.size());
  }

  void TearDown() override {
    for (int fd : fds_) {
      if (fd >= 0) close(fd);
    }
  }

  static ReactorOptions small_options() {
    ReactorOptions o;
    o.sq_entries = 8;
    o.cq_entries = 64;
    o.buffer_count = 4;
    o.buffer_size = 64;
    return o;
  }

  Reactor reactor_;
  int fds_[2] = {-1, -1};
};

TEST_F(ReactorTest, InitSetsUpARing) {
  ASSERT_NO_FATAL_FAILURE(start(small_options()));
  if (IsSkipped()) return;
  EXPECT_GE(reactor_.ring_fd(), 0);
  EXPECT_EQ(reactor_.fixed_files(), 0u);
}

TEST_F(ReactorTest, InitRegistersSparseFixedFiles) {
  ReactorOptions o = small_options();
  o.fixed_files = 16;
  ASSERT_NO_FATAL_FAILURE(start(o));
  if (IsSkipped()) return;
  EXPECT_EQ(reactor_.fixed_files(), 16u);
}

TEST_F(ReactorTest, GetSqeSubmitsWhenTheQueueIsFull) {
  ReactorOptions o = small_options();
  o.sq_entries = 4;
  ASSERT_NO_FATAL_FAILURE(start(o));
  if (IsSkipped()) return;
  const unsigned sq = reactor_.ring()->sq.ring_entries;
  const unsigned total = sq * 5;
  for (unsigned i = 0; i < total; ++i) {
    io_uring_sqe* sqe = reactor_.get_sqe();
    ASSERT_NE(sqe, nullptr) << "at request " << i;
    io_uring_prep_nop(sqe);
    io_uring_sqe_set_data64(sqe, pack(Op::kNone, i, 0));
  }
  std::set<uint32_t> seen;
  io_uring_cqe cqe{};
  while (seen.size() < total) {
    ASSERT_TRUE(next_cqe(&cqe)) << "only " << seen.size() << " of " << total << " completed";
    EXPECT_EQ(cqe.res, 0);
    EXPECT_TRUE(seen.insert(unpack(cqe.user_data).slot).second) << "duplicate completion";
  }
}

TEST_F(ReactorTest, ProvidedBufferRecvDeliversIntoBuffer) {
  ASSERT_NO_FATAL_FAILURE(start(small_options()));
  if (IsSkipped()) return;
  make_pair();
  arm_recv(fds_[0], 3);
  send_text("hello ring");
  io_uring_cqe cqe{};
  ASSERT_TRUE(next_cqe(&cqe));
  EXPECT_EQ(unpack(cqe.user_data).op, Op::kRecv);
  EXPECT_EQ(unpack(cqe.user_data).slot, 3u);
  ASSERT_EQ(cqe.res, 10);
  ASSERT_TRUE(cqe.flags & IORING_CQE_F_BUFFER);
  EXPECT_EQ(text_of(cqe), "hello ring");
}

TEST_F(ReactorTest, RecycleLetsMoreReceivesThanBuffersProceed) {
  ASSERT_NO_FATAL_FAILURE(start(small_options()));
  if (IsSkipped()) return;
  make_pair();
  arm_recv(fds_[0], 1);
  const int kMessages = 4 * 6;  // six times the buffer count
  io_uring_cqe cqe{};
  for (int i = 0; i < kMessages; ++i) {
    std::string msg = "message ";
    msg += std::to_string(i);
    send_text(msg);
    ASSERT_TRUE(next_cqe(&cqe)) << "message " << i;
    ASSERT_EQ(cqe.res, static_cast<int>(msg.size())) << "message " << i;
    ASSERT_TRUE(cqe.flags & IORING_CQE_F_BUFFER);
    EXPECT_EQ(text_of(cqe), msg);
    reactor_.recycle(static_cast<uint16_t>(cqe.flags >> IORING_CQE_BUFFER_SHIFT));
    if (!(cqe.flags & IORING_CQE_F_MORE)) arm_recv(fds_[0], 1);
  }
}

TEST_F(ReactorTest, WithoutRecycleReceivesRunOutOfBuffers) {
  ASSERT_NO_FATAL_FAILURE(start(small_options()));
  if (IsSkipped()) return;
  make_pair();
  arm_recv(fds_[0], 1);
  io_uring_cqe cqe{};
  std::set<uint16_t> bids;
  for (int i = 0; i < 4; ++i) {
    std::string msg = "x";
    msg += std::to_string(i);
    send_text(msg);
    ASSERT_TRUE(next_cqe(&cqe));
    ASSERT_EQ(cqe.res, 2);
    bids.insert(static_cast<uint16_t>(cqe.flags >> IORING_CQE_BUFFER_SHIFT));
  }
  EXPECT_EQ(bids.size(), 4u) << "each receive takes its own buffer";
  send_text("late");
  ASSERT_TRUE(next_cqe(&cqe));
  EXPECT_EQ(cqe.res, -ENOBUFS);
  EXPECT_FALSE(cqe.flags & IORING_CQE_F_MORE);
  // Buffers come back only through recycle(); then a re-arm gets the data.
  for (uint16_t bid : bids) reactor_.recycle(bid);
  arm_recv(fds_[0], 1);
  ASSERT_TRUE(next_cqe(&cqe));
  ASSERT_EQ(cqe.res, 4);
  EXPECT_EQ(text_of(cqe), "late");
}

TEST_F(ReactorTest, SubmitAndWaitWithZeroTimeoutDoesNotBlock) {
  ASSERT_NO_FATAL_FAILURE(start(small_options()));
  if (IsSkipped()) return;
  EXPECT_TRUE(reactor_.submit_and_wait(0));
  io_uring_cqe* cqe = nullptr;
  EXPECT_EQ(io_uring_peek_cqe(reactor_.ring(), &cqe), -EAGAIN);
}

TEST_F(ReactorTest, SubmitAndWaitTimeoutIsNotAnError) {
  ASSERT_NO_FATAL_FAILURE(start(small_options()));
  if (IsSkipped()) return;
  EXPECT_TRUE(reactor_.submit_and_wait(1));
}

TEST_F(ReactorTest, SubmitAndWaitNsTimeoutIsNotAnError) {
  ASSERT_NO_FATAL_FAILURE(start(small_options()));
  if (IsSkipped()) return;
  EXPECT_TRUE(reactor_.submit_and_wait_ns(200'000));  // 200 us, below a millisecond
  EXPECT_TRUE(reactor_.submit_and_wait_ns(0));
  io_uring_cqe* cqe = nullptr;
  EXPECT_EQ(io_uring_peek_cqe(reactor_.ring(), &cqe), -EAGAIN);
}

TEST_F(ReactorTest, SubmitAndWaitNsSubmitsAndReturnsTheCompletion) {
  ASSERT_NO_FATAL_FAILURE(start(small_options()));
  if (IsSkipped()) return;
  io_uring_sqe* sqe = reactor_.get_sqe();
  io_uring_prep_nop(sqe);
  io_uring_sqe_set_data64(sqe, pack(Op::kNone, 7, 0));
  ASSERT_TRUE(reactor_.submit_and_wait_ns(int64_t{kDeadlineMs} * 1'000'000));
  io_uring_cqe cqe{};
  ASSERT_TRUE(next_cqe(&cqe));
  EXPECT_EQ(unpack(cqe.user_data).slot, 7u);
}

TEST_F(ReactorTest, InitTakesTheCallersSizes) {
  ReactorOptions o = small_options();
  o.sq_entries = 16;
  o.cq_entries = 256;
  o.buffer_count = 8;
  o.buffer_size = 32;
  ASSERT_NO_FATAL_FAILURE(start(o));
  if (IsSkipped()) return;
  EXPECT_EQ(reactor_.ring()->sq.ring_entries, 16u);
  EXPECT_EQ(reactor_.ring()->cq.ring_entries, 256u);
  make_pair();
  arm_recv(fds_[0], 1);
  send_text(std::string(40, 'a'));  // more than one 32-byte buffer holds
  io_uring_cqe cqe{};
  ASSERT_TRUE(next_cqe(&cqe));
  ASSERT_TRUE(cqe.flags & IORING_CQE_F_BUFFER);
  EXPECT_EQ(cqe.res, 32);
}

TEST_F(ReactorTest, FailedInitNamesTheCallThatFailed) {
  ReactorOptions o = small_options();
  o.fixed_files = 1u << 21;  // over IORING_MAX_FIXED_FILES whatever RLIMIT_NOFILE is
  // liburing raises RLIMIT_NOFILE on EMFILE and retries; put it back after.
  rlimit before{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &before), 0);
  std::string what;
  Result<void, Errc> r = reactor_.init(o, &what);
  const int err = errno;
  setrlimit(RLIMIT_NOFILE, &before);
  errno = err;
  if (!r.ok() && r.error() == Errc::kUnsupported) {
    GTEST_SKIP() << "io_uring unavailable: " << std::strerror(errno);
  }
  ASSERT_FALSE(r.ok()) << "a table of 2^21 direct descriptors was accepted";
  EXPECT_EQ(r.error(), Errc::kResourceLimit);
  EXPECT_EQ(what, "io_uring_register_files_sparse");
  EXPECT_EQ(errno, EMFILE);
}

}  // namespace
}  // namespace ringchat::core
