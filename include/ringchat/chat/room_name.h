#pragma once
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace ringchat::chat {

inline constexpr size_t kMaxRoomName = 200;

// DESIGN.md: a room name is 1-200 bytes of [A-Za-z0-9._:@-].
// Returns nullptr if `name` is valid, else a reason for the client.
const char* room_name_error(std::string_view name);

// xxh3_64 of the name with ringchat's fixed seed: the same on every shard
// and every node, so it alone decides a room's owner.
uint64_t room_hash(std::string_view name);

// The owner shard of a room. Thread: any; pure.
inline unsigned shard_for(uint64_t hash, unsigned shards) {
  return static_cast<unsigned>(hash % shards);
}

}  // namespace ringchat::chat
