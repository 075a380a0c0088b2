#pragma once
// Private to the chat module: a shard's part of GET /stats.
#include <cstdint>
#include <unordered_map>

#include "front.h"
#include "ringchat/chat/stats.h"

namespace ringchat::chat {

// Makes this shard's lists for /stats (StatsBoard) once every
// kStatsIntervalMs while someone watches: the rooms it owns that got the
// most messages since the last time (a seq per room kept meanwhile), and
// its connections with the most unsent bytes, kStatsTop of each. Unwatched
// it costs a comparison per turn and holds nothing.
// Thread: owner shard only.
class ShardStats {
 public:
  explicit ShardStats(ShardContext& ctx) : ctx_(ctx) {}
  // At the end of each turn, `now_ms` the loop's monotonic clock.
  void end_turn(uint64_t now_ms) {
    if (now_ms - last_ms_ >= kStatsIntervalMs) tick(now_ms);
  }

 private:
  void tick(uint64_t now_ms);
  void hot_rooms(ShardTops& tops);
  void slow_consumers(ShardTops& tops);

  ShardContext& ctx_;
  uint64_t last_ms_ = 0;
  bool watching_ = false;  // seqs_ holds the last tick's seqs
  // Each owned room's epoch and seq at the last tick, while watched. Keyed
  // by the room's address (no name copied each second): a room forgotten
  // and another made at the same address has a new random epoch, so it is
  // never counted against the old one's seq.
  struct Seen {
    uint64_t epoch;
    uint64_t seq;
  };
  std::unordered_map<const OwnedRoom*, Seen> seqs_;
};

}  // namespace ringchat::chat
