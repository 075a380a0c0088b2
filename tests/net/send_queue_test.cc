#include "ringchat/net/send_queue.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace ringchat::net {
namespace {

// A queue plus the frames pushed into it. The fixture keeps one reference
// of every frame, so `released(i)` can tell whether the queue let go of its
// own, and frees them all at the end.
class SendQueueTest : public testing::Test {
 protected:
  void TearDown() override {
    queue_.reset();
    for (SharedBuf* f : bufs_) f->release();
  }

  void push(const std::string& content) {
    SharedBuf* f = SharedBuf::create(content.size());
    std::memcpy(f->data(), content.data(), content.size());
    f->refs.fetch_add(1);
    bufs_.push_back(f);
    queue_->push(LocalBuf::create(f, 1));
    pushed_ += content;
  }
  void push_n(size_t n, size_t size) {
    for (size_t i = 0; i < n; ++i) push(std::string(size, static_cast<char>('a' + i % 26)));
  }
  bool released(size_t i) const { return bufs_[i]->refs.load() == 1; }

  static std::string iov_text(const msghdr* m) {
    std::string s;
    for (size_t i = 0; i < m->msg_iovlen; ++i) {
      s.append(static_cast<const char*>(m->msg_iov[i].iov_base), m->msg_iov[i].iov_len);
    }
    return s;
  }
  // One send that writes `n` bytes; returns what it wrote.
  std::string send(size_t n) {
    std::string all = iov_text(queue_->prepare());
    queue_->complete(n);
    return all.substr(0, n);
  }

  std::unique_ptr<SendQueue> queue_ = std::make_unique<SendQueue>();
  std::vector<SharedBuf*> bufs_;
  std::string pushed_;
};

TEST_F(SendQueueTest, StartsEmpty) {
  EXPECT_TRUE(queue_->empty());
  EXPECT_FALSE(queue_->in_flight());
  EXPECT_EQ(queue_->backlog_bytes(), 0u);
}

TEST_F(SendQueueTest, PrepareCoversEveryQueuedFrameInOrder) {
  push("hello ");
  push("wide ");
  push("world");
  const msghdr* m = queue_->prepare();
  EXPECT_EQ(m->msg_iovlen, 3u);
  EXPECT_EQ(iov_text(m), "hello wide world");
  EXPECT_EQ(m->msg_name, nullptr);
  EXPECT_EQ(m->msg_control, nullptr);
  EXPECT_TRUE(queue_->in_flight());
}

TEST_F(SendQueueTest, IovecsPointIntoTheSharedFrames) {
  push("abc");
  const msghdr* m = queue_->prepare();
  EXPECT_EQ(m->msg_iov[0].iov_base, static_cast<void*>(bufs_[0]->data()));
}

TEST_F(SendQueueTest, FullCompleteReleasesEveryFrame) {
  push("one");
  push("two");
  EXPECT_EQ(send(6), "onetwo");
  EXPECT_TRUE(queue_->empty());
  EXPECT_FALSE(queue_->in_flight());
  EXPECT_TRUE(released(0));
  EXPECT_TRUE(released(1));
  EXPECT_EQ(queue_->backlog_bytes(), 0u);
}

TEST_F(SendQueueTest, PartialSendResumesInsideAFrame) {
  push("abcdefgh");
  EXPECT_EQ(send(3), "abc");
  EXPECT_FALSE(released(0));
  const msghdr* m = queue_->prepare();
  EXPECT_EQ(iov_text(m), "defgh");
  EXPECT_EQ(m->msg_iov[0].iov_base, static_cast<void*>(bufs_[0]->data() + 3));
  queue_->complete(5);
  EXPECT_TRUE(released(0));
  EXPECT_TRUE(queue_->empty());
}

TEST_F(SendQueueTest, PartialSendAcrossAFrameBoundary) {
  push("12345");
  push("6789");
  push("ABC");
  EXPECT_EQ(send(7), "1234567");
  EXPECT_TRUE(released(0));
  EXPECT_FALSE(released(1));
  EXPECT_EQ(iov_text(queue_->prepare()), "89ABC");
  queue_->complete(2);  // exactly the rest of frame 1
  EXPECT_TRUE(released(1));
  EXPECT_FALSE(released(2));
  EXPECT_EQ(iov_text(queue_->prepare()), "ABC");
  queue_->complete(3);
  EXPECT_TRUE(queue_->empty());
}

TEST_F(SendQueueTest, ZeroByteSendChangesNothing) {
  push("abc");
  EXPECT_EQ(send(0), "");
  EXPECT_FALSE(queue_->in_flight());
  EXPECT_FALSE(released(0));
  EXPECT_EQ(iov_text(queue_->prepare()), "abc");
  queue_->complete(3);
}

TEST_F(SendQueueTest, PushWhileInFlightIsSentNextTime) {
  push("first");
  const msghdr* m = queue_->prepare();
  EXPECT_EQ(m->msg_iovlen, 1u);
  push("second");
  EXPECT_EQ(iov_text(m), "first") << "the in-flight msghdr must not change";
  queue_->complete(5);
  EXPECT_EQ(iov_text(queue_->prepare()), "second");
  queue_->complete(6);
  EXPECT_TRUE(queue_->empty());
}

TEST_F(SendQueueTest, MoreThanMaxIovFramesNeedSeveralSends) {
  const size_t n = SendQueue::kMaxIov * 2 + 5;
  push_n(n, 3);
  size_t sends = 0;
  std::string sent;
  while (!queue_->empty()) {
    const msghdr* m = queue_->prepare();
    EXPECT_LE(m->msg_iovlen, SendQueue::kMaxIov);
    const std::string chunk = iov_text(m);
    queue_->complete(chunk.size());
    sent += chunk;
    ASSERT_LT(++sends, 10u);
  }
  EXPECT_EQ(sends, 3u);
  EXPECT_EQ(sent, pushed_);
  for (size_t i = 0; i < n; ++i) EXPECT_TRUE(released(i)) << i;
}

TEST_F(SendQueueTest, BacklogCountsQueuedBytesAndShrinksBySent) {
  push("12345");
  EXPECT_EQ(queue_->backlog_bytes(), 5u);
  push("678");
  EXPECT_EQ(queue_->backlog_bytes(), 8u);
  send(6);
  EXPECT_EQ(queue_->backlog_bytes(), 2u);
  push("9");
  EXPECT_EQ(queue_->backlog_bytes(), 3u);
  send(3);
  EXPECT_EQ(queue_->backlog_bytes(), 0u);
}

TEST_F(SendQueueTest, AbortLeavesFramesUntilDestruction) {
  push("abc");
  push("def");
  queue_->prepare();
  queue_->abort();
  EXPECT_FALSE(queue_->in_flight());
  EXPECT_FALSE(released(0));
  queue_.reset();
  EXPECT_TRUE(released(0));
  EXPECT_TRUE(released(1));
}

TEST_F(SendQueueTest, DestructionReleasesOnlyUnsentFrames) {
  push("sent");
  push("partly");
  push("unsent");
  send(6);  // "sent" and "pa"
  EXPECT_TRUE(released(0));
  queue_.reset();
  EXPECT_TRUE(released(1));
  EXPECT_TRUE(released(2));
  EXPECT_EQ(bufs_[0]->refs.load(), 1u) << "a sent frame must not be released twice";
}

TEST_F(SendQueueTest, DropUnstartedReleasesEverythingWhenNothingWasSent) {
  push("abc");
  push("defg");
  EXPECT_EQ(queue_->drop_unstarted(), 7u);
  EXPECT_TRUE(queue_->empty());
  EXPECT_EQ(queue_->backlog_bytes(), 0u);
  EXPECT_TRUE(released(0));
  EXPECT_TRUE(released(1));
}

TEST_F(SendQueueTest, DropUnstartedKeepsAPartlySentFrame) {
  push("partly");
  push("later");
  push("never");
  send(2);
  EXPECT_EQ(queue_->drop_unstarted(), 10u);
  EXPECT_FALSE(released(0)) << "its rest must still go out";
  EXPECT_TRUE(released(1));
  EXPECT_TRUE(released(2));
  EXPECT_EQ(send(4), "rtly");
  EXPECT_TRUE(queue_->empty());
  EXPECT_TRUE(released(0));
}

TEST_F(SendQueueTest, DropUnstartedKeepsEveryFrameOfTheInFlightSend) {
  push("one");
  push("two");
  const std::string wire = iov_text(queue_->prepare());
  push("three");
  EXPECT_EQ(queue_->drop_unstarted(), 5u);
  EXPECT_FALSE(released(0)) << "the kernel may still read it";
  EXPECT_FALSE(released(1));
  EXPECT_TRUE(released(2));
  queue_->complete(4);  // "one" and "t"
  EXPECT_EQ(wire.substr(0, 4), "onet");
  EXPECT_EQ(send(2), "wo");
  EXPECT_TRUE(queue_->empty());
}

TEST_F(SendQueueTest, PushAfterDropIsSentInOrder) {
  push("aa");
  push("bb");
  send(1);
  queue_->drop_unstarted();
  push("close");
  EXPECT_EQ(send(6), "aclose");
}

TEST_F(SendQueueTest, SharedLocalBufIsReleasedOncePerQueue) {
  SharedBuf* f = SharedBuf::create(2);
  std::memcpy(f->data(), "hi", 2);
  f->refs.fetch_add(1);
  bufs_.push_back(f);
  LocalBuf* lf = LocalBuf::create(f, 2);
  auto other = std::make_unique<SendQueue>();
  queue_->push(lf);
  other->push(lf);
  EXPECT_EQ(iov_text(other->prepare()), "hi");
  other->complete(2);
  EXPECT_FALSE(released(0)) << "one connection still holds it";
  queue_.reset();
  EXPECT_TRUE(released(0));
}

// Many frames shrinking to nothing in long runs: the queue compacts its
// storage as it goes and must keep order and offsets through that.
TEST_F(SendQueueTest, LongRunsOfSmallSendsKeepTheStream) {
  std::mt19937 rng(1234);
  std::string sent;
  for (int round = 0; round < 50; ++round) {
    for (int i = 0; i < 40; ++i) {
      push(std::string(1 + rng() % 30, static_cast<char>('A' + (round + i) % 50)));
    }
    for (int s = 0; s < 30 && !queue_->empty(); ++s) {
      const std::string all = iov_text(queue_->prepare());
      const size_t n = rng() % (all.size() + 1);
      queue_->complete(n);
      sent += all.substr(0, n);
    }
  }
  while (!queue_->empty()) {
    const std::string all = iov_text(queue_->prepare());
    queue_->complete(all.size());
    sent += all;
  }
  EXPECT_EQ(sent, pushed_);
  EXPECT_EQ(queue_->backlog_bytes(), 0u);
  for (size_t i = 0; i < bufs_.size(); ++i) ASSERT_TRUE(released(i)) << i;
}

// Random frame sizes and random partial writes, 20 seeds: what the peer
// receives is exactly what was pushed, and every frame is released.
TEST_F(SendQueueTest, RandomPartialSendsDeliverTheExactStream) {
  for (uint32_t seed = 1; seed <= 20; ++seed) {
    SCOPED_TRACE(seed);
    TearDown();
    queue_ = std::make_unique<SendQueue>();
    bufs_.clear();
    pushed_.clear();
    std::mt19937 rng(seed);
    const size_t count = 1 + rng() % 200;
    for (size_t i = 0; i < count; ++i) push(std::string(1 + rng() % 100, static_cast<char>(rng())));
    std::string sent;
    while (!queue_->empty()) {
      const std::string all = iov_text(queue_->prepare());
      const size_t n = std::min<size_t>(all.size(), rng() % 300);
      queue_->complete(n);
      sent += all.substr(0, n);
      ASSERT_EQ(queue_->backlog_bytes(), pushed_.size() - sent.size());
    }
    ASSERT_EQ(sent, pushed_);
    for (size_t i = 0; i < bufs_.size(); ++i) ASSERT_TRUE(released(i)) << i;
  }
}

// A zero-length frame (e.g. an empty HTTP body chunk) must not stall the
// queue once everything before it has been sent.
TEST_F(SendQueueTest, TrailingZeroLengthFrameIsReleasedWithTheBytesBeforeIt) {
  push("abc");
  push("");
  send(3);
  EXPECT_TRUE(released(0));
  EXPECT_TRUE(released(1));
  EXPECT_TRUE(queue_->empty()) << "a zero-length frame left alone would need a 0-byte send forever";
}

// Through a real socket with a tiny send buffer, so the kernel writes
// partially and the queue resumes where it stopped.
TEST_F(SendQueueTest, SendmsgOverASocketDeliversEverything) {
  int fds[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);
  const int small = 4096;
  setsockopt(fds[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
  std::mt19937 rng(99);
  for (int i = 0; i < 300; ++i)
    push(std::string(1 + rng() % 2000, static_cast<char>('a' + i % 26)));
  std::string got;
  char buf[65536];
  int partial = 0;
  while (!queue_->empty()) {
    const msghdr* m = queue_->prepare();
    const ssize_t n = sendmsg(fds[0], m, MSG_NOSIGNAL);
    ASSERT_TRUE(n >= 0 || errno == EAGAIN) << std::strerror(errno);
    const size_t wrote = n < 0 ? 0 : static_cast<size_t>(n);
    if (wrote < iov_text(m).size()) ++partial;
    queue_->complete(wrote);
    for (ssize_t r; (r = read(fds[1], buf, sizeof(buf))) > 0;)
      got.append(buf, static_cast<size_t>(r));
  }
  close(fds[0]);
  for (ssize_t r; (r = read(fds[1], buf, sizeof(buf))) > 0;)
    got.append(buf, static_cast<size_t>(r));
  close(fds[1]);
  EXPECT_EQ(got, pushed_);
  EXPECT_GT(partial, 0) << "the test meant to exercise partial sends";
}

}  // namespace
}  // namespace ringchat::net
