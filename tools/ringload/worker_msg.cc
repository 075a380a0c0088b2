// Worker: what arrives on a connection (handshake response, frames,
// messages) and what the scenario mode sends in reply.
#include <charconv>
#include <string_view>

#include "client_handshake.h"
#include "clock.h"
#include "drain_hint.h"
#include "http_client.h"
#include "payload.h"
#include "ringchat/ws/frame_encoder.h"
#include "worker.h"

namespace ringchat::ringload {

void Worker::on_bytes(uint32_t i, std::span<std::byte> data, uint64_t now) {
  const std::string_view text(reinterpret_cast<const char*>(data.data()), data.size());
  if (conns_[i].role == Role::kPublisher) return on_pub_bytes(i, text, now);
  if (s_.protocol == Protocol::kSse) return on_sse_bytes(i, text, now);
  if (conns_[i].state == State::kHandshake) {
    on_handshake_bytes(i, data, now);
  } else {
    on_frames(i, data, now);
  }
}

void Worker::on_handshake_bytes(uint32_t i, std::span<const std::byte> data, uint64_t now) {
  Conn& c = conns_[i];
  c.hs->buf.append(reinterpret_cast<const char*>(data.data()), data.size());
  const HandshakeResult r = check_upgrade_response(c.hs->buf, c.hs->expected_accept);
  if (r.status == HandshakeStatus::kNeedMore) return;
  if (r.status != HandshakeStatus::kOk) {
    std::string kind = "handshake:" + std::string(to_string(r.status));
    if (r.status == HandshakeStatus::kBadStatus)
      kind.append(":").append(std::to_string(r.http_status));
    abort_conn(i, kind, now);
    return;
  }
  std::string rest = c.hs->buf.substr(r.header_bytes);
  const std::string head = c.hs->buf.substr(0, r.header_bytes);
  c.hs.reset();
  on_ws_open(i, head, now);
  if (!rest.empty() && (c.state == State::kOpen || c.state == State::kJoining))
    on_frames(i, std::as_writable_bytes(std::span(rest)), now);
}

// After the 101. raw: open now, numbering frames from X-Ringchat-First when
// connected with a position; json: join the room first.
void Worker::on_ws_open(uint32_t i, std::string_view head, uint64_t now) {
  Conn& c = conns_[i];
  if (s_.protocol == Protocol::kJson) {
    c.state = State::kJoining;
    send_join(i);
    return;
  }
  if (s_.protocol == Protocol::kSocketIo) {  // open at the namespace's `40`
    c.state = State::kJoining;
    return;
  }
  OpenInfo info;
  if (c.track_raw) {
    const auto epoch = find_header(head, "x-ringchat-epoch");
    const auto seq = find_header(head, "x-ringchat-seq");
    const auto first = find_header(head, "x-ringchat-first");
    const auto recovered = find_header(head, "x-ringchat-recovered");
    Position pos{};
    bool ok = false;
    if (epoch && seq) {
      if (auto p = parse_position(std::string(*epoch) + ":" + std::string(*seq))) {
        pos = *p;
        ok = true;
      }
    }
    uint64_t f = 0;
    if (first) std::from_chars(first->data(), first->data() + first->size(), f);
    if (!ok || f == 0) {
      count_error("handshake:no_position");  // not a server that reports positions
      c.track_raw = false;
    } else {
      info = OpenInfo{true, recovered && *recovered == "true", pos.epoch, f, pos.seq};
      c.raw_next = f;
      // A fresh join asked from epoch 0 to learn the position: what history
      // sends first is old, not part of this run's deliveries.
      if (!c.resuming && s_.since.empty()) {
        c.replay_until = pos.seq;
        info.first = pos.seq + 1;
      }
    }
  }
  on_open(i, now, info);
}

void Worker::on_open(uint32_t i, uint64_t now, const OpenInfo& info) {
  Conn& c = conns_[i];
  c.state = State::kOpen;
  --connecting_;
  ++open_;
  ++conn_counts_.opened;
  if (info.has_pos) {
    if (c.resuming) {
      c.seqc.resumed(info.epoch, info.recovered, info.first, info.room_seq);
    } else {
      c.seqc.start(info.epoch, info.first != 0 ? info.first - 1 : info.room_seq);
    }
  }
  // A recovered resume owes every message: the order checker expects no
  // jump. Any other reopen may have missed some.
  const bool continuous = c.resuming && info.has_pos && info.recovered;
  if (c.role == Role::kClient) curve_.on_open(now - t0_, c.ever_opened);
  if (c.ever_opened) {
    ++conn_counts_.reconnects;
    if (!continuous) c.order.mark_reconnect();
    if (!c.churned) {
      ++c.incarnation;
      c.seq = 0;
      c.own_echoed = 0;
      c.last_sent = 0;
      c.refused = 0;
    }
  } else {
    c.ever_opened = true;
    ++settled_;
  }
  c.churned = false;
  c.attempt = 0;
  c.round_start_ns = now;
  if (c.role == Role::kPublisher) return kick(c.link, now);
  kick(i, now);
}

void Worker::on_frames(uint32_t i, std::span<std::byte> in, uint64_t now) {
  Conn& c = conns_[i];
  while (c.state == State::kOpen || c.state == State::kClosing || c.state == State::kJoining) {
    auto r = c.parser.next(in);
    if (!r) {
      abort_conn(i, "ws:protocol_" + std::to_string(static_cast<unsigned>(r.error())), now);
      return;
    }
    const ws::Event& ev = *r;
    switch (ev.kind) {
      case ws::Event::Kind::kNeedMore:
        if (c.parser.idle()) c.parser.release();
        return;
      case ws::Event::Kind::kMessage:
        on_message(i, ev.payload, now);
        break;
      case ws::Event::Kind::kPing:
        queue_frame(i, ws::Opcode::kPong, ev.payload);
        break;
      case ws::Event::Kind::kPong:
        break;
      case ws::Event::Kind::kClose:
        if (c.state == State::kJoining) {  // refused before it joined
          abort_conn(i, "server_close:" + std::to_string(ev.close_code), now);
          return;
        }
        if (c.close_sent) {
          abort_conn(i, "", now);
          return;
        }
        count_error("server_close:" + std::to_string(ev.close_code));
        if (auto hint = parse_drain_reason(ev.close_reason)) take_hint(i, *hint);
        if (c.state == State::kOpen) note_drop(i, now);
        {
          const std::string body =
              ws::close_payload(ev.close_code == 1005 ? 1000 : ev.close_code, "");
          queue_frame(i, ws::Opcode::kClose, std::as_bytes(std::span(body)));
        }
        c.close_sent = true;
        if (c.state == State::kOpen) --open_;
        c.state = State::kClosing;
        c.deadline_ns = now + 1'000'000'000;
        return;
    }
  }
}

void Worker::on_message(uint32_t i, std::span<const std::byte> payload, uint64_t now) {
  Conn& c = conns_[i];
  const std::string_view text(reinterpret_cast<const char*>(payload.data()), payload.size());
  if (s_.protocol == Protocol::kJson) return on_json_message(i, text, now);
  if (s_.protocol == Protocol::kSocketIo) return on_socketio_message(i, text, now);
  if (c.track_raw) {
    const uint64_t seq = c.raw_next++;
    if (seq <= c.replay_until) return;
    c.seqc.on_message(seq);
  }
  deliver(i, text, now);
}

// One message's payload (raw frame, JSON `data`, SSE event data): latency,
// the order checker, and what the mode does next.
void Worker::deliver(uint32_t i, std::string_view payload, uint64_t now) {
  Conn& c = conns_[i];
  const auto f = decode_payload(payload);
  if (!f) {
    count_error("payload:malformed");
    return;
  }
  StageStats& st = stages_[static_cast<size_t>(stage_)];
  ++st.delivered;
  st.bytes_delivered += payload.size();
  ++delivered_total_;
  const uint64_t rel = now - t0_;
  const uint64_t latency = rel > f->send_ns ? rel - f->send_ns : 0;
  st.latency.record(latency);
  interval_.record(latency);
  c.order.on_message(f->sender, f->seq);
  if (f->sender == sender_key(c)) c.own_echoed = std::max(c.own_echoed, f->seq);
  if (c.state != State::kOpen) return;
  if (s_.mode == Mode::kEcho) {
    if (f->sender == sender_key(c) && f->seq == c.seq) {
      c.awaiting_echo = false;
      kick(i, now);
    }
  } else if (s_.mode == Mode::kFanout) {
    on_fanout_message(i, f->seq, now);
  }
}

// Fan-out rounds: a member's round r is complete when every sender of its
// room has delivered its message number r. A sender publishes number r+1
// only after completing round r, so no member can be more than one round
// ahead of another: counting this round and the next is enough.
void Worker::on_fanout_message(uint32_t i, uint64_t seq, uint64_t now) {
  Conn& c = conns_[i];
  if (seq == c.round) {
    ++c.round_cur;
  } else if (seq == c.round + 1) {
    ++c.round_next;
  }
  const uint32_t expected = plan_.senders_in_room[plan_.room[c.client]];
  if (expected > 0 && c.round_cur >= expected) advance_round(i, now);
}

void Worker::advance_round(uint32_t i, uint64_t now) {
  Conn& c = conns_[i];
  ++c.round;
  c.round_cur = c.round_next;
  c.round_next = 0;
  c.round_start_ns = now;
  kick(i, now);
}

// Sends what the mode wants sent now that the connection is open, sending
// is allowed, or a round/echo completed.
void Worker::kick(uint32_t i, uint64_t now) {
  Conn& c = conns_[i];
  if (c.state != State::kOpen || !sending() || !plan_.sender[c.client]) return;
  if (c.role != Role::kClient) return;
  if (c.link != kNone && conns_[c.link].state != State::kOpen) return;  // its publisher
  switch (s_.mode) {
    case Mode::kEcho:
      if (!c.awaiting_echo) {
        c.awaiting_echo = true;
        send_message(i, ++c.seq, now - t0_);
      }
      break;
    case Mode::kRate:
      if (c.next_send_ns == 0) {
        c.next_send_ns = now + next_interval_ns();
        timers_.push(Timer{c.next_send_ns, i, c.epoch, TimerKind::kSend});
      }
      break;
    case Mode::kFanout:
      if (go_ && c.sent_round < c.round) {
        c.sent_round = c.round;
        c.round_start_ns = now;
        send_message(i, c.round, now - t0_);
      }
      break;
    case Mode::kIdle:
    case Mode::kHandshake:
      break;
  }
}

void Worker::send_message(uint32_t i, uint64_t seq, uint64_t stamp_ns) {
  Conn& c = conns_[i];
  size_t size = s_.size;
  if (s_.size_max > s_.size) size += rng_() % (s_.size_max - s_.size + 1);
  scratch_.clear();
  encode_payload(scratch_, PayloadFields{stamp_ns, sender_key(c), seq}, size);
  c.last_sent = seq;
  queue_publish(i, scratch_);
  StageStats& st = stages_[static_cast<size_t>(stage_)];
  ++st.sent;
  st.bytes_sent += scratch_.size();
  ++sent_total_;
}

void Worker::queue_frame(uint32_t i, ws::Opcode op, std::span<const std::byte> payload) {
  Conn& c = conns_[i];
  ws::append_client_frame(c.out, op, payload, static_cast<uint32_t>(rng_()));
  if (!c.dirty) {
    c.dirty = true;
    dirty_.push_back(i);
  }
}

}  // namespace ringchat::ringload
