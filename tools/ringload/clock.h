#pragma once
#include <cstdint>
#include <ctime>

namespace ringchat::ringload {

// CLOCK_MONOTONIC in nanoseconds. Payload timestamps are this minus the
// run's start, which every thread of one process shares.
// Thread: any.
inline uint64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(ts.tv_nsec);
}

inline constexpr uint64_t kNsPerSec = 1'000'000'000ull;

}  // namespace ringchat::ringload
