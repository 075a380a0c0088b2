#include "ringchat/chat/rooms.h"

#include "ringchat/chat/room_name.h"
#include "ringchat/core/check.h"

namespace ringchat::chat {

size_t NameHash::operator()(std::string_view s) const { return room_hash(s); }

LocalRooms::Joined LocalRooms::join(std::string_view name, uint32_t slot) {
  auto it = rooms_.find(name);
  bool first = false;
  if (it == rooms_.end()) {
    auto room = std::make_unique<LocalRoom>();
    room->name = std::string(name);
    it = rooms_.emplace(room->name, std::move(room)).first;
    first = true;
  }
  LocalRoom* room = it->second.get();
  room->members.push_back(slot);
  return {room, static_cast<uint32_t>(room->members.size() - 1), first};
}

LocalRooms::Left LocalRooms::leave(LocalRoom* room, uint32_t index) {
  auto& m = room->members;
  RC_CHECK(index < m.size());
  Left left{kNone, false};
  if (index + 1 != m.size()) {
    m[index] = m.back();
    left.moved_slot = m[index];
  }
  m.pop_back();
  if (m.empty()) {
    left.last = true;
    rooms_.erase(room->name);
  }
  return left;
}

LocalRoom* LocalRooms::find(std::string_view name) {
  auto it = rooms_.find(name);
  return it == rooms_.end() ? nullptr : it->second.get();
}

OwnedRooms::OwnedRooms(unsigned shards, uint64_t seed) : shards_(shards), rng_(seed) {}

OwnedRoom& OwnedRooms::get(std::string_view name) {
  auto it = rooms_.find(name);
  if (it == rooms_.end()) {
    auto room = std::make_unique<OwnedRoom>();
    room->name = std::string(name);
    room->epoch = rng_();
    room->shard_members.assign(shards_, 0);
    it = rooms_.emplace(room->name, std::move(room)).first;
  }
  return *it->second;
}

OwnedRoom& OwnedRooms::add_shard(std::string_view name, unsigned shard) {
  RC_CHECK(shard < shards_);
  OwnedRoom& room = get(name);
  ++room.shard_members[shard];
  return room;
}

void OwnedRooms::forget_if_empty(std::string_view name) {
  auto it = rooms_.find(name);
  if (it == rooms_.end()) return;
  for (uint32_t n : it->second->shard_members) {
    if (n > 0) return;
  }
  // No member anywhere and history is not kept yet: the room, its seq and
  // epoch go; a later join starts a new epoch.
  rooms_.erase(it);
}

void OwnedRooms::remove_shard(std::string_view name, unsigned shard) {
  RC_CHECK(shard < shards_);
  auto it = rooms_.find(name);
  if (it == rooms_.end()) return;
  OwnedRoom& room = *it->second;
  if (room.shard_members[shard] > 0) --room.shard_members[shard];
  forget_if_empty(name);
}

OwnedRoom* OwnedRooms::find(std::string_view name) {
  auto it = rooms_.find(name);
  return it == rooms_.end() ? nullptr : it->second.get();
}

}  // namespace ringchat::chat
