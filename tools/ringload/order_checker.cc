#include "order_checker.h"

#include <algorithm>

namespace ringchat::ringload {
namespace {

size_t hash_key(uint64_t k) {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdull;
  k ^= k >> 33;
  return static_cast<size_t>(k);
}

}  // namespace

void OrderChecker::grow() {
  std::vector<Slot> old = std::move(slots_);
  slots_.assign(old.empty() ? 8 : old.size() * 2, Slot{});
  const size_t mask = slots_.size() - 1;
  for (const Slot& s : old) {
    if (s.key == 0) continue;
    size_t i = hash_key(s.key) & mask;
    while (slots_[i].key != 0) i = (i + 1) & mask;
    slots_[i] = s;
  }
}

OrderChecker::Slot& OrderChecker::find_or_insert(uint64_t key, bool& fresh) {
  if ((used_ + 1) * 4 > slots_.size() * 3) grow();
  const size_t mask = slots_.size() - 1;
  size_t i = hash_key(key) & mask;
  while (slots_[i].key != 0 && slots_[i].key != key) i = (i + 1) & mask;
  fresh = slots_[i].key == 0;
  if (fresh) {
    slots_[i].key = key;
    ++used_;
  }
  return slots_[i];
}

void OrderChecker::on_message(uint64_t sender, uint64_t seq) {
  bool fresh = false;
  Slot& s = find_or_insert(sender + 1, fresh);
  if (fresh) {
    s.highest = seq;
    s.generation = generation_;
  } else if (seq == s.highest + 1 && s.generation == generation_) {
    s.highest = seq;
  } else if (seq > s.highest) {
    on_jump(s, sender, seq);
  } else {
    on_old(s, sender, seq);
  }
}

void OrderChecker::on_jump(Slot& s, uint64_t sender, uint64_t seq) {
  const uint64_t skipped = seq - s.highest - 1;
  if (s.generation != generation_) {
    counts_.missed += skipped;
  } else if (skipped > 0) {
    const uint64_t room = kMaxTrackedMissing - std::min<uint64_t>(s.missing, kMaxTrackedMissing);
    const uint64_t tracked = std::min(skipped, room);
    auto& set = missing_[sender];
    for (uint64_t i = 0; i < tracked; ++i) set.insert(s.highest + 1 + i);
    s.missing = static_cast<uint32_t>(set.size());
    counts_.gaps += skipped - tracked;
  }
  s.highest = seq;
  s.generation = generation_;
}

void OrderChecker::on_old(Slot& s, uint64_t sender, uint64_t seq) {
  if (s.missing > 0) {
    auto it = missing_.find(sender);
    if (it != missing_.end() && it->second.erase(seq) > 0) {
      --s.missing;
      ++counts_.reorders;
      return;
    }
  }
  ++counts_.duplicates;
}

OrderCounts OrderChecker::counts() const {
  OrderCounts c = counts_;
  for (const auto& [sender, set] : missing_) c.gaps += set.size();
  return c;
}

}  // namespace ringchat::ringload
