#pragma once
#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "ringchat/chat/history.h"

namespace ringchat::chat {

struct HistoryQuery;

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
  uint8_t formats = 0;      // format_bit()s of its members, told to the owner (WantMsg)
  // Members that resume from a position: they get no live message until
  // the owner's history answer has brought them up to date.
  struct CatchingUp {
    uint32_t slot;
    uint32_t gen;
    uint32_t token;  // of its history query: a leave and a new join take no stale answer
  };
  std::vector<CatchingUp> catching_up;
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
  // A member's index with this bit is its place in `catching_up`.
  static constexpr uint32_t kCatchingUp = 0x80000000;
  // Adds `slot` to the room's members, or, when `up` is set, to the
  // members catching up (their generation tells a reused slot apart).
  Joined join(std::string_view name, uint32_t slot, std::optional<LocalRoom::CatchingUp> up = {});

  struct Left {
    uint32_t moved_slot;  // the member now at the leaver's index, or kNone
    bool last;            // the room is gone from this shard: tell the owner
  };
  static constexpr uint32_t kNone = UINT32_MAX;
  // REQUIRES: the leaving member is at `index`. May free `room`.
  Left leave(LocalRoom* room, uint32_t index);
  // Moves the catching-up member at `pos` into the members. Returns its
  // new index and the catching-up member moved into `pos` (or kNone).
  struct Admitted {
    uint32_t index;
    uint32_t moved_slot;
  };
  Admitted admit(LocalRoom* room, uint32_t pos);

  LocalRoom* find(std::string_view name);
  size_t size() const { return rooms_.size(); }

 private:
  std::unordered_map<std::string, std::unique_ptr<LocalRoom>, NameHash, std::equal_to<>> rooms_;
};

// A room whose owner is this shard: its authority (epoch, seq), its history,
// and how many members each shard has, so a message goes once to each
// member shard.
struct OwnedRoom {
  std::string name;
  uint64_t epoch = 0;  // random, new whenever the room's history is lost
  uint64_t seq = 0;    // of the last message
  std::vector<uint32_t> shard_members;
  uint8_t formats = 0;  // format_bit()s its members read: built once per message
  // Every member on every shard, with its user (empty: anonymous).
  std::unordered_map<Sender, std::string, SenderHash> present;
  History history;
  uint64_t last_active_ms = 0;          // a message, a join or a leave
  std::list<OwnedRoom*>::iterator lru;  // in OwnedRooms' order of last message

  // Cluster mode (chat/cluster.h): the authority orders the room and this
  // shard follows. kSyncing: watched, not yet in step (joins and queries
  // wait in `parked`; broadcasts wait in `ahead`); kLive: seq is the last
  // message fanned out, and the history holds the authority's newest ones.
  enum class Follow : uint8_t { kLocal, kSyncing, kLive };
  Follow follow = Follow::kLocal;
  bool was_live = false;                 // a resync: what it brings is delivered, not only kept
  bool filling = false;                  // a fetch for the gap before `ahead` is out
  std::map<uint64_t, Sequenced*> ahead;  // past a gap, by seq; one reference each
  // What waits for the room to be in step: a shard's join (its token), or
  // a history or presence query (owned here until answered).
  struct Parked {
    unsigned shard;
    uint32_t token;
    HistoryQuery* query;  // null: a join
  };
  std::vector<Parked> parked;
  bool has_members() const;
};

// What the owner keeps of rooms' pasts, per shard.
struct HistoryConfig {
  HistoryLimits per_room;
  size_t shard_total = 64 << 20;   // bytes of history this shard may hold in all
  uint64_t room_ttl_ms = 600'000;  // a room with no member is forgotten this long after its
                                   // last message, join or leave
  // Rooms with at most this many members hear each join and leave.
  size_t presence_events_max = 100;
  // Cluster mode: the history is a cache of the authority's and the epoch
  // is the authority's (losing the cache does not change it); a room with
  // no member is forgotten (and unwatched) room_ttl_ms after its last
  // activity, its history or not.
  bool follows = false;
};

// Thread: owner shard only.
class OwnedRooms {
 public:
  OwnedRooms(unsigned shards, uint64_t seed, const HistoryConfig& history = {});
  ~OwnedRooms();
  // A shard got its first local member of `name`.
  OwnedRoom& add_shard(std::string_view name, unsigned shard);
  // A shard lost its last local member; the room goes when no shard has any.
  void remove_shard(std::string_view name, unsigned shard);
  // The room, created (new epoch, no member shard) if it is not known.
  OwnedRoom& get(std::string_view name);
  // Forgets the room if no shard has members in it and it keeps no history
  // (in cluster mode, rooms go by sweep() only).
  void forget_if_empty(std::string_view name);
  // Appends `m` (one reference) to `room`'s history. Over the shard's
  // total, the rooms whose last message is oldest lose their history first
  // (and get a new epoch); `room` itself keeps at least `m`.
  void remember(OwnedRoom& room, Sequenced* m);
  // Drops the room's history (following: the epoch stays the caller's).
  void clear_history(OwnedRoom& room) {
    if (room.lru != lru_.end()) lose_history(room);
  }
  // Forgets rooms without members (and nothing parked) whose last activity
  // is older than the TTL. Returns how many; their names go to `gone`.
  size_t sweep(std::vector<std::string>* gone = nullptr);
  // The clock (monotonic ms) for activity and the TTL.
  void set_now(uint64_t now_ms) { now_ms_ = now_ms; }
  size_t history_bytes() const { return history_bytes_; }
  OwnedRoom* find(std::string_view name);
  size_t size() const { return rooms_.size(); }
  template <typename Fn>
  void each(Fn&& fn) const {
    for (const auto& [name, room] : rooms_) fn(std::as_const(*room));
  }
  template <typename Fn>
  void each(Fn&& fn) {
    for (auto& [name, room] : rooms_) fn(*room);
  }

 private:
  void erase(OwnedRoom& room);
  void lose_history(OwnedRoom& room);

  unsigned shards_;
  std::mt19937_64 rng_;
  HistoryConfig cfg_;
  uint64_t now_ms_ = 0;
  size_t history_bytes_ = 0;
  std::list<OwnedRoom*> lru_;  // rooms with history, least recently written first
  std::unordered_map<std::string, std::unique_ptr<OwnedRoom>, NameHash, std::equal_to<>> rooms_;
};

}  // namespace ringchat::chat
