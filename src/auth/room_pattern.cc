#include "ringchat/auth/room_pattern.h"

namespace ringchat::auth {

// Patterns have one metacharacter, `*`, so greedy matching is complete: when
// a later `*` has matched, any way of matching an earlier one longer could
// equally be absorbed by the later one, so only the last `*` ever needs to
// take one more byte. Each retry moves `mark` one byte right, and between
// retries the literal bytes after the star are compared at most once each:
// O(|pattern| * |room|) in the worst case ("*aaab" against "aaaa…"), linear
// for patterns whose literal runs are short ("*a*a*a*b").
bool pattern_matches_counted(std::string_view pattern, std::string_view room, size_t& steps) {
  constexpr size_t kNone = std::string_view::npos;
  size_t p = 0;         // next pattern byte
  size_t r = 0;         // next room byte
  size_t star = kNone;  // index of the last `*` seen in the pattern
  size_t mark = 0;      // room index that `*` was last tried to end at
  while (r < room.size()) {
    ++steps;
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = r;  // first try: the star matches nothing
    } else if (p < pattern.size() && pattern[p] == room[r]) {
      ++p;
      ++r;
    } else if (star != kNone) {
      p = star + 1;  // the star takes one more byte
      r = ++mark;
    } else {
      return false;
    }
  }
  // The room is used up: only stars (matching nothing) may remain.
  while (p < pattern.size() && pattern[p] == '*') {
    ++steps;
    ++p;
  }
  return p == pattern.size();
}

bool pattern_matches(std::string_view pattern, std::string_view room) {
  size_t steps = 0;
  return pattern_matches_counted(pattern, room, steps);
}

}  // namespace ringchat::auth
