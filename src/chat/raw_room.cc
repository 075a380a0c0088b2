#include "raw_room.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <utility>

#include "ringchat/http/response.h"

namespace ringchat::chat {

void RawRoom::resume(net::Conn& c, Session& s, const std::string& room, Position since,
                     std::string headers, AccessNote note) {
  take_over(c, s);
  pending_101_[ctx_.conns.slot_of(c)] = {std::move(headers), std::move(note)};
  auto joined = ctx_.rooms.join(room, ctx_.conns.slot_of(c), c.gen, format(), since);
  s.room = joined.membership.room;
  s.member_index = joined.membership.index;
}

void RawRoom::start(net::Conn& c, Session& s, const std::string& room) {
  take_over(c, s);
  auto joined = ctx_.rooms.join(room, ctx_.conns.slot_of(c), c.gen, format());
  s.room = joined.membership.room;
  s.member_index = joined.membership.index;
  // The 101 waits until the owner counts this shard, so a client that has
  // it receives every message published after it.
  if (!joined.confirmed) ctx_.conns.hold_output(c, true);
}

void RawRoom::confirmed(net::Conn& c, Session&) {
  if (c.output_held) ctx_.conns.hold_output(c, false);
}

void RawRoom::history(net::Conn& c, Session&, const HistoryBatch& batch) {
  auto pending = pending_101_.find(ctx_.conns.slot_of(c));
  if (pending != pending_101_.end()) {
    // The raw protocol has no envelope: where the room stands, the seq of
    // the first frame to come and whether the client missed nothing come as
    // headers of the 101.
    const uint64_t first = batch.msgs.empty() ? batch.seq + 1 : batch.msgs.front()->seq();
    char where[160];
    std::snprintf(where, sizeof(where),
                  "X-Ringchat-Epoch: %016" PRIx64 "\r\nX-Ringchat-Seq: %" PRIu64
                  "\r\nX-Ringchat-First: %" PRIu64 "\r\nX-Ringchat-Recovered: %s\r\n",
                  batch.epoch, batch.seq, first, batch.recovered ? "true" : "false");
    const std::string resp =
        http::make_response(101, {}, {}, true, pending->second.headers + where);
    ctx_.access(c, pending->second.note, 101, resp.size());
    ctx_.conns.send_copy(c, resp);
    pending_101_.erase(pending);
  }
  // After the 101, before any live message: what the client missed.
  for (const Sequenced* m : batch.msgs) send(c, wire_ref(*m, format()));
  if (c.output_held) ctx_.conns.hold_output(c, false);
}

void RawRoom::moved(net::Conn&, Session& s, const LocalRoom* room, uint32_t index) {
  // A resuming member is moved into the members before its join returns.
  RC_DCHECK(s.room == room || s.room == nullptr);
  s.room = const_cast<LocalRoom*>(room);
  s.member_index = index;
}

void RawRoom::on_message(net::Conn& c, Session& s, ws::Opcode op,
                         std::span<const std::byte> payload) {
  if (!ctx_.identity(c).may_publish(s.room->name)) {
    // Read-only here (anonymous, or the token's `pub` lacks the room): a
    // raw socket has no error message, so it is closed (1008, policy).
    ctx_.count_auth_failure("forbidden");
    send_close(c, 1008, "not allowed to publish in this room");
    ctx_.conns.close(c);
    return;
  }
  if (!ctx_.may_publish(s)) {
    // A raw socket has no error message to send: over the limit it goes
    // (RFC 6455 §7.4.1, 1008: a message that violates the server's policy).
    send_close(c, 1008, "publish rate over --pub-rate");
    ctx_.conns.close(c);
    return;
  }
  s.publishing += static_cast<uint32_t>(payload.size());
  const Sender from{ctx_.conns.slot_of(c), c.gen, static_cast<uint16_t>(ctx_.id)};
  const Kind kind = op == ws::Opcode::kBinary ? Kind::kBinary : Kind::kText;
  ctx_.rooms.publish(make_publish(s.room->name, payload, from, kind, 0, ctx_.user_of(c)));
}

void RawRoom::echoed(Session& s, size_t payload_size) {
  // The sender's publish is back from the owner (every member shard of the
  // room gets it, and the sender's shard is one while it is a member).
  s.publishing -= std::min<uint32_t>(s.publishing, static_cast<uint32_t>(payload_size));
}

void RawRoom::refused(net::Conn& c) {
  send_close(c, 1013, "Redis is unavailable: a message was not published");
  ctx_.conns.close(c);
}

bool RawRoom::input_blocked(const net::Conn& c, const Session& s) const {
  // Nothing is answered before the 101 of a resuming socket.
  if (before_101(c)) return true;
  // A publisher that reads its own echoes is slowed before they arrive, so
  // a burst of its publishes cannot come back as a backlog that closes it.
  return ctx_.conns.unsent(c) + s.publishing > ctx_.cfg.max_backlog / 2 || mail_backed_up(s);
}

bool RawRoom::blocked_elsewhere(const net::Conn& c, const Session& s) const {
  return mail_backed_up(s) || s.publishing > 0 || before_101(c);
}

void RawRoom::on_closed(net::Conn& c, Session& s) {
  pending_101_.erase(ctx_.conns.slot_of(c));
  if (s.room) ctx_.rooms.leave(s.membership(), c.gen);
  s.room = nullptr;
  closed(s);
}

}  // namespace ringchat::chat
