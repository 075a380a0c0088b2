// A connection's protocols: HTTP/1.1 requests (keep-alive, pipelining), the
// RFC 6455 upgrade, WebSocket frames, and the close sequence.
#include <cstring>

#include "ringchat/chat/room_name.h"
#include "ringchat/http/response.h"
#include "ringchat/obs/log.h"
#include "ringchat/ws/frame_encoder.h"
#include "ringchat/ws/handshake.h"
#include "shard_impl.h"

namespace ringchat::chat {

using obs::Metric;

namespace {
constexpr std::string_view kWsPrefix = "/ws/";
constexpr std::string_view kVersionHeader = "Sec-WebSocket-Version: 13\r\n";
}  // namespace

void ShardImpl::on_data(Conn& c, std::span<std::byte> data) {
  if (c.paused) {
    // What the recv delivered before its cancel took effect waits too.
    std::string& bytes = stashes_[slot_of(c)].bytes;
    if (bytes.size() + data.size() > kMaxStash) return request_close(c, CloseWhy::kInputOverflow);
    bytes.append(reinterpret_cast<const char*>(data.data()), data.size());
    return;
  }
  consume(c, data);
}

void ShardImpl::consume(Conn& c, std::span<std::byte> data) {
  if (c.state == ConnState::kHttp) data = on_http(c, data);
  if (c.state == ConnState::kWs && !data.empty()) data = on_ws(c, data);
  // Left over: the answers so far are unsent beyond the input budget.
  if (!data.empty() && (c.state == ConnState::kHttp || c.state == ConnState::kWs) &&
      c.close_why == CloseWhy::kNone) {
    pause_input(c, data);
  }
  // kClosing: input is read and dropped until the peer's FIN.
}

std::span<std::byte> ShardImpl::on_http(Conn& c, std::span<std::byte> data) {
  // Pipelined requests are parsed only while earlier answers are mostly sent.
  while (c.state == ConnState::kHttp && !data.empty() && !input_blocked(c)) {
    auto r = c.http->feed({reinterpret_cast<const char*>(data.data()), data.size()});
    if (!r) {
      metrics_.add(Metric::kHttpErrors);
      send_bytes(c, http::make_error(r.error(), "malformed or oversized request"));
      begin_close(c);
      return {};
    }
    data = data.subspan(*r);
    if (!c.http->done()) break;
    metrics_.add(Metric::kHttpRequests);
    handle_request(c, c.http->request());
    if (c.state == ConnState::kHttp) {
      c.http->reset();
      timers_->schedule(c, cfg_.handshake_timeout_ms);  // keep-alive idle limit
    }
  }
  return data;
}

void ShardImpl::handle_request(Conn& c, const http::Request& req) {
  const bool get = req.method == http::Method::kGet || req.method == http::Method::kHead;
  auto answer = [&](int status, std::string_view type, std::string_view body,
                    std::string_view extra = {}) {
    if (status >= 400) metrics_.add(Metric::kHttpErrors);
    std::string resp = http::make_response(status, type, body, req.keep_alive, extra);
    if (req.method == http::Method::kHead) resp.resize(resp.size() - body.size());
    send_bytes(c, resp);
    if (!req.keep_alive) begin_close(c);
  };
  if (req.path == "/healthz" || req.path == "/readyz" || req.path == "/metrics") {
    if (!get) return answer(405, "text/plain", "405 Method Not Allowed\n", "Allow: GET, HEAD\r\n");
    if (req.path == "/metrics") {
      return answer(200, "text/plain; version=0.0.4", shared_.metrics.prometheus());
    }
    if (req.path == "/readyz" && draining_) return answer(503, "text/plain", "draining\n");
    return answer(200, "text/plain", "ok\n");
  }
  if (req.path.compare(0, kWsPrefix.size(), kWsPrefix) != 0) {
    return answer(404, "text/plain", "404 Not Found: no such route\n");
  }
  std::string_view room = std::string_view(req.path).substr(kWsPrefix.size());
  if (req.method != http::Method::kGet) {
    return answer(405, "text/plain", "405 Method Not Allowed: WebSocket needs GET\n",
                  "Allow: GET\r\n");
  }
  if (const char* why = room_name_error(room)) {
    return answer(400, "text/plain", std::string("400 Bad Request: ") + why + "\n");
  }
  upgrade(c, req, room);
}

void ShardImpl::upgrade(Conn& c, const http::Request& req, std::string_view room) {
  auto fail = [&](int status, std::string_view why, std::string_view extra = {}) {
    metrics_.add(Metric::kHttpErrors);
    send_bytes(c, http::make_error(status, why, extra));
    begin_close(c);
  };
  // RFC 6455 §4.2.1: what a server must find in an opening handshake.
  if (!http::header_has_token(req.upgrade_header, "websocket")) {
    return fail(426, "this is a WebSocket endpoint; send Upgrade: websocket",
                "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n");
  }
  if (req.sec_websocket_version != "13") {
    return fail(426, "unsupported Sec-WebSocket-Version (need 13)", kVersionHeader);
  }
  if (req.version_minor < 1 || req.host.empty() ||
      !http::header_has_token(req.connection, "upgrade") || req.has_header_dupes ||
      !ws::is_valid_client_key(req.sec_websocket_key)) {
    return fail(400, "invalid WebSocket handshake (Host, Connection: Upgrade, Sec-WebSocket-Key)");
  }
  std::string resp =
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Accept: " +
      ws::accept_key(req.sec_websocket_key) + "\r\n\r\n";
  send_bytes(c, resp);
  c.state = ConnState::kWs;
  c.ws.emplace(ws::Role::kServer, cfg_.max_message);
  metrics_.add(Metric::kWsHandshakes);
  metrics_.add(Metric::kWebSocketsOpen);
  timers_->schedule(c, cfg_.ping_interval_ms);
  join_room(c, room);
  c.http.reset();  // last: `req` and `room` point into it
}

std::span<std::byte> ShardImpl::on_ws(Conn& c, std::span<std::byte> data) {
  while (c.state == ConnState::kWs && !input_blocked(c)) {
    auto r = c.ws->next(data);
    if (!r) {
      on_ws_error(c, r.error());
      return {};
    }
    const ws::Event& ev = *r;
    switch (ev.kind) {
      case ws::Event::Kind::kNeedMore:
        c.ws->release();
        return {};
      case ws::Event::Kind::kMessage:
        metrics_.add(Metric::kWsMessagesIn);
        metrics_.add(Metric::kWsBytesIn, ev.payload.size());
        publish(c, ev.opcode, ev.payload);
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
        begin_close(c);
        return {};
    }
  }
  return c.state == ConnState::kWs ? data : std::span<std::byte>{};
}

void ShardImpl::on_ws_error(Conn& c, ws::CloseCode code) {
  switch (code) {
    case ws::CloseCode::kInvalidPayload:
      metrics_.add(Metric::kWsInvalidUtf8);
      break;
    case ws::CloseCode::kMessageTooBig:
      metrics_.add(Metric::kWsTooBig);
      break;
    default:
      metrics_.add(Metric::kWsProtocolErrors);
      break;
  }
  send_close(c, static_cast<uint16_t>(code), ws::to_string(code));
  begin_close(c);
}

void ShardImpl::send_bytes(Conn& c, std::string_view bytes) {
  queue(c, local(net::SharedBuf::copy_of(bytes), 1));
}

void ShardImpl::send_control(Conn& c, ws::Opcode op, std::span<const std::byte> payload) {
  queue(c, local(ws::make_server_frame(op, payload), 1), Charge::kControl);
}

void ShardImpl::send_close(Conn& c, uint16_t code, std::string_view reason) {
  send_control(c, ws::Opcode::kClose, ws::as_bytes(ws::close_payload(code, reason)));
}

void ShardImpl::begin_close(Conn& c) {
  if (c.state == ConnState::kClosing || c.state == ConnState::kFree) return;
  if (c.state == ConnState::kWs) metrics_.sub(Metric::kWebSocketsOpen);
  leave_room(c);
  c.state = ConnState::kClosing;
  c.http.reset();
  c.ws.reset();
  c.close_after_flush = true;
  c.awaiting_join = false;  // what is queued (a 101, a close frame) goes out now
  timers_->schedule(c, cfg_.close_timeout_ms);
  mark_dirty(c);
  if (c.paused) {
    // Paused input is dropped; reading resumes, to see the peer's FIN.
    drop_stash(c);
    if (!c.recv_armed) rearm_.push_back(slot_of(c));
  }
}

void ShardImpl::finalize(Conn& c) {
  if (c.state == ConnState::kFree || c.finalizing) return;
  if (c.state == ConnState::kWs) metrics_.sub(Metric::kWebSocketsOpen);
  leave_room(c);
  timers_->cancel(c);
  c.state = ConnState::kClosing;
  c.finalizing = true;
  c.http.reset();
  c.ws.reset();
  drop_stash(c);
  if (c.pending > 0) {
    // Cancel every request still on this descriptor; their completions
    // bring pending to zero and free the slot.
    io_uring_sqe* sqe = reactor_.get_sqe();
    io_uring_prep_cancel_fd(sqe, static_cast<int>(slot_of(c)),
                            IORING_ASYNC_CANCEL_ALL | IORING_ASYNC_CANCEL_FD_FIXED);
    io_uring_sqe_set_data64(sqe, core::pack(core::Op::kCancel, 0, 0));
  } else {
    release_slot(c);
  }
}

void ShardImpl::release_slot(Conn& c) {
  const uint32_t slot = slot_of(c);
  io_uring_sqe* sqe = reactor_.get_sqe();
  io_uring_prep_close_direct(sqe, slot);
  io_uring_sqe_set_data64(sqe, core::pack(core::Op::kClose, slot, c.gen));
  timers_->cancel(c);
  c.sendq.reset();
  c.gen = (c.gen + 1) & core::kGenMask;
  c.state = ConnState::kFree;
  c.recv_armed = c.close_after_flush = c.shutdown_sent = c.finalizing = false;
  c.awaiting_join = c.recv_cancelled = false;
  c.publishing = 0;
  c.close_why = CloseWhy::kNone;
  freed_since_trim_ = true;
  --open_;
  metrics_.add(Metric::kConnectionsClosed);
  metrics_.sub(Metric::kConnectionsOpen);
}

void ShardImpl::on_timer(Conn& c) {
  switch (c.state) {
    case ConnState::kHttp:
      metrics_.add(Metric::kHandshakeTimeouts);
      finalize(c);
      return;
    case ConnState::kClosing:
      finalize(c);  // the peer never sent its FIN
      return;
    case ConnState::kWs:
      if (c.paused && c.sendq && c.sendq->backlog_bytes() > cfg_.max_backlog / 2 &&
          now_ms_ - stashes_[slot_of(c)].progress_ms >= cfg_.ping_interval_ms) {
        // Paused, and not a byte taken, for a whole interval: it does not
        // read what it asks for.
        metrics_.add(Metric::kSlowConsumerCloses);
        send_close(c, 1008, "slow consumer: not reading its messages");
        begin_close(c);
        return;
      }
      // Paused input is not read, so it cannot show the peer is alive.
      if (!c.paused && now_ms_ - c.last_seen_ms >= 2ull * cfg_.ping_interval_ms) {
        metrics_.add(Metric::kWsIdleCloses);
        send_close(c, 1001, "idle timeout");
        begin_close(c);
        return;
      }
      send_control(c, ws::Opcode::kPing, {});
      timers_->schedule(c, cfg_.ping_interval_ms);
      return;
    case ConnState::kFree:
      return;
  }
}

}  // namespace ringchat::chat
