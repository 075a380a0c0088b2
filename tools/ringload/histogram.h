#pragma once
#include <array>
#include <cstddef>
#include <cstdint>

namespace ringchat::ringload {

// HDR-style log-linear histogram of non-negative integers (latencies in ns).
// Values below 128 have exact buckets; above, each power of two is split in
// 64 linear sub-buckets, so a bucket's width is at most 1/64 of its lower
// bound and the reported value (the bucket midpoint, clamped to the recorded
// min/max) is within 1/128 of any value in it. Values above kMaxValue are
// clamped to it (and still set max()).
// Mergeable: merge() of per-thread histograms equals one histogram fed with
// all values.
// Thread: owned by one thread; merge copies under the caller's coordination.
class Histogram {
 public:
  static constexpr int kSubBits = 7;
  static constexpr uint64_t kMaxValue = (uint64_t{1} << 48) - 1;
  static constexpr size_t kBuckets = 128 + (48 - kSubBits) * 64;

  void record(uint64_t value);
  void merge(const Histogram& other);
  void reset();

  uint64_t count() const { return count_; }
  uint64_t min() const { return count_ ? min_ : 0; }
  uint64_t max() const { return max_; }
  double mean() const;
  // The value at percentile p in [0, 100]: the smallest recorded bucket whose
  // cumulative count reaches ceil(p/100 * count). 0 when empty.
  uint64_t percentile(double p) const;
  // Values recorded in bucket `index` (< kBuckets).
  uint64_t bucket_count(size_t index) const { return counts_[index]; }

  static size_t bucket_of(uint64_t value);
  static uint64_t bucket_low(size_t index);
  static uint64_t bucket_width(size_t index);

 private:
  std::array<uint64_t, kBuckets> counts_{};
  uint64_t count_ = 0;
  uint64_t min_ = UINT64_MAX;
  uint64_t max_ = 0;
  long double sum_ = 0;
};

}  // namespace ringchat::ringload
