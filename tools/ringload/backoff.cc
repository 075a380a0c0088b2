#include "backoff.h"

#include <algorithm>

namespace ringchat::ringload {

uint64_t Backoff::ceiling(int attempt) const {
  if (attempt < 0) attempt = 0;
  // Stop doubling once past the cap; also keeps the shift in range.
  uint64_t c = base_ns_;
  for (int i = 0; i < attempt && c < cap_ns_; ++i) c *= 2;
  return std::min(c, cap_ns_);
}

uint64_t Backoff::delay(int attempt, uint64_t r) const {
  const uint64_t c = ceiling(attempt);
  if (c == 0) return 0;
  if (c == UINT64_MAX) return r;
  return r % (c + 1);
}

}  // namespace ringchat::ringload
