// Worker: the rolling-restart scenario's bookkeeping: when client
// connections end, publishes lost with them, a draining server's retry_ms
// hint, and each receiver's epochs.
#include "drain_hint.h"
#include "worker.h"

namespace ringchat::ringload {

void Worker::note_drop(uint32_t i, uint64_t now) {
  if (conns_[i].role == Role::kClient) curve_.on_drop(now - t0_);
}

// The connection ends: what its sender had published and not yet seen
// confirmed is unacknowledged. Not at the end of the run (our own close).
void Worker::note_unacked(uint32_t i) {
  Conn& c = conns_[i];
  if (stage_ > phase_count_ + 1) return;
  if (c.role == Role::kPublisher) {
    if (c.pub_waiting == 0) return;
    publish_.unacked += c.pub_waiting;
    conns_[c.link].hit_unacked = true;
    return;
  }
  if (s_.protocol == Protocol::kSse || !plan_.sender[c.client]) return;
  // Refused ones were answered; they are counted apart.
  if (c.last_sent > c.own_echoed + c.refused) {
    publish_.unacked += c.last_sent - c.own_echoed - c.refused;
    c.hit_unacked = true;
  }
  c.own_echoed = c.last_sent;  // counted once
  c.refused = 0;
}

void Worker::note_refused(uint32_t sender) {
  Conn& c = conns_[sender];
  ++publish_.refused;
  ++c.refused;
  c.hit_refused = true;
}

void Worker::take_hint(uint32_t i, uint64_t retry_ms) {
  Conn& c = conns_[i];
  c.told_draining = true;
  if (retry_ms <= kMaxRetryHintMs) c.retry_hint_ms = static_cast<int64_t>(retry_ms);
}

PublishCounts Worker::publish() const {
  PublishCounts p = publish_;
  for (const Conn& c : conns_) {
    if (c.role != Role::kClient) continue;
    if (c.hit_refused) ++p.senders_refused;
    if (c.hit_unacked) ++p.senders_unacked;
  }
  return p;
}

void Worker::tally_epochs(EpochTally& t) const {
  for (const Conn& c : conns_) {
    if (c.role != Role::kClient) continue;
    const uint32_t room = plan_.room[c.client];
    for (const SeqChecker::Left& l : c.seqc.left()) t.left(room, l.epoch, l.last);
    if (c.seqc.has_position()) t.seen(room, c.seqc.epoch(), c.seqc.last());
  }
}

}  // namespace ringchat::ringload
