#include "raw_room.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <utility>

#include "ringchat/http/response.h"
#include "ringchat/ws/frame_encoder.h"
#include "ringchat/ws/frame_parser.h"

namespace ringchat::chat {

using obs::Metric;

void RawRoom::take_over(net::Conn& c, Session& s) {
  c.protocol = static_cast<uint8_t>(ProtocolId::kRawRoom);
  s.parser.emplace<ws::FrameParser>(ws::Role::kServer, ctx_.cfg.max_message);
  ctx_.metrics.add(Metric::kWsHandshakes);
  ctx_.metrics.add(Metric::kWebSocketsOpen);
  ctx_.conns.schedule(c, ctx_.cfg.ping_interval_ms);
}

void RawRoom::resume(net::Conn& c, Session& s, const std::string& room, Position since,
                     std::string headers) {
  take_over(c, s);
  pending_101_[ctx_.conns.slot_of(c)] = std::move(headers);
  auto joined = ctx_.rooms.join(room, ctx_.conns.slot_of(c), c.gen, since);
  s.room = joined.membership.room;
  s.member_index = joined.membership.index;
}

void RawRoom::start(net::Conn& c, Session& s, const std::string& room) {
  take_over(c, s);
  auto joined = ctx_.rooms.join(room, ctx_.conns.slot_of(c));
  s.room = joined.membership.room;
  s.member_index = joined.membership.index;
  // The 101 waits until the owner counts this shard, so a client that has
  // it receives every message published after it.
  if (!joined.confirmed) ctx_.conns.hold_output(c, true);
}

void RawRoom::confirmed(std::span<const uint32_t> members) {
  for (uint32_t slot : members) {
    net::Conn& c = ctx_.conns.conn(slot);
    if (c.output_held) ctx_.conns.hold_output(c, false);
  }
}

void RawRoom::history(uint32_t member, const HistoryBatch& batch) {
  net::Conn& c = ctx_.conns.conn(member);
  auto pending = pending_101_.find(member);
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
    ctx_.conns.send_copy(c, http::make_response(101, {}, {}, true, pending->second + where));
    pending_101_.erase(pending);
  }
  // After the 101, before any live message: what the client missed.
  for (const Sequenced* m : batch.msgs) {
    net::SharedBuf* raw = m->wire(Format::kRawWs);
    raw->refs.fetch_add(1, std::memory_order_relaxed);
    ctx_.conns.queue(c, ctx_.conns.local(raw, 1));
  }
  if (c.output_held) ctx_.conns.hold_output(c, false);
}

void RawRoom::moved(uint32_t member, const LocalRoom* room, uint32_t index) {
  Session& s = ctx_.sessions[member];
  // A resuming member is moved into the members before its join returns.
  RC_DCHECK(s.room == room || s.room == nullptr);
  s.room = const_cast<LocalRoom*>(room);
  s.member_index = index;
}

std::span<std::byte> RawRoom::on_data(net::Conn& c, Session& s, std::span<std::byte> data) {
  while (c.usable() && !input_blocked(c, s)) {
    auto r = s.ws().next(data);
    if (!r) {
      on_error(c, r.error());
      return {};
    }
    const ws::Event& ev = *r;
    switch (ev.kind) {
      case ws::Event::Kind::kNeedMore:
        s.ws().release();
        return {};
      case ws::Event::Kind::kMessage:
        ctx_.metrics.add(Metric::kWsMessagesIn);
        ctx_.metrics.add(Metric::kWsBytesIn, ev.payload.size());
        publish(c, s, ev.opcode, ev.payload);
        break;
      case ws::Event::Kind::kPing:
        send_control(c, ws::Opcode::kPong, ev.payload);
        break;
      case ws::Event::Kind::kPong:
        break;
      case ws::Event::Kind::kClose:
        // RFC 6455 §5.5.1: echo the status code; a close without one gets
        // an empty close back.
        if (ev.close_code == 1005) {
          send_control(c, ws::Opcode::kClose, {});
        } else {
          send_close(c, ev.close_code, {});
        }
        ctx_.conns.close(c);
        return {};
    }
  }
  return c.usable() ? data : std::span<std::byte>{};
}

void RawRoom::publish(net::Conn& c, Session& s, ws::Opcode op, std::span<const std::byte> payload) {
  s.publishing += static_cast<uint32_t>(payload.size());
  const Sender from{ctx_.conns.slot_of(c), c.gen, static_cast<uint16_t>(ctx_.id)};
  const Kind kind = op == ws::Opcode::kBinary ? Kind::kBinary : Kind::kText;
  ctx_.rooms.publish(make_publish(s.room->name, payload, from, kind, false));
}

void RawRoom::deliver(std::span<const uint32_t> members, const Sequenced& msg) {
  const Sender& from = msg.from();
  net::Conn* sender = from.shard == ctx_.id ? ctx_.conns.find(from.slot, from.gen) : nullptr;
  if (sender) {
    // The sender's publish is back from the owner (every member shard of
    // the room gets it, and the sender's shard is one while it is a member).
    uint32_t& publishing = ctx_.sessions[from.slot].publishing;
    publishing -= std::min<uint32_t>(publishing, static_cast<uint32_t>(msg.payload_size()));
  }
  // --no-echo: the sender, if it is one of these members, is left out.
  const bool skip_sender = !ctx_.cfg.echo && sender &&
                           std::find(members.begin(), members.end(), from.slot) != members.end();
  const auto count = static_cast<uint32_t>(members.size() - (skip_sender ? 1 : 0));
  if (count == 0) return;
  net::SharedBuf* raw = msg.wire(Format::kRawWs);
  raw->refs.fetch_add(1, std::memory_order_relaxed);  // this shard's, shared by its members
  net::LocalBuf* lb = ctx_.conns.local(raw, count);
  // A member over its backlog is not closed here: that would change the
  // member list under this loop. queue() requests the close; settle()
  // carries it out between events.
  for (uint32_t slot : members) {
    if (skip_sender && slot == from.slot) continue;
    ctx_.conns.queue(ctx_.conns.conn(slot), lb);
    ctx_.metrics.add(Metric::kWsFramesOut);
  }
}

void RawRoom::on_timer(net::Conn& c, Session&) {
  const uint64_t now = ctx_.now_ms();
  const uint64_t interval = ctx_.cfg.ping_interval_ms;
  if (pending_101_.contains(ctx_.conns.slot_of(c))) {
    return ctx_.conns.schedule(c, interval);  // no ping before the 101
  }
  if (c.paused && ctx_.conns.unsent(c) > ctx_.cfg.max_backlog / 2 &&
      now - ctx_.conns.pause_progress_ms(c) >= interval) {
    // Paused, and not a byte taken, for a whole interval: it does not read
    // what it asks for.
    ctx_.metrics.add(Metric::kSlowConsumerCloses);
    send_close(c, 1008, "slow consumer: not reading its messages");
    ctx_.conns.close(c);
    return;
  }
  // Paused input is not read, so it cannot show the peer is alive.
  const uint32_t silent = static_cast<uint32_t>(now) - c.last_seen_ms;  // wraps
  if (!c.paused && silent >= 2 * interval) {
    ctx_.metrics.add(Metric::kWsIdleCloses);
    send_close(c, 1001, "idle timeout");
    ctx_.conns.close(c);
    return;
  }
  send_control(c, ws::Opcode::kPing, {});
  ctx_.conns.schedule(c, interval);
}

bool RawRoom::input_blocked(const net::Conn& c, const Session& s) const {
  // Nothing is answered before the 101 of a resuming socket.
  if (pending_101_.contains(ctx_.conns.slot_of(c))) return true;
  // A publisher that reads its own echoes is slowed before they arrive, so
  // a burst of its publishes cannot come back as a backlog that closes it.
  return ctx_.conns.unsent(c) + s.publishing > ctx_.cfg.max_backlog / 2 || mail_backed_up(s);
}

bool RawRoom::blocked_elsewhere(const net::Conn& c, const Session& s) const {
  return mail_backed_up(s) || s.publishing > 0 || pending_101_.contains(ctx_.conns.slot_of(c));
}

void RawRoom::on_error(net::Conn& c, ws::CloseCode code) {
  switch (code) {
    case ws::CloseCode::kInvalidPayload:
      ctx_.metrics.add(Metric::kWsInvalidUtf8);
      break;
    case ws::CloseCode::kMessageTooBig:
      ctx_.metrics.add(Metric::kWsTooBig);
      break;
    default:
      ctx_.metrics.add(Metric::kWsProtocolErrors);
      break;
  }
  send_close(c, static_cast<uint16_t>(code), ws::to_string(code));
  ctx_.conns.close(c);
}

void RawRoom::on_close_requested(net::Conn& c, Session&, net::CloseWhy why) {
  switch (why) {
    case net::CloseWhy::kSlowConsumer:
      return send_close(c, 1008, "slow consumer: send backlog over the limit");
    case net::CloseWhy::kShed:
      return send_close(c, 1008, "server overloaded: send backlog shed");
    case net::CloseWhy::kInputOverflow:
      ctx_.metrics.add(Metric::kWsProtocolErrors);
      return send_close(c, 1008, "input over the limit while paused");
    case net::CloseWhy::kNone:
      return;
  }
}

void RawRoom::on_closed(net::Conn& c, Session& s) {
  pending_101_.erase(ctx_.conns.slot_of(c));
  ctx_.metrics.sub(Metric::kWebSocketsOpen);
  if (s.room) ctx_.rooms.leave(s.membership());
  s.room = nullptr;
  s.parser = std::monostate{};
}

void RawRoom::goodbye(net::Conn& c, uint16_t code, std::string_view reason) {
  // Still waiting for its 101: it has no WebSocket to close yet.
  if (pending_101_.contains(ctx_.conns.slot_of(c))) return ctx_.conns.abort(c);
  send_close(c, code, reason);
  ctx_.conns.close(c);
}

void RawRoom::send_control(net::Conn& c, ws::Opcode op, std::span<const std::byte> payload) {
  ctx_.conns.queue(c, ctx_.conns.local(ws::make_server_frame(op, payload), 1),
                   net::ConnTable::Charge::kControl);
}

void RawRoom::send_close(net::Conn& c, uint16_t code, std::string_view reason) {
  send_control(c, ws::Opcode::kClose, ws::as_bytes(ws::close_payload(code, reason)));
}

}  // namespace ringchat::chat
