#include "seq_checker.h"

namespace ringchat::ringload {

void SeqChecker::start(uint64_t epoch, uint64_t last) {
  epoch_ = epoch;
  last_ = last;
  known_ = true;
  pending_ = false;
}

void SeqChecker::resumed(uint64_t epoch, bool recovered, uint64_t first, uint64_t room_seq) {
  ++counts_.resumes;
  pending_ = false;
  if (epoch != epoch_) {
    // The room's history was lost: nothing to recover. recovered:true
    // across epochs would be a lie.
    if (recovered) {
      ++counts_.not_recovered;
    } else {
      ++counts_.unrecoverable;
      ++counts_.epoch_changes;
      if (known_) left_.push_back(Left{epoch_, last_});
    }
    epoch_ = epoch;
    known_ = first != 0;
    last_ = first != 0 ? first - 1 : 0;
    return;
  }
  if (recovered) {
    ++counts_.recovered;
    return;  // the messages themselves show any gap or duplicate
  }
  if (first != 0) return judge(first);
  // JSON: the room's seq says whether anything was missed at all.
  if (room_seq != 0 && room_seq <= last_) {
    ++counts_.not_recovered;
    return;
  }
  pending_ = true;
}

void SeqChecker::judge(uint64_t first) {
  pending_ = false;
  if (first > last_ + 1) {
    ++counts_.unrecoverable;
    counts_.missed += first - last_ - 1;
    last_ = first - 1;
  } else {
    ++counts_.not_recovered;
  }
}

void SeqChecker::on_message(uint64_t seq) {
  ++counts_.checked;
  if (!known_) {
    known_ = true;
    last_ = seq;
    return;
  }
  if (pending_) judge(seq);
  if (seq == last_ + 1) {
    last_ = seq;
  } else if (seq > last_ + 1) {
    counts_.gaps += seq - last_ - 1;
    last_ = seq;
  } else {
    ++counts_.duplicates;
  }
}

}  // namespace ringchat::ringload
