#pragma once
#include <cstddef>
#include <string_view>

namespace ringchat::auth {

// A room pattern from a token's `rooms` or `pub` claim. Limits on what a
// token may carry (more, or longer, and the token is refused).
inline constexpr size_t kMaxPatternBytes = 256;
inline constexpr size_t kMaxPatterns = 100;  // per claim

// Whether `room` matches `pattern`. In the pattern, each `*` matches any run
// of bytes, empty included and '/' included; every other byte matches
// itself. There is no escape: a backslash is a literal byte, and a pattern
// has no way to ask for a literal `*` (a `*` in a room name is an ordinary
// byte, matched by itself only through a wildcard). The room name is always
// literal. Examples: `*` matches every room; `team-*` matches "team-" and
// "team-a/b" but not "team"; `a*` does not match "b"; `*-ops` matches
// "eu-ops"; "" matches only "".
//
// Cost: greedy matching that backtracks only to the last `*` seen, at most
// (|pattern| + 1) * (|room| + 2) steps, never exponential; with the limits
// above and a 200-byte room name, about 52,000 byte compares at worst.
// Thread: any; pure.
bool pattern_matches(std::string_view pattern, std::string_view room);

// pattern_matches(), also adding to `steps` the number of loop iterations it
// took: for tests that check the bound by construction, not by timing.
bool pattern_matches_counted(std::string_view pattern, std::string_view room, size_t& steps);

}  // namespace ringchat::auth
