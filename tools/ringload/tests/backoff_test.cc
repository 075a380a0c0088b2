#include "backoff.h"

#include <gtest/gtest.h>

#include <random>

namespace ringchat::ringload {
namespace {

constexpr uint64_t kMs = 1'000'000;

TEST(Backoff, CeilingDoublesUntilCap) {
  Backoff b(100 * kMs, 5000 * kMs, 10);
  EXPECT_EQ(b.ceiling(0), 100 * kMs);
  EXPECT_EQ(b.ceiling(1), 200 * kMs);
  EXPECT_EQ(b.ceiling(5), 3200 * kMs);
  EXPECT_EQ(b.ceiling(6), 5000 * kMs);
  EXPECT_EQ(b.ceiling(1000), 5000 * kMs);
}

TEST(Backoff, DelaysStayWithinZeroAndCeiling) {
  Backoff b(100 * kMs, 5000 * kMs, 10);
  std::mt19937_64 rng(3);
  for (int attempt = 0; attempt < 70; ++attempt) {
    for (int i = 0; i < 1000; ++i) {
      EXPECT_LE(b.delay(attempt, rng()), b.ceiling(attempt));
    }
  }
}

TEST(Backoff, JitterIsFullRange) {
  Backoff b(100 * kMs, 5000 * kMs, 10);
  std::mt19937_64 rng(9);
  uint64_t lo = UINT64_MAX, hi = 0;
  for (int i = 0; i < 5000; ++i) {
    const uint64_t d = b.delay(8, rng());
    lo = std::min(lo, d);
    hi = std::max(hi, d);
  }
  EXPECT_LT(lo, 500 * kMs);   // reaches near zero
  EXPECT_GT(hi, 4500 * kMs);  // and near the cap
}

TEST(Backoff, ExhaustedAfterMaxAttempts) {
  Backoff b(1, 10, 3);
  EXPECT_FALSE(b.exhausted(2));
  EXPECT_TRUE(b.exhausted(3));
}

TEST(Backoff, ZeroBaseNeverWaits) {
  Backoff b(0, 0, 3);
  EXPECT_EQ(b.delay(5, 12345), 0u);
}

}  // namespace
}  // namespace ringchat::ringload
