#include "ringchat/chat/rooms.h"

#include "ringchat/chat/mail.h"
#include "ringchat/chat/room_name.h"
#include "ringchat/core/check.h"

namespace ringchat::chat {

size_t NameHash::operator()(std::string_view s) const { return room_hash(s); }

LocalRooms::Joined LocalRooms::join(std::string_view name, uint32_t slot,
                                    std::optional<LocalRoom::CatchingUp> up) {
  auto it = rooms_.find(name);
  bool first = false;
  if (it == rooms_.end()) {
    auto room = std::make_unique<LocalRoom>();
    room->name = std::string(name);
    it = rooms_.emplace(room->name, std::move(room)).first;
    first = true;
  }
  LocalRoom* room = it->second.get();
  if (up) {
    RC_DCHECK(up->slot == slot);
    room->catching_up.push_back(*up);
    return {room, kCatchingUp | static_cast<uint32_t>(room->catching_up.size() - 1), first};
  }
  room->members.push_back(slot);
  return {room, static_cast<uint32_t>(room->members.size() - 1), first};
}

LocalRooms::Left LocalRooms::leave(LocalRoom* room, uint32_t index) {
  Left left{kNone, false};
  if (index & kCatchingUp) {
    auto& c = room->catching_up;
    const uint32_t pos = index & ~kCatchingUp;
    RC_CHECK(pos < c.size());
    if (pos + 1 != c.size()) {
      c[pos] = c.back();
      left.moved_slot = c[pos].slot;
    }
    c.pop_back();
  } else {
    auto& m = room->members;
    RC_CHECK(index < m.size());
    if (index + 1 != m.size()) {
      m[index] = m.back();
      left.moved_slot = m[index];
    }
    m.pop_back();
  }
  if (room->members.empty() && room->catching_up.empty()) {
    left.last = true;
    rooms_.erase(room->name);
  }
  return left;
}

LocalRooms::Admitted LocalRooms::admit(LocalRoom* room, uint32_t pos) {
  auto& c = room->catching_up;
  RC_CHECK(pos < c.size());
  room->members.push_back(c[pos].slot);
  Admitted a{static_cast<uint32_t>(room->members.size() - 1), kNone};
  if (pos + 1 != c.size()) {
    c[pos] = c.back();
    a.moved_slot = c[pos].slot;
  }
  c.pop_back();
  return a;
}

LocalRoom* LocalRooms::find(std::string_view name) {
  auto it = rooms_.find(name);
  return it == rooms_.end() ? nullptr : it->second.get();
}

bool OwnedRoom::has_members() const {
  for (uint32_t n : shard_members) {
    if (n > 0) return true;
  }
  return false;
}

OwnedRooms::OwnedRooms(unsigned shards, uint64_t seed, const HistoryConfig& history)
    : shards_(shards), rng_(seed), cfg_(history) {}

OwnedRooms::~OwnedRooms() {
  for (auto& [name, room] : rooms_) {
    for (auto& [seq, m] : room->ahead) m->release();
    for (const OwnedRoom::Parked& p : room->parked) delete p.query;
  }
}

OwnedRoom& OwnedRooms::get(std::string_view name) {
  auto it = rooms_.find(name);
  if (it == rooms_.end()) {
    auto room = std::make_unique<OwnedRoom>();
    room->name = std::string(name);
    room->epoch = cfg_.follows ? 0 : rng_();  // following: the authority's, once synced
    room->shard_members.assign(shards_, 0);
    room->lru = lru_.end();
    room->last_active_ms = now_ms_;
    it = rooms_.emplace(room->name, std::move(room)).first;
  }
  return *it->second;
}

OwnedRoom& OwnedRooms::add_shard(std::string_view name, unsigned shard) {
  RC_CHECK(shard < shards_);
  OwnedRoom& room = get(name);
  ++room.shard_members[shard];
  room.last_active_ms = now_ms_;
  return room;
}

void OwnedRooms::forget_if_empty(std::string_view name) {
  auto it = rooms_.find(name);
  if (it == rooms_.end()) return;
  OwnedRoom& room = *it->second;
  // With history the room stays until its TTL (sweep()): a client may
  // still resume into it.
  if (room.has_members() || !room.history.empty() || cfg_.follows) return;
  erase(room);
}

void OwnedRooms::remove_shard(std::string_view name, unsigned shard) {
  RC_CHECK(shard < shards_);
  OwnedRoom* room = find(name);
  if (!room) return;
  if (room->shard_members[shard] > 0) --room->shard_members[shard];
  room->last_active_ms = now_ms_;
  forget_if_empty(name);
}

void OwnedRooms::remember(OwnedRoom& room, Sequenced* m) {
  room.last_active_ms = now_ms_;
  if (cfg_.per_room.max_messages == 0) {
    m->release();  // --history 0: nothing is kept
    return;
  }
  const size_t before = room.history.bytes();
  room.history.append(m, cfg_.per_room);
  history_bytes_ += room.history.bytes();
  history_bytes_ -= before;
  if (room.lru == lru_.end()) {
    room.lru = lru_.insert(lru_.end(), &room);
  } else {
    lru_.splice(lru_.end(), lru_, room.lru);  // most recent last, no allocation
  }
  // Over the shard's budget: the least recently written rooms lose their
  // history first. A client resuming into one is told it was not recovered.
  while (history_bytes_ > cfg_.shard_total && lru_.front() != &room) lose_history(*lru_.front());
  if (history_bytes_ > cfg_.shard_total) {
    // The budget is smaller than this room's own history: it keeps its
    // newest messages, as under --history-bytes.
    history_bytes_ -= room.history.bytes();
    room.history.shrink(cfg_.shard_total);
    history_bytes_ += room.history.bytes();
  }
}

void OwnedRooms::lose_history(OwnedRoom& room) {
  history_bytes_ -= room.history.bytes();
  room.history.clear();
  // Following, the authority still has it: a resume fetches it from there.
  if (!cfg_.follows) room.epoch = rng_();
  lru_.erase(room.lru);
  room.lru = lru_.end();
}

size_t OwnedRooms::sweep(std::vector<std::string>* names) {
  std::vector<OwnedRoom*> gone;
  for (auto& [name, room] : rooms_) {
    if (!room->has_members() && room->parked.empty() &&
        now_ms_ - room->last_active_ms >= cfg_.room_ttl_ms) {
      gone.push_back(room.get());
    }
  }
  for (OwnedRoom* room : gone) {
    if (names) names->push_back(room->name);
    erase(*room);
  }
  return gone.size();
}

void OwnedRooms::erase(OwnedRoom& room) {
  if (room.lru != lru_.end()) lose_history(room);
  for (auto& [seq, m] : room.ahead) m->release();
  for (const OwnedRoom::Parked& p : room.parked) delete p.query;
  const std::string name = room.name;  // the key, freed with the room
  rooms_.erase(name);
}

OwnedRoom* OwnedRooms::find(std::string_view name) {
  auto it = rooms_.find(name);
  return it == rooms_.end() ? nullptr : it->second.get();
}

}  // namespace ringchat::chat
