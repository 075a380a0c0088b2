#include "ringchat/chat/history.h"

#include "ringchat/core/check.h"

namespace ringchat::chat {

void History::append(Sequenced* m, const HistoryLimits& limits) {
  RC_DCHECK(msgs_.empty() || m->seq() == msgs_.back()->seq() + 1);
  msgs_.push_back(m);
  bytes_ += m->footprint();
  while (msgs_.size() > 1 && msgs_.size() > limits.max_messages) drop_oldest();
  shrink(limits.max_bytes);
}

void History::drop_oldest() {
  Sequenced* m = msgs_.front();
  msgs_.pop_front();
  bytes_ -= m->footprint();
  m->release();
}

void History::shrink(size_t max_bytes) {
  while (msgs_.size() > 1 && bytes_ > max_bytes) drop_oldest();
}

void History::clear() {
  while (!msgs_.empty()) drop_oldest();
}

}  // namespace ringchat::chat
