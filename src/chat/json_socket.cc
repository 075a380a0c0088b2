#include "json_socket.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>

#include "ringchat/chat/drain.h"
#include "ringchat/ws/frame_encoder.h"
#include "wire.h"

namespace ringchat::chat {

using obs::Metric;

namespace {

// Past this many answers outstanding (acks, history reads), its input waits.
constexpr size_t kMaxWaiting = 256;

void append_id(std::string& out, std::string_view id) {
  if (id.empty()) return;
  out += ",\"id\":";
  out += id;  // JSON text, as the client sent it (re-encoded by the parser)
}

// {"type":"TYPE","room":"ROOM" : the start of most replies.
std::string start_reply(std::string_view type, std::string_view room) {
  std::string out = "{\"type\":\"";
  out += type;
  out += "\",\"room\":";
  append_json_string(out, room);
  return out;
}

void append_where(std::string& out, uint64_t epoch, uint64_t seq) {
  char where[64];
  std::snprintf(where, sizeof(where), R"(,"epoch":"%016)" PRIx64 R"(","seq":%)" PRIu64, epoch, seq);
  out += where;
}

}  // namespace

void JsonStateDelete::operator()(JsonState* p) const { delete p; }

void JsonSocket::start(net::Conn& c, Session& s) {
  take_over(c, s);
  s.json.reset(new JsonState());
}

void JsonSocket::on_message(net::Conn& c, Session& s, ws::Opcode op,
                            std::span<const std::byte> payload) {
  if (op != ws::Opcode::kText) {
    return error(c, "bad_json", "binary message: the JSON protocol takes text messages", {});
  }
  auto r = parser_.parse({reinterpret_cast<const char*>(payload.data()), payload.size()});
  if (!r) return error(c, r.error().code, r.error().reason, r.error().id);
  const ClientOp& o = *r;
  switch (o.type) {
    case OpType::kJoin:
      return join(c, s, o);
    case OpType::kLeave:
      return leave(c, s, o);
    case OpType::kPub:
      return pub(c, s, o);
    case OpType::kHistory:
      return read_history(c, s, o);
    case OpType::kPresence:
      return presence(c, s, o);
    case OpType::kRefresh:
      return refresh(c, s, o);
    case OpType::kPing: {
      std::string out = "{\"type\":\"pong\"";
      append_id(out, o.id);
      out += '}';
      return reply(c, out);
    }
  }
}

void JsonSocket::refresh(net::Conn& c, Session& s, const ClientOp& o) {
  const auth::Gate& gate = ctx_.shared.gate;
  if (!gate.tokens()) return error(c, "unsupported", "refresh: the server takes no tokens", o.id);
  auto id = gate.verify(o.token, ShardContext::unix_ms() / 1000);
  if (!id) {
    ctx_.count_auth_failure(id.error().kind);
    return error(c, id.error().code, id.error().reason, o.id);
  }
  const auth::Identity& was = ctx_.identity(c);
  if (was.kind == auth::Identity::Kind::kUser && was.claims.sub != id->claims.sub) {
    ctx_.count_auth_failure("forbidden");
    return error(c, "forbidden", "refresh: the token is another user's", o.id);
  }
  const bool named = was.kind != auth::Identity::Kind::kUser;
  const int64_t exp = id->claims.exp;
  ctx_.set_identity(c, std::move(*id));
  if (named) {
    for (const JsonState::Room& r : s.json->rooms) ctx_.rooms.renamed({r.room, r.index}, c.gen);
  }
  // The new token may expire sooner than the timer was set for.
  ctx_.conns.schedule(c, ctx_.timer_delay(c, ctx_.cfg.ping_interval_ms));
  std::string out = "{\"type\":\"refreshed\"";
  append_id(out, o.id);
  out += ",\"exp\":";
  out += std::to_string(exp);
  out += '}';
  reply(c, out);
}

JsonState::Room* JsonSocket::find(Session& s, std::string_view room) {
  for (JsonState::Room& r : s.json->rooms) {
    if (r.room && r.room->name == room) return &r;
  }
  return nullptr;
}

void JsonSocket::join(net::Conn& c, Session& s, const ClientOp& o) {
  if (find(s, o.room)) return error(c, "already_joined", "join: already in this room", o.id);
  if (!ctx_.identity(c).may_join(o.room)) {
    ctx_.count_auth_failure("forbidden");
    return error(c, "forbidden", "join: the token does not grant this room", o.id);
  }
  auto& rooms = s.json->rooms;
  if (rooms.size() >= ctx_.cfg.max_rooms_per_conn) {
    return error(c, "too_many_rooms", "join: in --max-rooms-per-conn rooms already", o.id);
  }
  rooms.push_back({nullptr, 0, std::string(o.id)});
  const size_t i = rooms.size() - 1;
  // Without a position the answer only tells where the room stands (no
  // message); with one, what the client missed. Either way `joined` goes
  // out with the owner's answer, in order before any live message. When
  // this shard owns the room, history() runs before join() returns: it finds
  // the entry by its null room.
  auto joined = ctx_.rooms.join(o.room, ctx_.conns.slot_of(c), c.gen, format(),
                                o.since.value_or(Position{}), o.since ? UINT32_MAX : 0);
  rooms[i].room = joined.membership.room;
  rooms[i].index = joined.membership.index;
}

void JsonSocket::history(net::Conn& c, Session& s, const HistoryBatch& b) {
  JsonState::Room* r = find(s, b.room);
  for (JsonState::Room& e : s.json->rooms) {
    if (!r && !e.room) r = &e;  // joining on the owner's shard: RoomService::join() runs
  }
  if (!r) return;  // the owner answers only members it still has
  std::string out = start_reply("joined", b.room);
  append_where(out, b.epoch, b.seq);
  out += b.recovered ? ",\"recovered\":true" : ",\"recovered\":false";
  append_id(out, r->id);
  out += '}';
  reply(c, out);
  r->id = {};
  // Before any live message: what the client missed.
  for (const Sequenced* m : b.msgs) send(c, wire_ref(*m, format()));
}

void JsonSocket::moved(net::Conn&, Session& s, const LocalRoom* room, uint32_t index) {
  for (JsonState::Room& r : s.json->rooms) {
    if (r.room == room || r.room == nullptr) {
      r.index = index;
      return;
    }
  }
}

void JsonSocket::leave(net::Conn& c, Session& s, const ClientOp& o) {
  JsonState::Room* r = find(s, o.room);
  if (!r) return error(c, "not_joined", "leave: not in this room", o.id);
  // Messages still queued for this connection were delivered before the
  // leave: they go out before `left`; none comes after it.
  ctx_.rooms.leave({r->room, r->index}, c.gen);
  auto& rooms = s.json->rooms;
  *r = std::move(rooms.back());
  rooms.pop_back();
  std::string out = start_reply("left", o.room);
  append_id(out, o.id);
  out += '}';
  reply(c, out);
}

void JsonSocket::pub(net::Conn& c, Session& s, const ClientOp& o) {
  if (!find(s, o.room)) return error(c, "not_joined", "pub: join the room first", o.id);
  if (!ctx_.identity(c).may_publish(o.room)) {
    ctx_.count_auth_failure("forbidden");
    return error(c, "forbidden", "pub: the token does not allow publishing here", o.id);
  }
  if (!ctx_.may_publish(s)) {
    return error(c, "rate_limited", "pub: over --pub-rate messages per second; dropped", o.id);
  }
  const auto data = std::as_bytes(std::span(o.data.data(), o.data.size()));
  // Acked whether or not the client asked (the ack gives the bytes back,
  // even if it leaves the room before its message comes back).
  const uint32_t token = ctx_.ack_token();
  s.json->waiting.push_back({token, static_cast<uint32_t>(data.size()), std::string(o.id), {}});
  s.publishing += static_cast<uint32_t>(data.size());
  const Sender from{ctx_.conns.slot_of(c), c.gen, static_cast<uint16_t>(ctx_.id)};
  ctx_.rooms.publish(make_publish(o.room, data, from, Kind::kJson, token, ctx_.user_of(c)));
}

std::vector<JsonState::Waiting>::iterator JsonSocket::waiting(Session& s, uint32_t token) {
  // Another connection's answer, on a reused slot, finds nothing.
  auto& all = s.json->waiting;
  return std::find_if(all.begin(), all.end(),
                      [&](const JsonState::Waiting& w) { return w.token == token; });
}

void JsonSocket::acked(net::Conn& c, Session& s, uint32_t token, uint64_t seq) {
  auto w = waiting(s, token);
  if (w == s.json->waiting.end()) return;
  s.publishing -= std::min(s.publishing, w->bytes);
  if (!w->id.empty()) {
    std::string out = "{\"type\":\"ack\"";
    append_id(out, w->id);
    out += ",\"seq\":";
    out += std::to_string(seq);
    out += '}';
    reply(c, out);
  }
  s.json->waiting.erase(w);
}

void JsonSocket::refused(net::Conn& c, Session& s, uint32_t token, bool maybe_applied) {
  auto w = waiting(s, token);
  if (w == s.json->waiting.end()) return;
  s.publishing -= std::min(s.publishing, w->bytes);
  const std::string id = std::move(w->id);
  s.json->waiting.erase(w);
  if (maybe_applied) {
    return error(c, "unconfirmed",
                 "pub: Redis went away before confirming the message: it may have been "
                 "published; look for it in the room's history before publishing it again",
                 id);
  }
  error(c, "unavailable", "pub: Redis is unavailable, the message was not published; try again",
        id);
}

void JsonSocket::read_history(net::Conn& c, Session& s, const ClientOp& o) {
  const uint32_t token = ctx_.ack_token();
  s.json->waiting.push_back({token, 0, std::string(o.id), std::string(o.room)});
  ctx_.rooms.query(o.room, ctx_.conns.slot_of(c), token, std::nullopt, o.limit, o.before);
}

void JsonSocket::presence(net::Conn& c, Session& s, const ClientOp& o) {
  const uint32_t token = ctx_.ack_token();
  s.json->waiting.push_back({token, 0, std::string(o.id), std::string(o.room)});
  ctx_.rooms.presence(o.room, ctx_.conns.slot_of(c), token);
}

void JsonSocket::answered(net::Conn& c, Session& s, uint32_t token, const HistoryBatch& b) {
  auto w = waiting(s, token);
  if (w == s.json->waiting.end()) return;
  std::string out;
  if (b.what == HistoryQuery::What::kPresence) {
    out = start_reply("presence", w->room);
    out += ",\"members\":";
    append_members(out, b.present);
  } else {
    out = start_reply("history", w->room);
    append_where(out, b.epoch, b.seq);
    out += ",\"messages\":";
    append_messages(out, b.msgs);
  }
  append_id(out, w->id);
  out += '}';
  s.json->waiting.erase(w);
  reply(c, out);
}

void JsonSocket::reply(net::Conn& c, std::string_view json) {
  send(c, ws::make_server_frame(ws::Opcode::kText, ws::as_bytes(json)));
}

void JsonSocket::farewell(net::Conn& c, uint64_t retry_ms) {
  // Charged as the close frame behind it: the last words of a socket that
  // is over its backlog must not turn its goodbye into a 1008.
  send_control(c, ws::Opcode::kText, ws::as_bytes(drain_json(retry_ms)));
}

void JsonSocket::error(net::Conn& c, std::string_view code, std::string_view reason,
                       std::string_view id) {
  ctx_.metrics.add(Metric::kJsonErrors);
  std::string out = "{\"type\":\"error\",\"code\":";
  append_json_string(out, code);
  out += ",\"reason\":";
  append_json_string(out, reason);
  append_id(out, id);
  out += '}';
  reply(c, out);
}

bool JsonSocket::mail_backed_up() const {
  for (unsigned to = 0; to < ctx_.cfg.shards; ++to) {
    if (ctx_.outbox.pending(to) > kMailHighWater) return true;
  }
  return false;
}

bool JsonSocket::input_blocked(const net::Conn& c, const Session& s) const {
  // As a raw socket's: a publisher is slowed before its echoes arrive; and
  // a client cannot pile up unanswered requests.
  return ctx_.conns.unsent(c) + s.publishing > ctx_.cfg.max_backlog / 2 ||
         s.json->waiting.size() >= kMaxWaiting || mail_backed_up();
}

bool JsonSocket::blocked_elsewhere(const net::Conn&, const Session& s) const {
  return !s.json->waiting.empty() || mail_backed_up();
}

void JsonSocket::on_closed(net::Conn& c, Session& s) {
  for (const JsonState::Room& r : s.json->rooms) ctx_.rooms.leave({r.room, r.index}, c.gen);
  s.json.reset();
  closed(s);
}

}  // namespace ringchat::chat
