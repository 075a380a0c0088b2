#include "ringchat/auth/constant_time.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>

namespace ringchat::auth {

bool constant_time_equal(std::string_view a, std::string_view b) {
  const size_t n = std::max(a.size(), b.size());
  // Any length difference marks the result unequal up front; the loop then
  // runs over the longer length whatever the contents, reading a zero past
  // the end of the shorter one. Branches depend on the index only.
  uint64_t diff = a.size() ^ b.size();
  for (size_t i = 0; i < n; ++i) {
    const auto x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0u;
    const auto y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0u;
    diff |= x ^ y;
    // An empty asm the compiler must assume reads and changes `diff`: it
    // cannot turn the loop into one that stops at the first difference.
    __asm__ volatile("" : "+r"(diff));
  }
  return diff == 0;
}

}  // namespace ringchat::auth
