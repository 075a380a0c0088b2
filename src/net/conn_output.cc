// The output budget: every byte queued to a connection counts against its
// backlog and the shard's; closes it earns take effect between events; a
// connection whose answers are unsent stops being read (TCP backpressure).
#include <algorithm>
#include <utility>

#include "ringchat/net/conn_table.h"
#include "ringchat/obs/log.h"

namespace ringchat::net {

using obs::Metric;

void ConnTable::queue(Conn& c, LocalBuf* lb, Charge charge) {
  if (!c.usable()) {
    lb->release();  // being closed: only what is already on the wire goes out
    return;
  }
  if (!c.sendq) c.sendq = std::make_unique<SendQueue>();
  // The limit applies to what was queued before this buffer, so a client
  // that keeps up is always admitted one whole message, however big.
  const size_t before = unsent(c);
  const bool over = charge == Charge::kData && before > cfg_.max_backlog;
  note_backlog(c, before + lb->buf->size);
  c.sendq->push(lb);
  metrics_.add(Metric::kWsBytesOut, lb->buf->size);
  mark_dirty(c);
  if (over) request_close(c, CloseWhy::kSlowConsumer);
}

void ConnTable::send_copy(Conn& c, std::string_view bytes, Charge charge) {
  queue(c, local(SharedBuf::copy_of(bytes), 1), charge);
}

void ConnTable::request_close(Conn& c, CloseWhy why) {
  if (!c.usable()) return;
  c.close_why = why;
  if (c.sendq) c.sendq->drop_unstarted();
  closing_.push_back(slot_of(c));
}

void ConnTable::settle_slow() {
  // A shed scans every slot: at most once a millisecond, since bytes held by
  // connections already closing keep the shard over until they drain.
  if (budget_.held_bytes > cfg_.max_shard_backlog && now_ms_ != last_shed_ms_) {
    last_shed_ms_ = now_ms_;
    shed();
  }
  // No loop walks a member list now: closing (which may free rooms) is safe.
  // Closing requests no further closes, so the list is stable.
  for (uint32_t slot : closing_) {
    Conn& c = conns_[slot];
    const CloseWhy why = std::exchange(c.close_why, CloseWhy::kNone);
    if (why == CloseWhy::kNone || c.state != ConnState::kOpen) continue;  // listed twice
    if (why == CloseWhy::kSlowConsumer) metrics_.add(Metric::kSlowConsumerCloses);
    if (why == CloseWhy::kShed) metrics_.add(Metric::kShardBacklogSheds);
    handler_.on_close_requested(c, why);
    close(c);
  }
  closing_.clear();
}

void ConnTable::shed() {
  // Biggest consumers first, until the shard is back under 7/8 of its
  // budget (the margin keeps a shard at the edge from scanning every turn).
  // A buffer shared with members that stay is not freed by closing one, so
  // the loop goes on until the bytes really come back.
  std::vector<std::pair<size_t, uint32_t>> by_size;
  for (uint32_t slot = 0; slot < constructed_; ++slot) {
    const Conn& c = conns_[slot];
    if (c.sendq && c.usable()) by_size.emplace_back(unsent(c), slot);
  }
  std::sort(by_size.begin(), by_size.end(), std::greater<>());
  const size_t target = cfg_.max_shard_backlog / 8 * 7;
  size_t closed = 0;
  for (const auto& [bytes, slot] : by_size) {
    if (budget_.held_bytes <= target) break;
    request_close(conns_[slot], CloseWhy::kShed);
    ++closed;
  }
  RC_WARN_LIMITED("send backlog over --shard-backlog (%zu bytes): closing %zu biggest consumers",
                  cfg_.max_shard_backlog, closed);
}

void ConnTable::pause_input(Conn& c, std::span<const std::byte> rest) {
  Stash& stash = stashes_[slot_of(c)];
  stash.bytes.assign(reinterpret_cast<const char*>(rest.data()), rest.size());
  stash.progress_ms = now_ms_;
  c.paused = true;
  metrics_.add(Metric::kInputPauses);
  if (handler_.blocked_elsewhere(c)) blocked_elsewhere_.push_back({slot_of(c), c.gen});
  if (c.recv_armed && !c.recv_cancelled) {
    // The unread input stays in the socket and the peer's window closes.
    io_.cancel_recv(slot_of(c), c.gen);
    c.recv_cancelled = true;
  }
}

void ConnTable::resume_input(Conn& c) {
  auto node = stashes_.extract(slot_of(c));
  c.paused = false;
  std::string& bytes = node.mapped().bytes;
  std::span<std::byte> rest =
      handler_.on_data(c, {reinterpret_cast<std::byte*>(bytes.data()), bytes.size()});
  if (!rest.empty() && c.usable()) {
    pause_input(c, rest);
    // Paused again before its stash ran out: it has been paused all along.
    stashes_[slot_of(c)].progress_ms = node.mapped().progress_ms;
  }
  if (!c.paused && !c.recv_armed && c.state == ConnState::kOpen) rearm_.push_back(slot_of(c));
}

void ConnTable::drop_stash(Conn& c) {
  if (!c.paused) return;
  stashes_.erase(slot_of(c));
  c.paused = false;
}

uint64_t ConnTable::pause_progress_ms(const Conn& c) const {
  auto it = stashes_.find(slot_of(c));
  return it == stashes_.end() ? now_ms_ : it->second.progress_ms;
}

void ConnTable::resume_blocked_elsewhere() {
  size_t kept = 0;
  for (size_t i = 0; i < blocked_elsewhere_.size(); ++i) {  // resume_input() may append
    const SlotRef ref = blocked_elsewhere_[i];
    Conn* c = find(ref.slot, ref.gen);
    if (!c || !c->paused || c->state != ConnState::kOpen) continue;
    if (!handler_.input_blocked(*c)) {
      resume_input(*c);
      settle();
    } else if (handler_.blocked_elsewhere(*c)) {
      blocked_elsewhere_[kept++] = ref;
    }
    // else only its own unsent bytes hold it: on_send() resumes it.
  }
  blocked_elsewhere_.resize(kept);
}

}  // namespace ringchat::net
