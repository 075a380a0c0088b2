#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ringchat::auth {

// 255: a publish carries its publisher's sub with a one-byte length
// (chat::PublishMsg).
inline constexpr size_t kMaxSubBytes = 255;

// What a verified token says about its holder (RFC 7519 §4.1 and ringchat's
// own claims). A plain value: it owns its strings.
// Thread: whoever holds it. (Every member has an initializer so that
// designated initializers may name only some.)
struct Claims {
  // The user, shown to others as `from`: 1 to kMaxSubBytes bytes of UTF-8
  // with no control characters (C0, DEL, C1), line or paragraph separators,
  // or bidirectional formatting characters.
  std::string sub{};
  int64_t exp = 0;                   // seconds since the epoch (NumericDate), rounded down
  std::optional<int64_t> nbf{};      // the same, rounded up; absent: valid from the start
  std::vector<std::string> rooms{};  // patterns (room_pattern.h) of rooms it may join
  std::vector<std::string> pub{};    // patterns of rooms it may publish to

  // Whether a pattern in `rooms` matches `room`. No patterns: no rooms.
  bool may_join(std::string_view room) const;
  // Whether a pattern in `pub` matches `room`; `rooms` plays no part (whether
  // a publisher must also have joined is the caller's rule).
  bool may_publish(std::string_view room) const;
};

}  // namespace ringchat::auth
