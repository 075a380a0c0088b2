#pragma once
#include <cstdint>
#include <vector>

namespace ringchat::ringload {

// Room sequence continuity across reconnects, summed over receivers.
struct SeqCounts {
  uint64_t checked = 0;        // messages whose room seq was checked
  uint64_t gaps = 0;           // seqs skipped (and not excused by the server)
  uint64_t duplicates = 0;     // a seq at or below one already seen
  uint64_t resumes = 0;        // reconnects that asked to resume from a position
  uint64_t recovered = 0;      // ... answered recovered:true
  uint64_t unrecoverable = 0;  // ... recovered:false, rightly: another epoch, or history
                               //     no longer reached back (excused)
  uint64_t not_recovered = 0;  // ... recovered:false although nothing was missing: an error
  uint64_t missed = 0;         // seqs skipped by the excused resumes
  uint64_t epoch_changes = 0;  // excused resumes answered with another epoch (told)
  void add(const SeqCounts& o) {
    epoch_changes += o.epoch_changes;
    checked += o.checked;
    gaps += o.gaps;
    duplicates += o.duplicates;
    resumes += o.resumes;
    recovered += o.recovered;
    unrecoverable += o.unrecoverable;
    not_recovered += o.not_recovered;
    missed += o.missed;
  }
  bool clean() const { return gaps == 0 && duplicates == 0 && not_recovered == 0; }
};

// Checks one receiver's view of one room's sequence (PROTOCOL.md: every
// subscriber sees seq 1, 2, 3... with no gap and no duplicate, and a resume
// from EPOCH:SEQ continues at SEQ+1 when it is recovered). The receiver
// tells it where it started (start), how each resume was answered (resumed)
// and each message's seq; position() is what to resume from.
// Thread: owned by the receiving connection's worker.
class SeqChecker {
 public:
  // A fresh join: the messages after `last` of `epoch` follow.
  void start(uint64_t epoch, uint64_t last);
  // The answer to a resume from position(). `first`: seq of the first message
  // to come, 0 if the protocol does not say (JSON: judged at the first
  // message). `room_seq`: the room's last seq, 0 if not told.
  void resumed(uint64_t epoch, bool recovered, uint64_t first, uint64_t room_seq);
  void on_message(uint64_t seq);
  // A start() or a message has given a position.
  bool has_position() const { return known_; }
  uint64_t epoch() const { return epoch_; }
  uint64_t last() const { return last_; }
  const SeqCounts& counts() const { return counts_; }
  // Where this receiver stood in each epoch it was told it left (a resume
  // answered recovered:false with another epoch), oldest first.
  struct Left {
    uint64_t epoch = 0;
    uint64_t last = 0;
  };
  const std::vector<Left>& left() const { return left_; }

 private:
  // A not-recovered resume is excused when the first message after it
  // really skips some (the server's history no longer held them).
  void judge(uint64_t first);

  SeqCounts counts_;
  std::vector<Left> left_;
  uint64_t epoch_ = 0;
  uint64_t last_ = 0;
  bool known_ = false;
  bool pending_ = false;  // a not-recovered resume awaits its first message
};

}  // namespace ringchat::ringload
