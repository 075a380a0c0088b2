#include "histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace ringchat::ringload {

size_t Histogram::bucket_of(uint64_t value) {
  value = std::min(value, kMaxValue);
  if (value < 128) return static_cast<size_t>(value);
  const int msb = 63 - std::countl_zero(value);
  const int shift = msb - kSubBits + 1;  // >= 1; value >> shift is in [64, 128)
  const uint64_t sub = (value >> shift) - 64;
  return 128 + static_cast<size_t>(shift - 1) * 64 + static_cast<size_t>(sub);
}

uint64_t Histogram::bucket_low(size_t index) {
  if (index < 128) return index;
  const size_t shift = (index - 128) / 64 + 1;
  const uint64_t sub = (index - 128) % 64 + 64;
  return sub << shift;
}

uint64_t Histogram::bucket_width(size_t index) {
  if (index < 128) return 1;
  return uint64_t{1} << ((index - 128) / 64 + 1);
}

void Histogram::record(uint64_t value) {
  ++counts_[bucket_of(value)];
  ++count_;
  min_ = std::min(min_, value);
  max_ = std::max(max_, value);
  sum_ += static_cast<long double>(value);
}

void Histogram::merge(const Histogram& other) {
  for (size_t i = 0; i < kBuckets; ++i) counts_[i] += other.counts_[i];
  count_ += other.count_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
  sum_ += other.sum_;
}

void Histogram::reset() { *this = Histogram(); }

double Histogram::mean() const {
  return count_ ? static_cast<double>(sum_ / static_cast<long double>(count_)) : 0.0;
}

uint64_t Histogram::percentile(double p) const {
  if (count_ == 0) return 0;
  p = std::clamp(p, 0.0, 100.0);
  auto rank = static_cast<uint64_t>(std::ceil(p / 100.0 * static_cast<double>(count_)));
  rank = std::clamp<uint64_t>(rank, 1, count_);
  uint64_t seen = 0;
  for (size_t i = 0; i < kBuckets; ++i) {
    seen += counts_[i];
    if (seen >= rank) {
      const uint64_t mid = bucket_low(i) + bucket_width(i) / 2;
      return std::clamp(mid, min(), max_);
    }
  }
  return max_;
}

}  // namespace ringchat::ringload
