#include "ringchat/core/mailbox.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

namespace ringchat::core {
namespace {

constexpr size_t kSmallRing = 8;
using SmallSet = MailboxSet<uint64_t, kSmallRing>;
using SmallOutbox = Outbox<uint64_t, kSmallRing>;

// Collects the shards a flush asked to ring.
struct Rung {
  std::vector<unsigned> targets;
  auto fn() {
    return [this](unsigned to) { targets.push_back(to); };
  }
};

// Consumer side: everything waiting in ring(from, to), oldest first.
std::vector<uint64_t> drain_all(SmallSet& set, unsigned from, unsigned to) {
  std::vector<uint64_t> got;
  set.ring(from, to).drain(SIZE_MAX, [&](const uint64_t& v) { got.push_back(v); });
  return got;
}

TEST(Outbox, FlushDeliversInOrder) {
  SmallSet set(2);
  SmallOutbox out(set, 0);
  Rung rung;
  for (uint64_t i = 0; i < 5; ++i) out.post(1, i);
  out.flush(rung.fn());
  EXPECT_EQ(drain_all(set, 0, 1), (std::vector<uint64_t>{0, 1, 2, 3, 4}));
  EXPECT_FALSE(out.has_backlog());
}

TEST(Outbox, NothingIsPushedBeforeFlush) {
  SmallSet set(2);
  SmallOutbox out(set, 0);
  out.post(1, 42);
  EXPECT_TRUE(out.has_backlog());
  EXPECT_TRUE(set.ring(0, 1).empty_approx());
}

TEST(Outbox, PendingCountsWhatTheRingHasNotTakenPerTarget) {
  SmallSet set(3);
  SmallOutbox out(set, 0);
  Rung rung;
  for (uint64_t i = 0; i < kSmallRing + 5; ++i) out.post(1, i);
  out.post(2, 7);
  EXPECT_EQ(out.pending(1), kSmallRing + 5);
  EXPECT_EQ(out.pending(2), 1u);
  out.flush(rung.fn());
  EXPECT_EQ(out.pending(1), 5u) << "a full ring leaves the rest pending";
  EXPECT_EQ(out.pending(2), 0u);
  drain_all(set, 0, 1);
  out.flush(rung.fn());
  EXPECT_EQ(out.pending(1), 0u);
  drain_all(set, 0, 1);
  drain_all(set, 0, 2);
}

TEST(Outbox, FullRingKeepsOverflowInOrderAndNeverDrops) {
  SmallSet set(2);
  SmallOutbox out(set, 0);
  Rung rung;
  constexpr uint64_t kTotal = 10 * kSmallRing + 3;
  for (uint64_t i = 0; i < kTotal; ++i) out.post(1, i);
  std::vector<uint64_t> got;
  for (int round = 0; round < 100 && got.size() < kTotal; ++round) {
    out.flush(rung.fn());
    std::vector<uint64_t> batch = drain_all(set, 0, 1);
    EXPECT_LE(batch.size(), kSmallRing);
    got.insert(got.end(), batch.begin(), batch.end());
  }
  ASSERT_EQ(got.size(), kTotal);
  for (uint64_t i = 0; i < kTotal; ++i) EXPECT_EQ(got[i], i);
  EXPECT_FALSE(out.has_backlog());
}

TEST(Outbox, LaterPostsQueueBehindOverflow) {
  SmallSet set(2);
  SmallOutbox out(set, 0);
  Rung rung;
  for (uint64_t i = 0; i < kSmallRing + 2; ++i) out.post(1, i);
  out.flush(rung.fn());  // ring full, 2 wait
  EXPECT_TRUE(out.has_backlog());
  std::vector<uint64_t> got = drain_all(set, 0, 1);
  out.post(1, 100);
  out.flush(rung.fn());
  std::vector<uint64_t> rest = drain_all(set, 0, 1);
  got.insert(got.end(), rest.begin(), rest.end());
  std::vector<uint64_t> want;
  for (uint64_t i = 0; i < kSmallRing + 2; ++i) want.push_back(i);
  want.push_back(100);
  EXPECT_EQ(got, want);
}

TEST(Outbox, EachTargetGetsItsOwnRing) {
  SmallSet set(3);
  SmallOutbox out(set, 1);
  Rung rung;
  out.post(0, 10);
  out.post(2, 20);
  out.post(0, 11);
  out.flush(rung.fn());
  EXPECT_EQ(drain_all(set, 1, 0), (std::vector<uint64_t>{10, 11}));
  EXPECT_EQ(drain_all(set, 1, 2), (std::vector<uint64_t>{20}));
  EXPECT_TRUE(set.ring(1, 1).empty_approx());
}

TEST(Outbox, ReleaseAllHandsBackUnsentMailInOrder) {
  SmallSet set(2);
  SmallOutbox out(set, 0);
  Rung rung;
  for (uint64_t i = 0; i < kSmallRing + 3; ++i) out.post(1, i);
  out.flush(rung.fn());
  std::vector<uint64_t> back;
  out.release_all([&](const uint64_t& v) { back.push_back(v); });
  EXPECT_EQ(back, (std::vector<uint64_t>{kSmallRing, kSmallRing + 1, kSmallRing + 2}));
  EXPECT_FALSE(out.has_backlog());
}

TEST(MailboxSet, NoDoorbellWhileConsumerIsAwake) {
  SmallSet set(2);
  SmallOutbox out(set, 0);
  Rung rung;
  out.post(1, 1);
  out.flush(rung.fn());
  EXPECT_TRUE(rung.targets.empty());
  EXPECT_FALSE(set.needs_doorbell(1));
}

TEST(MailboxSet, DoorbellOnlyAfterPrepareSleepReturnedTrue) {
  SmallSet set(2);
  ASSERT_TRUE(set.prepare_sleep(1));
  SmallOutbox out(set, 0);
  Rung rung;
  out.post(1, 1);
  out.flush(rung.fn());
  EXPECT_EQ(rung.targets, (std::vector<unsigned>{1}));
}

TEST(MailboxSet, DoorbellIsRungOncePerSleep) {
  SmallSet set(2);
  ASSERT_TRUE(set.prepare_sleep(1));
  EXPECT_TRUE(set.needs_doorbell(1));
  EXPECT_FALSE(set.needs_doorbell(1));
  ASSERT_TRUE(set.prepare_sleep(1));
  EXPECT_TRUE(set.needs_doorbell(1));
}

TEST(MailboxSet, WokeClearsTheSleepingFlag) {
  SmallSet set(2);
  ASSERT_TRUE(set.prepare_sleep(1));
  set.woke(1);
  EXPECT_FALSE(set.needs_doorbell(1));
}

TEST(MailboxSet, SleepingFlagIsPerShard) {
  SmallSet set(3);
  ASSERT_TRUE(set.prepare_sleep(2));
  EXPECT_FALSE(set.needs_doorbell(0));
  EXPECT_FALSE(set.needs_doorbell(1));
  EXPECT_TRUE(set.needs_doorbell(2));
}

TEST(MailboxSet, PrepareSleepRefusesWhenMailIsWaiting) {
  SmallSet set(3);
  ASSERT_TRUE(set.ring(2, 1).try_push(7));
  EXPECT_FALSE(set.prepare_sleep(1));
  // Refusing leaves the consumer awake: nobody needs to ring it.
  EXPECT_FALSE(set.needs_doorbell(1));
  EXPECT_TRUE(set.prepare_sleep(0));  // other shards' mail is not ours
}

TEST(MailboxSet, PrepareSleepSeesMailFromItself) {
  SmallSet set(2);
  ASSERT_TRUE(set.ring(1, 1).try_push(7));
  EXPECT_FALSE(set.prepare_sleep(1));
}

TEST(MailboxSet, PrepareSleepSucceedsOnceMailIsDrained) {
  SmallSet set(2);
  ASSERT_TRUE(set.ring(0, 1).try_push(7));
  EXPECT_FALSE(set.prepare_sleep(1));
  EXPECT_EQ(drain_all(set, 0, 1), (std::vector<uint64_t>{7}));
  EXPECT_TRUE(set.prepare_sleep(1));
}

// Producer shard 0 posts kCount values to consumer shard 1 through a small
// ring. The consumer sleeps on an eventfd only after prepare_sleep() said
// so; the producer writes the eventfd only when needs_doorbell() says so.
// A lost wakeup shows as a wait that reaches its deadline.
class MailboxStress {
 public:
  static constexpr uint64_t kCount = 200000;
  static constexpr int kWaitDeadlineMs = 20000;
  using Set = MailboxSet<uint64_t, 64>;

  MailboxStress() : set_(2), efd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}
  ~MailboxStress() { close(efd_); }

  void run() {
    ASSERT_GE(efd_, 0);
    std::thread consumer([this] { consume(); });
    produce();
    consumer.join();
  }
  uint64_t received() const { return received_; }
  uint64_t out_of_order() const { return out_of_order_; }
  bool deadline_hit() const { return deadline_hit_.load(); }
  uint64_t sleeps() const { return sleeps_; }

 private:
  void produce() {
    Outbox<uint64_t, 64> out(set_, 0);
    auto ring = [this](unsigned) {
      const uint64_t one = 1;
      EXPECT_EQ(write(efd_, &one, sizeof(one)), static_cast<ssize_t>(sizeof(one)));
    };
    uint64_t next = 0;
    while (next < kCount || out.has_backlog()) {
      if (deadline_hit_.load(std::memory_order_relaxed)) return;
      // Batches of varying size, like loop turns.
      for (uint64_t k = 0; k < (next % 97) + 1 && next < kCount; ++k) out.post(1, next++);
      out.flush(ring);
      if (out.has_backlog()) std::this_thread::yield();
    }
  }

  void consume() {
    while (received_ < kCount) {
      size_t n = set_.ring(0, 1).drain(32, [this](const uint64_t& v) {
        if (v != received_) ++out_of_order_;
        ++received_;
      });
      if (n > 0) continue;
      if (!set_.prepare_sleep(1)) continue;
      ++sleeps_;
      if (!wait_doorbell()) {
        deadline_hit_.store(true);
        return;
      }
      set_.woke(1);
    }
  }

  bool wait_doorbell() {
    pollfd p{efd_, POLLIN, 0};
    int rc = poll(&p, 1, kWaitDeadlineMs);
    if (rc != 1) return false;
    uint64_t v = 0;
    return read(efd_, &v, sizeof(v)) == static_cast<ssize_t>(sizeof(v));
  }

  Set set_;
  int efd_;
  uint64_t received_ = 0;
  uint64_t out_of_order_ = 0;
  uint64_t sleeps_ = 0;
  std::atomic<bool> deadline_hit_{false};
};

TEST(MailboxSet, TwoThreadsLoseNoMessageAndNoWakeup) {
  MailboxStress stress;
  stress.run();
  EXPECT_FALSE(stress.deadline_hit()) << "consumer slept past its deadline: lost wakeup";
  EXPECT_EQ(stress.received(), MailboxStress::kCount);
  EXPECT_EQ(stress.out_of_order(), 0u);
  RecordProperty("sleeps", static_cast<int>(stress.sleeps()));
}

}  // namespace
}  // namespace ringchat::core
