#include "order_checker.h"

#include <algorithm>

namespace ringchat::ringload {

void OrderChecker::on_message(uint64_t sender, uint64_t seq) {
  auto [it, fresh] = senders_.try_emplace(sender);
  SenderState& s = it->second;
  if (fresh) {
    s.highest = seq;
    s.generation = generation_;
    return;
  }
  if (seq > s.highest) {
    const uint64_t skipped = seq - s.highest - 1;
    if (s.generation != generation_) {
      counts_.missed += skipped;
    } else if (skipped > 0) {
      const uint64_t room = kMaxTrackedMissing - std::min<uint64_t>(s.missing.size(), kMaxTrackedMissing);
      const uint64_t tracked = std::min(skipped, room);
      for (uint64_t i = 0; i < tracked; ++i) s.missing.insert(s.highest + 1 + i);
      counts_.gaps += skipped - tracked;
    }
    s.highest = seq;
    s.generation = generation_;
    return;
  }
  if (s.missing.erase(seq) > 0) {
    ++counts_.reorders;
  } else {
    ++counts_.duplicates;
  }
}

OrderCounts OrderChecker::counts() const {
  OrderCounts c = counts_;
  for (const auto& [sender, s] : senders_) c.gaps += s.missing.size();
  return c;
}

}  // namespace ringchat::ringload
