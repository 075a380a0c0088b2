// Worker: what differs between the protocols (raw room sockets, the JSON
// socket, SSE streams with HTTP publishers) and the churn of subscribers.
#include <string_view>

#include "client_handshake.h"
#include "http_client.h"
#include "ringchat/ws/frame_encoder.h"
#include "worker.h"

namespace ringchat::ringload {
namespace {

// Asks for a position without having one: no room has epoch 0, so the
// server answers not recovered with where the room stands (and its history).
constexpr std::string_view kNoPosition = "0000000000000000:0";

}  // namespace

// Hands an SSE stream's events to the worker, with the connection they
// arrived on. A callback may end the connection: later events of the same
// feed then find it closed and are dropped.
struct Worker::SseDispatch final : SseSink {
  SseDispatch(Worker& w, uint32_t i, uint64_t now) : w_(w), i_(i), now_(now) {}
  void on_event(std::string_view type, std::string_view id, std::string_view data) override {
    w_.on_sse_event(i_, type, id, data, now_);
  }
  void on_comment(std::string_view) override {
    // A server without a `joined` event (nchan says ": hi") is subscribed
    // once it says anything.
    if (w_.conns_[i_].state == State::kJoining) w_.on_open(i_, now_, OpenInfo{});
  }
  Worker& w_;
  const uint32_t i_;
  const uint64_t now_;
};

std::string Worker::connect_request(uint32_t i, const std::string& key) {
  Conn& c = conns_[i];
  std::string pos;
  if (c.seqc.has_position()) pos = format_position({c.seqc.epoch(), c.seqc.last()});
  const Target& t = ep_.target;
  switch (s_.protocol) {
    case Protocol::kRaw: {
      // Positions need ?since= (the 101 reports them only then).
      c.track_raw = s_.churn > 0 || !s_.since.empty() || s_.rolling();
      c.resuming = c.track_raw && !pos.empty();
      std::string path = c.path;
      if (c.resuming) {
        path += "?since=" + pos;
      } else if (!s_.since.empty()) {
        path += "?since=" + s_.since;
      } else if (c.track_raw) {
        path += "?since=" + std::string(kNoPosition);
      }
      return build_upgrade_request(t.host, t.port, path, key);
    }
    case Protocol::kJson:
      c.resuming = !pos.empty();
      return build_upgrade_request(t.host, t.port, c.path, key);
    case Protocol::kSocketIo:
      c.resuming = false;
      return build_upgrade_request(t.host, t.port, c.path, key);
    case Protocol::kSse:
      c.resuming = !pos.empty();
      return build_sse_request(t.host, t.port, c.path, pos);
  }
  return {};
}

void Worker::send_join(uint32_t i) {
  Conn& c = conns_[i];
  // Room names are [A-Za-z0-9._:@-] (PROTOCOL.md): no JSON escaping needed.
  frame_ = R"({"type":"join","room":")" + plan_.room_name(s_, c.client) + '"';
  if (c.resuming) {
    frame_ += R"(,"since":")" + format_position({c.seqc.epoch(), c.seqc.last()}) + '"';
  }
  frame_ += '}';
  queue_frame(i, ws::Opcode::kText, std::as_bytes(std::span(frame_)));
}

void Worker::queue_publish(uint32_t i, std::string_view payload) {
  Conn& c = conns_[i];
  switch (s_.protocol) {
    case Protocol::kRaw:
      return queue_frame(i, ws::Opcode::kText, std::as_bytes(std::span(payload)));
    case Protocol::kJson:
      // The payload is [0-9A-Za-z._;-] and 'x': a JSON string as it is.
      frame_ = R"({"type":"pub","room":")" + plan_.room_name(s_, c.client) + R"(","data":")";
      frame_.append(payload).append("\"}");
      return queue_frame(i, ws::Opcode::kText, std::as_bytes(std::span(frame_)));
    case Protocol::kSocketIo:
      // An Engine.IO message (4) carrying a Socket.IO event (2): ["pub", payload].
      frame_ = R"(42["pub",")";
      frame_.append(payload).append("\"]");
      return queue_frame(i, ws::Opcode::kText, std::as_bytes(std::span(frame_)));
    case Protocol::kSse: {
      Conn& p = conns_[c.link];
      append_post_request(p.out, ep_.target.host, ep_.target.port, p.path, payload);
      ++p.pub_waiting;
      if (!p.dirty) {
        p.dirty = true;
        dirty_.push_back(c.link);
      }
      return;
    }
  }
}

// Socket.IO 4 over Engine.IO 4's WebSocket transport, one packet per text
// frame: the server opens with `0{"sid":...}` (Engine.IO open), the client
// connects to the main namespace with `40`, answered `40{"sid":...}`; the
// server pings with `2`, answered `3`; an event is `42["name",args...]`.
// The room is joined by the server from the query (?room=R); deliveries
// are `42["m","<payload>"]` (the payload needs no JSON escaping).
void Worker::on_socketio_message(uint32_t i, std::string_view text, uint64_t now) {
  Conn& c = conns_[i];
  constexpr std::string_view kMsg = R"(42["m",")";
  if (text.starts_with(kMsg) && text.ends_with("\"]") && text.size() >= kMsg.size() + 2) {
    if (c.state == State::kJoining) return count_error("socketio:msg_before_connect");
    return deliver(i, text.substr(kMsg.size(), text.size() - kMsg.size() - 2), now);
  }
  if (text == "2") {
    static constexpr std::string_view kPong = "3";
    return queue_frame(i, ws::Opcode::kText, std::as_bytes(std::span(kPong)));
  }
  if (text.starts_with("40")) {
    if (c.state == State::kJoining) on_open(i, now, OpenInfo{});
    return;
  }
  if (text.starts_with("0") && c.state == State::kJoining) {
    static constexpr std::string_view kConnect = "40";
    return queue_frame(i, ws::Opcode::kText, std::as_bytes(std::span(kConnect)));
  }
  if (text.starts_with("44")) return count_error("socketio:connect_error");
  if (text.starts_with("41") || text.starts_with("1")) return;  // disconnect, close
  count_error("socketio:unexpected");
}

void Worker::on_json_message(uint32_t i, std::string_view text, uint64_t now) {
  Conn& c = conns_[i];
  auto r = envelopes_.parse(text);
  if (!r) return count_error("json:" + std::string(r.error()));
  const Envelope& e = *r;
  switch (e.type) {
    case EnvelopeType::kMsg:
      if (c.state == State::kJoining) return count_error("json:msg_before_joined");
      if (e.has_seq) c.seqc.on_message(e.seq);
      if (!e.has_data) return count_error("payload:not_a_string");
      return deliver(i, e.data, now);
    case EnvelopeType::kJoined:
      if (c.state != State::kJoining) return;
      return on_open(i, now, OpenInfo{e.has_epoch && e.has_seq, e.recovered, e.epoch, 0, e.seq});
    case EnvelopeType::kError:
      count_error("json:error_" + std::string(e.code.substr(0, 32)));
      // Once joined, what a sender's socket sends is its publishes.
      if (c.state == State::kOpen && plan_.sender[c.client]) note_refused(i);
      if (c.state == State::kJoining) abort_conn(i, "", now);
      return;
    case EnvelopeType::kDraining:
      if (e.has_retry_ms) take_hint(i, e.retry_ms);
      return;  // the close frame follows
    case EnvelopeType::kOther:
      return;  // presence events, acks, pongs
  }
}

void Worker::on_sse_bytes(uint32_t i, std::string_view data, uint64_t now) {
  Conn& c = conns_[i];
  if (c.state == State::kHandshake) {
    c.hs->buf.append(data);
    ResponseHead h;
    switch (parse_response_head(c.hs->buf, h)) {
      case HeadStatus::kNeedMore:
        return;
      case HeadStatus::kBad:
        return abort_conn(i, "sse:bad_response", now);
      case HeadStatus::kTooLarge:
        return abort_conn(i, "sse:too_large", now);
      case HeadStatus::kOk:
        break;
    }
    if (h.status != 200) return abort_conn(i, "sse:bad_status:" + std::to_string(h.status), now);
    if (h.chunked) return abort_conn(i, "sse:chunked_unsupported", now);
    const std::string rest = c.hs->buf.substr(h.header_bytes);
    c.hs.reset();
    c.state = State::kJoining;
    if (!rest.empty()) on_sse_bytes(i, rest, now);
    return;
  }
  SseDispatch sink(*this, i, now);
  if (!c.sse->feed(data, sink)) abort_conn(i, "sse:line_too_long", now);
}

void Worker::on_sse_event(uint32_t i, std::string_view type, std::string_view id,
                          std::string_view data, uint64_t now) {
  Conn& c = conns_[i];
  if (c.state != State::kJoining && c.state != State::kOpen && c.state != State::kClosing) return;
  if (type == "joined") {
    // ringchat: the id is the position just before the first event to come.
    if (c.state != State::kJoining) return;
    const auto pos = parse_position(id);
    OpenInfo info;
    if (auto r = envelopes_.parse(data); pos && r && r->has_epoch)
      info = OpenInfo{true, r->recovered, pos->epoch, pos->seq + 1, r->seq};
    return on_open(i, now, info);
  }
  if (type == "draining") {  // the stream ends next; come back after retry_ms
    if (auto r = envelopes_.parse(data); r && r->has_retry_ms) take_hint(i, r->retry_ms);
    c.told_draining = true;
    return;
  }
  if (c.state == State::kJoining) on_open(i, now, OpenInfo{});
  if (!type.empty()) return count_error("sse:event_" + std::string(type.substr(0, 32)));
  if (c.seqc.has_position()) {
    if (const auto pos = parse_position(id)) c.seqc.on_message(pos->seq);
  }
  deliver(i, data, now);
}

// Answers to POSTs, in request order (HTTP/1.1 keep-alive, pipelined).
void Worker::on_pub_bytes(uint32_t i, std::string_view data, uint64_t now) {
  Conn& c = conns_[i];
  if (c.state != State::kOpen && c.state != State::kClosing) return;
  c.in.append(data);
  size_t used = 0;
  while (used < c.in.size()) {
    const std::string_view rest = std::string_view(c.in).substr(used);
    ResponseHead h;
    const HeadStatus st = parse_response_head(rest, h);
    if (st == HeadStatus::kNeedMore) break;
    if (st != HeadStatus::kOk || h.chunked || !h.content_length)
      return abort_conn(i, "publish:bad_response", now);
    const size_t total = h.header_bytes + *h.content_length;
    if (rest.size() < total) break;
    used += total;
    if (c.pub_waiting > 0) --c.pub_waiting;
    if (h.status < 200 || h.status > 299) {
      count_error("publish:status_" + std::to_string(h.status));
      note_refused(c.link);
    }
  }
  c.in.erase(0, used);
}

bool Worker::publish_outstanding(const Conn& c) const {
  // A raw or JSON sender publishes on its own socket: reset while its
  // message is unconfirmed, the message may be lost, which is no fault of
  // the server. SSE streams never publish.
  return s_.protocol != Protocol::kSse && plan_.sender[c.client] && c.own_echoed < c.last_sent;
}

void Worker::churn_scan(uint64_t now, uint64_t dt_ns) {
  const double p = s_.churn * static_cast<double>(dt_ns) / 1e9;
  std::uniform_real_distribution<double> u(0.0, 1.0);
  for (uint32_t i = 0; i < conns_.size(); ++i) {
    const Conn& c = conns_[i];
    if (c.role != Role::kClient || c.state != State::kOpen || publish_outstanding(c)) continue;
    if (u(rng_) < p) reset_conn(i, now);
  }
}

// Drops the connection as a failing network does: cancel what is in flight
// and close; SO_LINGER 0 (install_socket) makes the close an RST.
void Worker::reset_conn(uint32_t i, uint64_t now) {
  Conn& c = conns_[i];
  --open_;
  c.state = State::kTearDown;
  ++c.epoch;
  c.churned = true;
  c.reset_pending = true;
  ++conn_counts_.resets;
  note_drop(i, now);
  io_uring_sqe* sqe = reactor_.get_sqe();
  io_uring_prep_cancel_fd(sqe, static_cast<int>(i),
                          IORING_ASYNC_CANCEL_ALL | IORING_ASYNC_CANCEL_FD_FIXED);
  io_uring_sqe_set_data64(sqe, pack(Op::kCancel, i));
  ++c.inflight;
  op_done(i, now);
}

}  // namespace ringchat::ringload
