#pragma once
#include <algorithm>
#include <cstdint>

namespace ringchat::auth {

// A token bucket kept in one number per client (GCRA, the generic cell rate
// algorithm): `tat_us` is when the client's bucket will be full again.
// `per_second` events per second, up to `burst` at once; an event at `now`
// fits if the bucket would be full again no later than now + (burst - 1)
// intervals. Pure; the caller keeps each client's tat_us (0 to start).
struct Rate {
  uint64_t interval_us = 0;   // between two events at the steady rate; 0: no limit
  uint64_t tolerance_us = 0;  // (burst - 1) intervals

  // burst 0 means one second's worth.
  static Rate per_second(uint32_t per_second, uint32_t burst) {
    if (per_second == 0) return {};
    const uint64_t interval = std::max<uint64_t>(1, 1'000'000 / per_second);
    const uint64_t b = burst ? burst : per_second;
    return {interval, interval * (b - 1)};
  }
  bool limited() const { return interval_us != 0; }

  // Takes a token if one is there (advancing tat_us); false if the event
  // must be refused. REQUIRES: now_us never goes back for one tat_us.
  bool take(uint64_t& tat_us, uint64_t now_us) const {
    if (!limited()) return true;
    const uint64_t tat = std::max(tat_us, now_us);
    if (tat - now_us > tolerance_us) return false;
    tat_us = tat + interval_us;
    return true;
  }
};

}  // namespace ringchat::auth
