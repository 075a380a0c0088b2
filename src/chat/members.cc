#include "members.h"

#include <algorithm>

#include "wire.h"

namespace ringchat::chat {

using obs::Metric;

net::SharedBuf* wire_ref(const Sequenced& m, Format f) {
  if (net::SharedBuf* b = m.wire(f)) {
    b->refs.fetch_add(1, std::memory_order_relaxed);
    return b;
  }
  return encode(f, m.message());
}

void Members::deliver(std::span<const uint32_t> members, const Sequenced& msg) {
  if (msg.is_event()) return deliver_event(members, msg);
  const Sender& from = msg.from();
  net::Conn* sender = here(msg) ? ctx_.conns.find(from.slot, from.gen) : nullptr;
  if (sender && of_[sender->protocol]) {
    of(*sender).echoed(ctx_.session(*sender), msg.payload_size());
  }
  // --no-echo: the sender, if it is one of these members, is left out.
  const bool skip_sender = !ctx_.cfg.echo && sender;
  // Members by the format they read: one buffer per format, shared.
  std::array<uint32_t, kFormats> count{};
  for (uint32_t slot : members) {
    if (skip_sender && slot == from.slot) continue;
    ++count[static_cast<size_t>(of(ctx_.conns.conn(slot)).format())];
  }
  std::array<net::LocalBuf*, kFormats> bufs{};
  for (size_t f = 0; f < kFormats; ++f) {
    if (count[f] > 0) bufs[f] = ctx_.conns.local(wire_ref(msg, static_cast<Format>(f)), count[f]);
  }
  // A member over its backlog is not closed here: that would change the
  // member list under this loop. queue() requests the close; settle()
  // carries it out between events.
  uint32_t queued = 0;
  for (uint32_t slot : members) {
    if (skip_sender && slot == from.slot) continue;
    net::Conn& c = ctx_.conns.conn(slot);
    ctx_.conns.queue(c, bufs[static_cast<size_t>(of(c).format())]);
    ++queued;
  }
  ctx_.metrics.add(Metric::kWsFramesOut, queued);
  if (queued > 0) ctx_.delivered.emplace_back(msg.created_ns(), queued);
}

void Members::deliver_event(std::span<const uint32_t> members, const Sequenced& event) {
  // For JSON sockets only, but not the one it is about (it has its own
  // `joined` or `left`).
  const Sender& who = event.from();
  auto reads = [&](uint32_t slot) {
    const net::Conn& c = ctx_.conns.conn(slot);
    return of(c).format() == Format::kJsonWs &&
           !(here(event) && who.slot == slot && who.gen == c.gen);
  };
  const auto count = static_cast<uint32_t>(std::count_if(members.begin(), members.end(), reads));
  if (count == 0) return;
  net::LocalBuf* lb = ctx_.conns.local(wire_ref(event, Format::kJsonWs), count);
  for (uint32_t slot : members) {
    if (reads(slot)) ctx_.conns.queue(ctx_.conns.conn(slot), lb);
  }
}

void Members::confirmed(std::span<const uint32_t> members) {
  for (uint32_t slot : members) {
    net::Conn& c = ctx_.conns.conn(slot);
    of(c).confirmed(c, ctx_.sessions[slot]);
  }
}

void Members::moved(uint32_t member, const LocalRoom* room, uint32_t index) {
  net::Conn& c = ctx_.conns.conn(member);
  of(c).moved(c, ctx_.sessions[member], room, index);
}

void Members::history(uint32_t member, const HistoryBatch& batch) {
  net::Conn& c = ctx_.conns.conn(member);
  of(c).history(c, ctx_.sessions[member], batch);
}

}  // namespace ringchat::chat
