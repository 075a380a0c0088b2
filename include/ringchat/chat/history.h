#pragma once
#include <cstddef>
#include <cstdint>
#include <deque>

#include "ringchat/chat/message.h"

namespace ringchat::chat {

// How much of a room's past its owner keeps (--history, --history-bytes).
struct HistoryLimits {
  size_t max_messages = 1000;
  size_t max_bytes = 1 << 20;
};

// The last messages of one room, on its owner shard: references to the
// sequenced records (the same ones the member shards were sent), oldest
// first, in seq order with no gaps.
// Thread: owner shard only. Holds one reference of each record.
class History {
 public:
  History() = default;
  ~History() { clear(); }
  History(const History&) = delete;
  History& operator=(const History&) = delete;

  // Takes one reference of `m` (whose seq follows the last one's), then
  // drops the oldest messages past `limits` (always keeping `m`).
  void append(Sequenced* m, const HistoryLimits& limits);
  // Drops every message (the room's history is lost: a new epoch).
  void clear();
  // Drops the oldest messages until at most `max_bytes` are held, always
  // keeping the newest.
  void shrink(size_t max_bytes);

  bool empty() const { return msgs_.empty(); }
  size_t size() const { return msgs_.size(); }
  // Memory held: payloads, wire bytes and records.
  size_t bytes() const { return bytes_; }
  // Seq of the oldest message kept, 0 when empty.
  uint64_t first_seq() const { return msgs_.empty() ? 0 : msgs_.front()->seq(); }

  // Calls fn(Sequenced&) for each message with seq > `after`, oldest first,
  // at most `limit` of them.
  template <typename Fn>
  void each_after(uint64_t after, size_t limit, Fn&& fn) const {
    const uint64_t first = first_seq();
    size_t i = after >= first ? static_cast<size_t>(after - first + 1) : 0;
    for (size_t n = 0; i < msgs_.size() && n < limit; ++i, ++n) fn(*msgs_[i]);
  }

 private:
  void drop_oldest();

  std::deque<Sequenced*> msgs_;
  size_t bytes_ = 0;
};

}  // namespace ringchat::chat
