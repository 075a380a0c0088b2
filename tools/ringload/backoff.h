#pragma once
#include <cstdint>

namespace ringchat::ringload {

// Reconnect delays: exponential backoff with full jitter. Attempt n (from 0)
// waits a uniform random time in [0, min(cap, base * 2^n)].
// Thread: a plain value; owned by one connection.
class Backoff {
 public:
  Backoff(uint64_t base_ns, uint64_t cap_ns, int max_attempts)
      : base_ns_(base_ns), cap_ns_(cap_ns), max_attempts_(max_attempts) {}

  // Upper bound of attempt n's delay.
  uint64_t ceiling(int attempt) const;
  // A delay for attempt n, given a uniform random number `r` (any uint64).
  uint64_t delay(int attempt, uint64_t r) const;
  bool exhausted(int attempt) const { return attempt >= max_attempts_; }
  int max_attempts() const { return max_attempts_; }

 private:
  uint64_t base_ns_;
  uint64_t cap_ns_;
  int max_attempts_;
};

}  // namespace ringchat::ringload
