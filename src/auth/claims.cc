#include "ringchat/auth/claims.h"

#include <algorithm>

#include "ringchat/auth/room_pattern.h"

namespace ringchat::auth {

namespace {

bool any_matches(const std::vector<std::string>& patterns, std::string_view room) {
  return std::any_of(patterns.begin(), patterns.end(),
                     [room](const std::string& p) { return pattern_matches(p, room); });
}

}  // namespace

bool Claims::may_join(std::string_view room) const { return any_matches(rooms, room); }

bool Claims::may_publish(std::string_view room) const { return any_matches(pub, room); }

}  // namespace ringchat::auth
