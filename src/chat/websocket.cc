#include "websocket.h"

#include "ringchat/chat/drain.h"
#include "ringchat/ws/frame_encoder.h"

namespace ringchat::chat {

using obs::Metric;

void WebSocket::take_over(net::Conn& c, Session& s) {
  ctx_.set_protocol(c, s, id_);
  s.parser.emplace<ws::FrameParser>(ws::Role::kServer, ctx_.cfg.max_message,
                                    ctx_.cfg.max_fragments);
  ctx_.metrics.add(Metric::kWsHandshakes);
  ctx_.conns.schedule(c, ctx_.timer_delay(c, ctx_.cfg.ping_interval_ms));
}

void WebSocket::closed(Session& s) { s.parser = std::monostate{}; }

std::span<std::byte> WebSocket::on_data(net::Conn& c, Session& s, std::span<std::byte> data) {
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
        on_message(c, s, ev.opcode, ev.payload);
        break;
      case ws::Event::Kind::kPing:
        send_control(c, ws::Opcode::kPong, ev.payload);
        break;
      case ws::Event::Kind::kPong:
        break;
      case ws::Event::Kind::kClose: {
        ctx_.metrics.add(obs::close_metric(ev.close_code, /*by_server=*/false));
        // RFC 6455 §5.5.1: echo the status code; a close without one gets
        // an empty close back.
        const std::string echo =
            ev.close_code == 1005 ? std::string() : ws::close_payload(ev.close_code, {});
        send_control(c, ws::Opcode::kClose, ws::as_bytes(echo));
        ctx_.conns.close(c);
        return {};
      }
    }
  }
  return c.usable() ? data : std::span<std::byte>{};
}

void WebSocket::on_timer(net::Conn& c, Session&) {
  const uint64_t now = ctx_.now_ms();
  const uint64_t interval = ctx_.cfg.ping_interval_ms;
  if (before_101(c)) return ctx_.conns.schedule(c, ctx_.timer_delay(c, interval));
  if (ctx_.expired(c)) {
    // docs/SECURITY.md: 4001, so a client knows to come back with a new token.
    ctx_.count_auth_failure("expired");
    send_close(c, 4001, "token expired");
    ctx_.conns.close(c);
    return;
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
  // A timer that came early for the token's expiry (since refreshed) pings
  // early: harmless.
  send_control(c, ws::Opcode::kPing, {});
  ctx_.conns.schedule(c, ctx_.timer_delay(c, interval));
}

void WebSocket::on_error(net::Conn& c, ws::CloseCode code) {
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

void WebSocket::on_close_requested(net::Conn& c, Session&, net::CloseWhy why) {
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

void WebSocket::goodbye(net::Conn& c, uint64_t retry_ms) {
  // Still waiting for its 101: it has no WebSocket to close yet.
  if (before_101(c)) return ctx_.conns.abort(c);
  farewell(c, retry_ms);
  // RFC 6455 §7.4.1: 1001, an endpoint going away. The reason (at most 123
  // bytes; this one is under 40) tells the client when to come back.
  send_close(c, 1001, drain_close_reason(retry_ms));
  ctx_.conns.close(c);
}

void WebSocket::send(net::Conn& c, net::SharedBuf* frame) {
  ctx_.conns.queue(c, ctx_.conns.local(frame, 1));
}

void WebSocket::send_control(net::Conn& c, ws::Opcode op, std::span<const std::byte> payload) {
  ctx_.conns.queue(c, ctx_.conns.local(ws::make_server_frame(op, payload), 1),
                   net::ConnTable::Charge::kControl);
}

void WebSocket::send_close(net::Conn& c, uint16_t code, std::string_view reason) {
  ctx_.metrics.add(obs::close_metric(code, /*by_server=*/true));
  send_control(c, ws::Opcode::kClose, ws::as_bytes(ws::close_payload(code, reason)));
}

}  // namespace ringchat::chat
