#include "ringchat/chat/room_name.h"

#include <xxhash.h>

namespace ringchat::chat {

namespace {
constexpr uint64_t kRoomSeed = 0x72696e6763686174;  // "ringchat"

constexpr bool allowed(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == ':' || c == '@' || c == '-';
}
}  // namespace

const char* room_name_error(std::string_view name) {
  if (name.empty()) return "room name is empty";
  if (name.size() > kMaxRoomName) return "room name is longer than 200 bytes";
  for (char c : name) {
    if (!allowed(static_cast<unsigned char>(c))) {
      return "room name may contain only A-Z a-z 0-9 . _ : @ -";
    }
  }
  return nullptr;
}

uint64_t room_hash(std::string_view name) {
  return XXH3_64bits_withSeed(name.data(), name.size(), kRoomSeed);
}

}  // namespace ringchat::chat
