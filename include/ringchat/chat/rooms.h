#pragma once
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace ringchat::chat {

struct NameHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const;
};

// A room as seen by a shard with local members: who to deliver to.
struct LocalRoom {
  std::string name;
  unsigned owner = 0;             // shard_for(room_hash(name)), computed once
  std::vector<uint32_t> members;  // connection slots on this shard
  // The owner has counted this shard as a member shard: from here on every
  // message it sequences reaches us. Until then new members wait for their
  // handshake answer, and deliveries (stale, from an earlier membership) drop.
  bool confirmed = false;
  uint32_t join_token = 0;  // of the JoinMsg this shard's membership waits for
};

// The rooms a shard has local members in. Pure bookkeeping, no I/O.
// Thread: owner shard only.
class LocalRooms {
 public:
  struct Joined {
    LocalRoom* room;
    uint32_t index;  // the member's position, for an O(1) leave
    bool first;      // the room had no local member before: tell the owner
  };
  Joined join(std::string_view name, uint32_t slot);

  struct Left {
    uint32_t moved_slot;  // the member now at the leaver's index, or kNone
    bool last;            // the room is gone from this shard: tell the owner
  };
  static constexpr uint32_t kNone = UINT32_MAX;
  // REQUIRES: room->members[index] is the leaving member. May free `room`.
  Left leave(LocalRoom* room, uint32_t index);

  LocalRoom* find(std::string_view name);
  size_t size() const { return rooms_.size(); }

 private:
  std::unordered_map<std::string, std::unique_ptr<LocalRoom>, NameHash, std::equal_to<>> rooms_;
};

// A room whose owner is this shard: its authority (epoch, seq) and how many
// members each shard has, so a message goes once to each member shard.
struct OwnedRoom {
  std::string name;
  uint64_t epoch = 0;  // random, new whenever the room's history is lost
  uint64_t seq = 0;    // of the last message
  std::vector<uint32_t> shard_members;
};

// Thread: owner shard only.
class OwnedRooms {
 public:
  explicit OwnedRooms(unsigned shards, uint64_t seed);
  // A shard got its first local member of `name`.
  OwnedRoom& add_shard(std::string_view name, unsigned shard);
  // A shard lost its last local member; the room goes when no shard has any.
  void remove_shard(std::string_view name, unsigned shard);
  // The room, created (new epoch, no member shard) if it is not known.
  OwnedRoom& get(std::string_view name);
  // Forgets the room if no shard has members in it.
  void forget_if_empty(std::string_view name);
  OwnedRoom* find(std::string_view name);
  size_t size() const { return rooms_.size(); }

 private:
  unsigned shards_;
  std::mt19937_64 rng_;
  std::unordered_map<std::string, std::unique_ptr<OwnedRoom>, NameHash, std::equal_to<>> rooms_;
};

}  // namespace ringchat::chat
