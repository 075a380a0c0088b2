#include "histogram.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

namespace ringchat::ringload {
namespace {

uint64_t exact_percentile(std::vector<uint64_t> v, double p) {
  std::sort(v.begin(), v.end());
  auto rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(v.size())));
  rank = std::clamp<size_t>(rank, 1, v.size());
  return v[rank - 1];
}

// Within the relative error of a bucket (width <= low/64, reported midpoint).
void expect_close(uint64_t got, uint64_t want) {
  const double tol = static_cast<double>(want) / 64.0 + 1.0;
  EXPECT_LE(std::fabs(static_cast<double>(got) - static_cast<double>(want)), tol)
      << "got " << got << " want " << want;
}

std::vector<uint64_t> random_latencies(uint64_t seed, size_t n) {
  std::mt19937_64 rng(seed);
  std::lognormal_distribution<double> dist(11.0, 1.5);  // ~60 us median, long tail
  std::vector<uint64_t> v(n);
  for (auto& x : v) x = static_cast<uint64_t>(dist(rng));
  return v;
}

TEST(Histogram, BucketsCoverValuesContiguously) {
  for (size_t i = 0; i + 1 < Histogram::kBuckets; ++i) {
    EXPECT_EQ(Histogram::bucket_low(i) + Histogram::bucket_width(i), Histogram::bucket_low(i + 1));
    EXPECT_EQ(Histogram::bucket_of(Histogram::bucket_low(i)), i);
  }
  EXPECT_EQ(Histogram::bucket_of(Histogram::kMaxValue), Histogram::kBuckets - 1);
}

TEST(Histogram, SmallValuesAreExact) {
  Histogram h;
  for (uint64_t v = 0; v < 100; ++v) h.record(v);
  EXPECT_EQ(h.percentile(50), 49u);
  EXPECT_EQ(h.percentile(100), 99u);
  EXPECT_EQ(h.min(), 0u);
  EXPECT_EQ(h.count(), 100u);
}

TEST(Histogram, PercentilesMatchExactOnRandomData) {
  for (uint64_t seed = 1; seed <= 5; ++seed) {
    const auto values = random_latencies(seed, 20000);
    Histogram h;
    for (uint64_t v : values) h.record(v);
    for (double p : {1.0, 50.0, 90.0, 95.0, 99.0, 99.9, 100.0}) {
      expect_close(h.percentile(p), exact_percentile(values, p));
    }
    EXPECT_EQ(h.max(), *std::max_element(values.begin(), values.end()));
  }
}

TEST(Histogram, MergeEqualsOneHistogramOfAllValues) {
  const auto values = random_latencies(42, 30000);
  Histogram all;
  Histogram parts[3];
  for (size_t i = 0; i < values.size(); ++i) {
    all.record(values[i]);
    parts[i % 3].record(values[i]);
  }
  Histogram merged;
  for (const auto& p : parts) merged.merge(p);
  EXPECT_EQ(merged.count(), all.count());
  EXPECT_EQ(merged.min(), all.min());
  EXPECT_EQ(merged.max(), all.max());
  for (double p : {50.0, 99.0, 99.9}) {
    EXPECT_EQ(merged.percentile(p), all.percentile(p));
    expect_close(merged.percentile(p), exact_percentile(values, p));
  }
}

TEST(Histogram, EmptyReportsZero) {
  Histogram h;
  EXPECT_EQ(h.percentile(99), 0u);
  EXPECT_EQ(h.min(), 0u);
  EXPECT_EQ(h.max(), 0u);
}

TEST(Histogram, HugeValuesClampIntoLastBucketButKeepMax) {
  Histogram h;
  h.record(UINT64_MAX);
  EXPECT_EQ(h.max(), UINT64_MAX);
  EXPECT_EQ(h.percentile(100), UINT64_MAX);
}

}  // namespace
}  // namespace ringchat::ringload
