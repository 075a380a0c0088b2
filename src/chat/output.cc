// The output budget: every byte queued to a connection counts against its
// backlog and the shard's; closes it earns take effect between events; a
// connection whose answers are unsent stops being read (TCP backpressure).
#include <algorithm>
#include <cstring>
#include <utility>

#include "ringchat/obs/log.h"
#include "shard_impl.h"

namespace ringchat::chat {

using obs::Metric;

void ShardImpl::queue(Conn& c, net::LocalBuf* lb, Charge charge) {
  if (c.close_why != CloseWhy::kNone || c.finalizing || c.state == ConnState::kFree) {
    lb->release();  // being closed: only what is already on the wire goes out
    return;
  }
  if (!c.sendq) c.sendq = std::make_unique<net::SendQueue>();
  // The limit applies to what was queued before this frame, so a client
  // that keeps up is always admitted one whole message, however big.
  const bool over = charge == Charge::kData && c.sendq->backlog_bytes() > cfg_.max_backlog;
  c.sendq->push(lb);
  metrics_.add(Metric::kWsBytesOut, lb->buf->size);
  mark_dirty(c);
  if (over) request_close(c, CloseWhy::kSlowConsumer);
}

void ShardImpl::request_close(Conn& c, CloseWhy why) {
  if (c.close_why != CloseWhy::kNone || c.finalizing ||
      (c.state != ConnState::kHttp && c.state != ConnState::kWs)) {
    return;
  }
  c.close_why = why;
  if (c.sendq) c.sendq->drop_unstarted();
  closing_.push_back(slot_of(c));
}

void ShardImpl::settle_slow() {
  // A shed scans every slot: at most once a millisecond, since bytes held by
  // connections already closing keep the shard over until they drain.
  if (budget_.held_bytes > cfg_.max_shard_backlog && now_ms_ != last_shed_ms_) {
    last_shed_ms_ = now_ms_;
    shed();
  }
  // No loop walks a room now: leaving (which may free rooms) is safe.
  // begin_close() requests no further closes, so the list is stable.
  for (uint32_t slot : closing_) {
    Conn& c = conn(slot);
    const CloseWhy why = std::exchange(c.close_why, CloseWhy::kNone);
    if (why == CloseWhy::kNone) continue;  // listed twice, or released since
    const bool ws = c.state == ConnState::kWs;
    switch (why) {
      case CloseWhy::kSlowConsumer:
        metrics_.add(Metric::kSlowConsumerCloses);
        if (ws) send_close(c, 1008, "slow consumer: send backlog over the limit");
        break;
      case CloseWhy::kShed:
        metrics_.add(Metric::kShardBacklogSheds);
        if (ws) send_close(c, 1008, "server overloaded: send backlog shed");
        break;
      case CloseWhy::kInputOverflow:
        metrics_.add(ws ? Metric::kWsProtocolErrors : Metric::kHttpErrors);
        if (ws) send_close(c, 1008, "input over the limit while paused");
        break;
      case CloseWhy::kNone:
        break;
    }
    begin_close(c);
  }
  closing_.clear();
}

void ShardImpl::shed() {
  // Biggest consumers first, until the shard is back under 7/8 of its
  // budget (the margin keeps a shard at the edge from scanning every turn).
  // A frame shared with members that stay is not freed by closing one, so
  // the loop goes on until the bytes really come back.
  std::vector<std::pair<size_t, uint32_t>> by_size;
  for (uint32_t slot = 0; slot < constructed_; ++slot) {
    const Conn& c = conn(slot);
    if (c.sendq && c.close_why == CloseWhy::kNone && !c.finalizing &&
        (c.state == ConnState::kWs || c.state == ConnState::kHttp)) {
      by_size.emplace_back(c.sendq->backlog_bytes(), slot);
    }
  }
  std::sort(by_size.begin(), by_size.end(), std::greater<>());
  const size_t target = cfg_.max_shard_backlog / 8 * 7;
  size_t closed = 0;
  for (const auto& [bytes, slot] : by_size) {
    if (budget_.held_bytes <= target) break;
    request_close(conn(slot), CloseWhy::kShed);
    ++closed;
  }
  RC_WARN_LIMITED("send backlog over --shard-backlog (%zu bytes): closing %zu biggest consumers",
                  cfg_.max_shard_backlog, closed);
}

bool ShardImpl::output_backed_up(const Conn& c) const {
  const size_t unsent = c.sendq ? c.sendq->backlog_bytes() : 0;
  if (c.state == ConnState::kHttp) return unsent > kHttpAnswerBudget;
  // A publisher that reads its own echoes is slowed before they arrive, so
  // a burst of its publishes cannot come back as a backlog that closes it.
  return unsent + c.publishing > cfg_.max_backlog / 2;
}

void ShardImpl::pause_input(Conn& c, std::span<const std::byte> rest) {
  InputStash& stash = stashes_[slot_of(c)];
  stash.bytes.assign(reinterpret_cast<const char*>(rest.data()), rest.size());
  stash.progress_ms = now_ms_;
  c.paused = true;
  metrics_.add(Metric::kInputPauses);
  if (mail_backed_up(c) || c.publishing > 0) owner_paused_.push_back({slot_of(c), c.gen});
  if (c.recv_armed && !c.recv_cancelled) {
    // The unread input stays in the socket and the peer's window closes.
    const uint32_t slot = slot_of(c);
    io_uring_sqe* sqe = reactor_.get_sqe();
    io_uring_prep_cancel64(sqe, core::pack(core::Op::kRecv, slot, c.gen), 0);
    io_uring_sqe_set_data64(sqe, core::pack(core::Op::kCancel, 0, 0));
    c.recv_cancelled = true;
  }
}

void ShardImpl::resume_input(Conn& c) {
  auto node = stashes_.extract(slot_of(c));
  c.paused = false;
  std::string& bytes = node.mapped().bytes;
  consume(c, {reinterpret_cast<std::byte*>(bytes.data()), bytes.size()});
  // Paused again before its stash ran out: it has been paused all along.
  if (c.paused) stashes_[slot_of(c)].progress_ms = node.mapped().progress_ms;
  if (!c.paused && !c.recv_armed && !c.finalizing && c.state != ConnState::kFree) {
    rearm_.push_back(slot_of(c));
  }
}

void ShardImpl::resume_paused() {
  size_t kept = 0;
  for (size_t i = 0; i < owner_paused_.size(); ++i) {  // resume_input() may append
    const SlotRef ref = owner_paused_[i];
    Conn& c = conn(ref.slot);
    if (c.gen != ref.gen || !c.paused || c.finalizing) continue;
    if (!input_blocked(c)) {
      resume_input(c);
      settle();
    } else if (mail_backed_up(c) || c.publishing > 0) {
      owner_paused_[kept++] = ref;
    }
    // else only its own unsent bytes hold it: on_send() resumes it.
  }
  owner_paused_.resize(kept);
}

}  // namespace ringchat::chat
