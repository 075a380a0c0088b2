#include "ringchat/chat/drain.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <string>
#include <vector>

namespace ringchat::chat {
namespace {

constexpr uint64_t kStart = 1'000'000;  // the shard's clock when the drain begins

// When each goodbye is said, stepping the clock a millisecond at a time as
// the shard would wake at next_batch_ms().
std::vector<uint64_t> said_at(const DrainPlan& plan) {
  std::vector<uint64_t> at;
  uint64_t now = kStart;
  for (;;) {
    while (at.size() < plan.due(now)) at.push_back(now - kStart);
    auto next = plan.next_batch_ms(now);
    if (!next) break;
    EXPECT_GT(*next, now);
    now = *next;
  }
  return at;
}

TEST(DrainPlan, SpreadsGoodbyesOverEightyPercentOfTheTimeout) {
  DrainPlan plan(kStart, 10'000, 800, 1);
  const auto at = said_at(plan);
  ASSERT_EQ(at.size(), 800u);
  EXPECT_EQ(plan.window_ms(), 8000u);
  EXPECT_EQ(plan.batches(), 100u);  // 8 per batch
  EXPECT_EQ(at.front(), 0u);        // the first batch goes at once
  EXPECT_EQ(at.back(), 8000u);      // the last at the end of the window
  // Evenly: by half the window, half of them.
  EXPECT_EQ(plan.due(kStart + 4000), 400u);
}

TEST(DrainPlan, BatchesAtMostOnePerTick) {
  DrainPlan plan(kStart, 1000, 100'000, 1);
  EXPECT_EQ(plan.batches(), 800 / DrainPlan::kTickMs);
  const auto at = said_at(plan);
  ASSERT_EQ(at.size(), 100'000u);
  for (size_t i = 1; i < at.size(); ++i) {
    const uint64_t gap = at[i] - at[i - 1];
    EXPECT_TRUE(gap == 0 || gap >= DrainPlan::kTickMs) << i;
  }
  // The last of 16 batches goes at the end of the window.
  EXPECT_EQ(plan.due(kStart + 799), 100'000u * 15 / 16);
  EXPECT_EQ(plan.due(kStart + 800), 100'000u);
}

TEST(DrainPlan, DueNeverShrinksAndEndsWithAll) {
  for (size_t n : {0, 1, 7, 8, 9, 63, 1000, 12345}) {
    for (uint64_t timeout : {0, 1, 99, 100, 3000, 600'000}) {
      DrainPlan plan(kStart, timeout, n, 2);
      size_t last = 0;
      for (uint64_t t = 0; t <= timeout + 10; t += 1 + t / 64) {
        const size_t due = plan.due(kStart + t);
        EXPECT_GE(due, last);
        EXPECT_LE(due, n);
        last = due;
      }
      EXPECT_EQ(plan.due(kStart + plan.window_ms()), n) << n << " " << timeout;
      EXPECT_EQ(plan.next_batch_ms(kStart + plan.window_ms()), std::nullopt);
    }
  }
}

TEST(DrainPlan, NoTimeoutClosesAllAtOnce) {
  DrainPlan plan(kStart, 0, 5000, 3);
  EXPECT_EQ(plan.batches(), 1u);
  EXPECT_EQ(plan.due(kStart), 5000u);
  EXPECT_EQ(plan.next_batch_ms(kStart), std::nullopt);
}

TEST(DrainPlan, FewConnectionsCloseAllAtOnce) {
  DrainPlan plan(kStart, 10'000, DrainPlan::kMinBatch, 3);
  EXPECT_EQ(plan.due(kStart), DrainPlan::kMinBatch);
  EXPECT_EQ(plan.next_batch_ms(kStart), std::nullopt);
  DrainPlan more(kStart, 10'000, DrainPlan::kMinBatch + 1, 3);
  EXPECT_EQ(more.batches(), 2u);
  EXPECT_LT(more.due(kStart), DrainPlan::kMinBatch + 1);
}

TEST(DrainPlan, RetryBringsEveryoneBackUniformlyAfterTheDeadline) {
  DrainPlan plan(kStart, 10'000, 1000, 4);
  EXPECT_EQ(plan.max_retry_ms(), 20'000u);
  std::vector<size_t> buckets(10);
  for (uint64_t t = 0; t <= 8000; t += 8) {
    const uint64_t retry = plan.retry_ms(kStart + t);
    const uint64_t back = t + retry;  // when the client comes back
    ASSERT_GE(back, 10'000u);
    ASSERT_LT(back, 20'000u);
    ++buckets[(back - 10'000) / 1000];
  }
  // 1001 draws over 10 buckets: each near 100 (a loose bound, seeded).
  for (size_t b : buckets) {
    EXPECT_GT(b, 50u);
    EXPECT_LT(b, 150u);
  }
}

TEST(DrainPlan, RetryHasAJitterWindowOfAtLeastASecond) {
  DrainPlan plan(kStart, 0, 10, 5);
  EXPECT_EQ(plan.max_retry_ms(), DrainPlan::kMinJitterMs);
  bool varied = false;
  const uint64_t first = plan.retry_ms(kStart);
  for (int i = 0; i < 100; ++i) {
    const uint64_t r = plan.retry_ms(kStart);
    EXPECT_LT(r, DrainPlan::kMinJitterMs);
    varied |= r != first;
  }
  EXPECT_TRUE(varied);
}

TEST(DrainPlan, ShuffleKeepsEveryConnection) {
  DrainPlan plan(kStart, 1000, 100, 6);
  std::vector<int> v(100);
  std::iota(v.begin(), v.end(), 0);
  plan.shuffle(v);
  std::vector<int> sorted = v;
  std::sort(sorted.begin(), sorted.end());
  for (int i = 0; i < 100; ++i) ASSERT_EQ(sorted[i], i);
  EXPECT_NE(v, sorted);  // 1 chance in 100! of a false failure
}

TEST(DrainWire, FormatsAreFixed) {
  EXPECT_EQ(drain_close_reason(12345), "draining; retry_ms=12345");
  EXPECT_EQ(drain_json(0), R"({"type":"draining","retry_ms":0})");
  EXPECT_EQ(drain_sse(2500), "retry: 2500\n\nevent: draining\ndata: {\"retry_ms\":2500}\n\n");
  // A close reason has room for 123 bytes (RFC 6455 §5.5).
  EXPECT_LE(drain_close_reason(UINT64_MAX).size(), 123u);
}

}  // namespace
}  // namespace ringchat::chat
