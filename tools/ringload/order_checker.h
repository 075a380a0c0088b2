#pragma once
#include <cstddef>
#include <cstdint>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace ringchat::ringload {

struct OrderCounts {
  uint64_t gaps = 0;        // sequence numbers skipped and never delivered later
  uint64_t duplicates = 0;  // a sequence number delivered twice
  uint64_t reorders = 0;    // a skipped sequence number delivered late
  uint64_t missed = 0;      // skipped across one of this receiver's reconnects
  void add(const OrderCounts& o) {
    gaps += o.gaps;
    duplicates += o.duplicates;
    reorders += o.reorders;
    missed += o.missed;
  }
  bool clean() const { return gaps == 0 && duplicates == 0 && reorders == 0; }
};

// Checks, for one receiver, that each sender's messages arrive with
// consecutive sequence numbers. The first message seen from a sender sets
// its baseline (a receiver that joins late is not owed earlier messages).
// A jump forward records the skipped numbers as missing (at most
// kMaxTrackedMissing per sender; beyond that they count as gaps at once); a
// missing number that arrives later is a reorder; any other number at or
// below the highest seen is a duplicate. After mark_reconnect(), the first
// jump per sender is what this receiver missed while away, not a gap.
// The hot path (in order) is one probe of an open-addressing table; the
// missing numbers live apart, since they are rare.
// Thread: owned by the receiving connection's worker.
class OrderChecker {
 public:
  static constexpr uint64_t kMaxTrackedMissing = 1024;

  void on_message(uint64_t sender, uint64_t seq);
  void mark_reconnect() { ++generation_; }
  // Counts so far; gaps include the numbers still missing now.
  OrderCounts counts() const;
  size_t senders() const { return used_; }

 private:
  struct Slot {
    uint64_t key = 0;  // sender + 1; 0 = empty
    uint64_t highest = 0;
    uint32_t generation = 0;
    uint32_t missing = 0;  // entries in missing_ for this sender
  };
  Slot& find_or_insert(uint64_t key, bool& fresh);
  void grow();
  void on_jump(Slot& s, uint64_t sender, uint64_t seq);
  void on_old(Slot& s, uint64_t sender, uint64_t seq);

  std::vector<Slot> slots_;  // power-of-two size, linear probing
  size_t used_ = 0;
  std::unordered_map<uint64_t, std::unordered_set<uint64_t>> missing_;  // by sender
  OrderCounts counts_;
  uint32_t generation_ = 0;
};

}  // namespace ringchat::ringload
