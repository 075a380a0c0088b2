#include "http_front.h"

#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <string>

#include "json_socket.h"
#include "raw_room.h"
#include "ringchat/chat/room_name.h"
#include "ringchat/http/response.h"
#include "ringchat/http/uri.h"
#include "ringchat/obs/log.h"
#include "ringchat/web/assets.h"
#include "ringchat/ws/handshake.h"
#include "ringchat/ws/utf8.h"
#include "sse.h"
#include "wire.h"

namespace ringchat::chat {

using http::Method;
using obs::Metric;

namespace {
// /healthz: a shard whose loop has not turned for longer is stuck.
constexpr uint64_t kHealthyTurnMs = 1000;
}  // namespace

HttpFront::HttpFront(ShardContext& ctx, RawRoom& raw_room, JsonSocket& json, SseStream& sse)
    : ctx_(ctx), raw_room_(raw_room), json_(json), sse_(sse) {
  router_.add({Method::kGet}, "/healthz", &HttpFront::healthz);
  router_.add({Method::kGet}, "/readyz", &HttpFront::readyz);
  router_.add({Method::kGet}, "/metrics", &HttpFront::metrics);
  router_.add({Method::kGet}, "/ws", &HttpFront::json_socket);
  router_.add({Method::kGet}, "/sse/{room...}", &HttpFront::sse);
  // Room names never hold '/': the rest of the path is taken whole, so a
  // name with one gets the room-name error rather than a 404.
  router_.add({Method::kGet, Method::kPost, Method::kPut, Method::kDelete, Method::kOptions},
              "/ws/{room...}", &HttpFront::raw_room);  // says itself that it needs GET
  router_.add({Method::kPost}, "/rooms/{room}/messages", &HttpFront::publish);
  router_.add({Method::kGet}, "/rooms/{room}/messages", &HttpFront::messages);
  router_.add({Method::kGet}, "/rooms/{room}/presence", &HttpFront::presence);
  router_.add({Method::kGet}, "/rooms", &HttpFront::rooms);
  router_.add({Method::kGet}, "/stats", &HttpFront::stats);
  for (const web::Asset& a : web::all()) router_.add({Method::kGet}, a.path, &HttpFront::asset);
}

void HttpFront::on_open(net::Conn& c, Session& s) {
  s.parser = std::make_unique<HttpState>(
      http::Limits{.max_header_bytes = ctx_.cfg.max_header,
                   .max_body_bytes = ctx_.cfg.max_message,
                   .max_header_fields = ctx_.cfg.max_header_fields,
                   .max_user_agent = obs::access_log_on() ? kMaxUserAgent : 0});
  ctx_.conns.schedule(c, ctx_.cfg.handshake_timeout_ms);
}

std::span<std::byte> HttpFront::on_data(net::Conn& c, Session& s, std::span<std::byte> data) {
  // Pipelined requests are parsed only while earlier answers are mostly sent.
  while (c.protocol == static_cast<uint8_t>(ProtocolId::kHttp) && c.usable() && !data.empty() &&
         !input_blocked(c, s)) {
    if (obs::access_log_on()) s.http().mark_arrival(core::monotonic_ns() / 1000);
    auto r = s.http().feed({reinterpret_cast<const char*>(data.data()), data.size()});
    if (!r) {
      fail(c, nullptr, r.error(), "malformed or oversized request");
      return {};
    }
    data = data.subspan(*r);
    if (!s.http().done()) break;
    ctx_.metrics.add(Metric::kHttpRequests);
    handle(c, s, s.http().request());
    if (c.protocol == static_cast<uint8_t>(ProtocolId::kHttp) && c.usable()) {
      s.http().reset();
      ctx_.conns.schedule(c, ctx_.cfg.handshake_timeout_ms);  // keep-alive idle limit
    }
  }
  // Left: input that must wait, or after an upgrade the new protocol's.
  return c.usable() ? data : std::span<std::byte>{};
}

void HttpFront::handle(net::Conn& c, Session& s, const http::Request& req) {
  const auto m = router_.match(req.method, req.path);
  if (m.status == 404) return answer(c, req, 404, "text/plain", "404 Not Found: no such route\n");
  if (m.status == 405) {
    const std::string allow = "Allow: " + http::allow_value(m.allowed) + "\r\n";
    return answer(c, req, 405, "text/plain", "405 Method Not Allowed\n", allow);
  }
  (this->**m.handler)(c, s, req, m.params);
}

void HttpFront::healthz(net::Conn& c, Session&, const http::Request& req,
                        const http::RouteParams&) {
  // Every loop turns at least every core::EventLoop::kLagProbeMs; one that
  // has not for a second is stuck (a turn that long is an outage too).
  const uint64_t now = core::monotonic_ms();
  std::string stuck;
  for (unsigned i = 0; i < ctx_.shared.metrics.shards(); ++i) {
    const uint64_t last = ctx_.shared.metrics.shard(i).last_turn_ms();
    if (now > last && now - last > kHealthyTurnMs) {
      stuck += "shard " + std::to_string(i) + ": no loop turn for " + std::to_string(now - last) +
               " ms\n";
    }
  }
  if (!stuck.empty()) return answer(c, req, 503, "text/plain", stuck);
  answer(c, req, 200, "text/plain", "ok\n");
}

void HttpFront::readyz(net::Conn& c, Session&, const http::Request& req, const http::RouteParams&) {
  if (ctx_.draining()) return answer(c, req, 503, "text/plain", "draining\n");
  if (ctx_.cfg.clustered()) {
    // Cluster mode: a shard without Redis refuses publishes.
    for (unsigned i = 0; i < ctx_.cfg.shards; ++i) {
      if (ctx_.shared.metrics.shard(i).get(Metric::kClusterUp) == 0) {
        return answer(c, req, 503, "text/plain",
                      "redis unavailable (shard " + std::to_string(i) + ")\n");
      }
    }
  }
  answer(c, req, 200, "text/plain", "ok\n");
}

void HttpFront::metrics(net::Conn& c, Session&, const http::Request& req,
                        const http::RouteParams&) {
  answer(c, req, 200, "text/plain; version=0.0.4", ctx_.shared.prometheus());
}

void HttpFront::stats(net::Conn& c, Session&, const http::Request& req, const http::RouteParams&) {
  const uint64_t now = core::monotonic_ms();
  ctx_.shared.stats.watched(now);
  answer(c, req, 200, "application/json", stats_json(ctx_.shared, now),
         "Cache-Control: no-store\r\n");
}

void HttpFront::asset(net::Conn& c, Session&, const http::Request& req, const http::RouteParams&) {
  const web::Asset* a = web::find(req.path);
  if (!a) return answer(c, req, 404, "text/plain", "404 Not Found: no such route\n");
  // no-cache: a browser keeps the file but asks each time (If-None-Match),
  // so a new binary's page is never stale; an unchanged one costs a 304.
  std::string headers = "ETag: ";
  headers += a->etag;
  headers += "\r\nCache-Control: no-cache\r\nX-Content-Type-Options: nosniff\r\n";
  if (http::none_match_hits(req.if_none_match, a->etag)) {
    return answer(c, req, 304, {}, {}, headers);
  }
  answer(c, req, 200, a->content_type, a->bytes(), headers);
}

void HttpFront::raw_room(net::Conn& c, Session& s, const http::Request& req,
                         const http::RouteParams& params) {
  if (req.method != Method::kGet) {
    return answer(c, req, 405, "text/plain", "405 Method Not Allowed: WebSocket needs GET\n",
                  "Allow: GET\r\n");
  }
  if (refused_draining(c, req)) return;
  const std::string_view room = params.get("room");
  if (const char* why = room_name_error(room)) {
    return answer(c, req, 400, "text/plain", std::string("400 Bad Request: ") + why + "\n");
  }
  std::optional<Position> since;
  if (!read_since(req, &since)) {
    return answer(c, req, 400, "text/plain",
                  "400 Bad Request: since must be EPOCH:SEQ (epoch in hex, seq in decimal)\n");
  }
  ws::Upgrade up = ws::check_upgrade(req);
  if (up.status != 101) return fail(c, &req, up.status, up.detail, up.headers);
  auto id = admit_to(c, req, room);
  if (!id) return;
  ctx_.set_identity(c, std::move(*id));
  up.headers = switching(req, up);
  // `req` and `room` point into the HTTP parser, which the switch frees.
  if (since) {
    return raw_room_.resume(c, s, std::string(room), *since, std::move(up.headers),
                            ctx_.access_note(c, req));
  }
  const std::string resp = http::make_response(101, {}, {}, true, up.headers);
  ctx_.access(c, &req, 101, resp.size());
  ctx_.conns.send_copy(c, resp);
  raw_room_.start(c, s, std::string(room));
}

void HttpFront::sse(net::Conn& c, Session& s, const http::Request& req,
                    const http::RouteParams& params) {
  if (refused_draining(c, req)) return;
  const std::string_view room = params.get("room");
  if (const char* why = room_name_error(room)) return json_error(c, req, "bad_room", why);
  auto id = admit_to(c, req, room);
  if (!id) return;
  // Last-Event-ID is what EventSource sends when it reconnects: one it
  // cannot read (not ours) starts afresh rather than failing the stream
  // for good. ?lastEventId= is the client's own choice: a bad one is an error.
  std::optional<Position> since = parse_position(req.last_event_id);
  if (!since) {
    if (auto v = http::query_param(req.query, "lastEventId")) {
      since = parse_position(*v);
      if (!since) return json_error(c, req, "bad_since", "lastEventId must be EPOCH:SEQ");
    }
  }
  ctx_.set_identity(c, std::move(*id));
  // The stream's head goes out as the parser (and `req`) goes.
  const AccessNote note = ctx_.access_note(c, req);
  const size_t head = sse_.start(c, s, std::string(room), since);
  ctx_.access(c, note, 200, head);
}

bool HttpFront::is_json(std::string_view content_type) {
  // application/json, with parameters (charset) or not.
  const std::string_view type = content_type.substr(0, content_type.find(';'));
  return http::iequals(type.substr(0, type.find_last_not_of(" \t") + 1), "application/json");
}

void HttpFront::json_socket(net::Conn& c, Session& s, const http::Request& req,
                            const http::RouteParams&) {
  if (refused_draining(c, req)) return;
  ws::Upgrade up = ws::check_upgrade(req);
  if (up.status != 101) return fail(c, &req, up.status, up.detail, up.headers);
  auto id = admit(c, req);
  if (!id) return;
  ctx_.set_identity(c, std::move(*id));
  const std::string resp = http::make_response(101, {}, {}, true, switching(req, up));
  ctx_.access(c, &req, 101, resp.size());
  ctx_.conns.send_copy(c, resp);
  json_.start(c, s);
}

void HttpFront::publish(net::Conn& c, Session& s, const http::Request& req,
                        const http::RouteParams& params) {
  const std::string_view room = params.get("room");
  if (const char* why = room_name_error(room)) return json_error(c, req, "bad_room", why);
  auto id = admit(c, req);
  if (!id) return;
  if (!id->may_publish(room)) {
    return refuse(
        c, req, {403, "forbidden", "these credentials may not publish to this room", "forbidden"});
  }
  if (!ctx_.may_publish(s)) {
    return answer(c, req, 429, "application/json",
                  error_body("rate_limited", "over --pub-rate messages per second"),
                  "Retry-After: 1\r\n");
  }
  // A JSON body is one JSON value (JSON sockets get it as `data`); any
  // other goes to raw room sockets as a text frame when it is UTF-8 (RFC
  // 6455 §5.6 requires it of text), as binary otherwise.
  auto payload = std::as_bytes(std::span(req.body.data(), req.body.size()));
  Kind kind = ws::is_valid_utf8(payload) ? Kind::kText : Kind::kBinary;
  if (is_json(req.content_type)) {
    auto value = json_parser_.minify(req.body);
    if (!value) return json_error(c, req, "bad_json", "the body is not one JSON value");
    payload = std::as_bytes(std::span(value->data(), value->size()));
    kind = Kind::kJson;
  }
  const Sender from{ctx_.conns.slot_of(c), c.gen, static_cast<uint16_t>(ctx_.id)};
  const std::string_view user =
      id->kind == auth::Identity::Kind::kUser ? std::string_view(id->claims.sub) : "";
  ctx_.rooms.publish(make_publish(room, payload, from, kind, wait(c, req, room), user));
}

uint32_t HttpFront::wait(net::Conn& c, const http::Request& req, std::string_view room) {
  const uint32_t token = ctx_.ack_token();
  Waiting& w = waiting_[ctx_.conns.slot_of(c)];
  w = Waiting{};
  w.gen = c.gen;
  w.token = token;
  w.keep_alive = req.keep_alive;
  w.head = req.method == Method::kHead;
  w.room = std::string(room);
  w.access = ctx_.access_note(c, req);
  return token;
}

void HttpFront::reply(net::Conn& c, const Waiting& w, std::string_view body, int status,
                      std::string_view extra) {
  const bool keep_alive = w.keep_alive && !ctx_.draining();
  std::string resp = http::make_response(status, "application/json", body, keep_alive, extra);
  if (w.head) resp.resize(resp.size() - body.size());
  ctx_.access(c, w.access, status, resp.size());
  ctx_.conns.send_copy(c, resp);
  if (!keep_alive) ctx_.conns.close(c);
}

bool HttpFront::read_limit(net::Conn& c, const http::Request& req, uint32_t dflt, uint32_t* limit) {
  constexpr uint32_t kMaxLimit = 1000;
  *limit = dflt;
  auto v = http::query_param(req.query, "limit");
  if (!v) return true;
  char* end = nullptr;
  const unsigned long n = std::strtoul(v->c_str(), &end, 10);
  if (v->empty() || *end != '\0' || n < 1 || n > kMaxLimit) {
    json_error(c, req, "bad_limit", "limit must be 1 to 1000");
    return false;
  }
  *limit = static_cast<uint32_t>(n);
  return true;
}

void HttpFront::presence(net::Conn& c, Session&, const http::Request& req,
                         const http::RouteParams& params) {
  const std::string_view room = params.get("room");
  if (const char* why = room_name_error(room)) return json_error(c, req, "bad_room", why);
  if (!admit_to(c, req, room)) return;
  ctx_.rooms.presence(room, ctx_.conns.slot_of(c), wait(c, req, room));
}

void HttpFront::rooms(net::Conn& c, Session&, const http::Request& req, const http::RouteParams&) {
  constexpr uint32_t kDefaultLimit = 100;
  if (!admit(c, req)) return;
  uint32_t limit = 0;
  if (!read_limit(c, req, kDefaultLimit, &limit)) return;
  const std::string after = http::query_param(req.query, "after").value_or(std::string());
  const uint32_t token = wait(c, req, {});
  Waiting& w = waiting_[ctx_.conns.slot_of(c)];
  w.answers_left = ctx_.cfg.shards;
  w.limit = limit;
  // One more than the page from each: whether there is a next page.
  ctx_.rooms.rooms(after, limit + 1, ctx_.conns.slot_of(c), token);
}

net::Conn* HttpFront::take_waiting(uint32_t slot, uint32_t token, Waiting* out) {
  auto it = waiting_.find(slot);
  if (it == waiting_.end() || it->second.token != token) return nullptr;  // gone meanwhile
  *out = std::move(it->second);
  waiting_.erase(it);
  net::Conn* c = ctx_.conns.find(slot, out->gen);
  return c && c->usable() ? c : nullptr;
}

void HttpFront::messages(net::Conn& c, Session&, const http::Request& req,
                         const http::RouteParams& params) {
  constexpr uint32_t kDefaultLimit = 100;
  const std::string_view room = params.get("room");
  if (const char* why = room_name_error(room)) return json_error(c, req, "bad_room", why);
  if (!admit_to(c, req, room)) return;
  std::optional<Position> since;
  if (!read_since(req, &since)) return json_error(c, req, "bad_since", "since must be EPOCH:SEQ");
  uint32_t limit = 0;
  if (!read_limit(c, req, kDefaultLimit, &limit)) return;
  ctx_.rooms.query(room, ctx_.conns.slot_of(c), wait(c, req, room), since, limit);
}

void HttpFront::answered(uint32_t slot, uint32_t token, const HistoryBatch& b) {
  if (b.what == HistoryQuery::What::kRooms) {
    // Every shard answers with its first rooms after the cursor: the
    // page is the first `limit` of them all.
    auto it = waiting_.find(slot);
    if (it == waiting_.end() || it->second.token != token) return;
    Waiting& w = it->second;
    w.rooms.insert(w.rooms.end(), b.rooms.begin(), b.rooms.end());
    if (--w.answers_left > 0) return;
  }
  Waiting w;
  net::Conn* c = take_waiting(slot, token, &w);
  if (!c) return;
  switch (b.what) {
    case HistoryQuery::What::kHistory:
      return reply(*c, w, history_json(w, b));
    case HistoryQuery::What::kPresence: {
      std::string body = R"({"room":)";
      append_json_string(body, w.room);
      body += R"(,"count":)";
      body += std::to_string(b.present.size());
      body += R"(,"members":)";
      append_members(body, b.present);
      body += "}\n";
      return reply(*c, w, body);
    }
    case HistoryQuery::What::kRooms: {
      std::sort(w.rooms.begin(), w.rooms.end(),
                [](const auto& x, const auto& y) { return x.name < y.name; });
      const bool more = w.rooms.size() > w.limit;
      if (more) w.rooms.resize(w.limit);
      std::string body = R"({"rooms":[)";
      for (size_t i = 0; i < w.rooms.size(); ++i) {
        if (i > 0) body += ',';
        body += R"({"room":)";
        append_json_string(body, w.rooms[i].name);
        body += R"(,"members":)";
        body += std::to_string(w.rooms[i].members);
        body += '}';
      }
      body += R"(],"next":)";
      if (more) {
        append_json_string(body, w.rooms.back().name);
      } else {
        body += "null";
      }
      body += "}\n";
      return reply(*c, w, body);
    }
  }
}

std::string HttpFront::history_json(const Waiting& w, const HistoryBatch& b) {
  char head[160];
  std::snprintf(head, sizeof(head),
                R"({"room":"%s","epoch":"%016)" PRIx64 R"(","seq":%)" PRIu64
                R"(,"recovered":%s,"messages":)",
                w.room.c_str(), b.epoch, b.seq, b.recovered ? "true" : "false");
  std::string body = head;
  append_messages(body, b.msgs);
  body += "}\n";
  return body;
}

void HttpFront::acked(uint32_t slot, uint32_t token, uint64_t epoch, uint64_t seq) {
  Waiting w;
  net::Conn* c = take_waiting(slot, token, &w);
  if (!c) return;
  // The epoch is a 64-bit random: a string, so JavaScript clients keep it whole.
  char body[256];
  std::snprintf(body, sizeof(body),
                R"({"room":"%s","epoch":"%016)" PRIx64 R"(","seq":%)" PRIu64 "}\n", w.room.c_str(),
                epoch, seq);
  ctx_.metrics.add(Metric::kHttpPublishes);
  reply(*c, w, body, 201);
}

void HttpFront::refused(uint32_t slot, uint32_t token, bool maybe_applied) {
  Waiting w;
  net::Conn* c = take_waiting(slot, token, &w);
  if (!c) return;
  ctx_.metrics.add(Metric::kHttpErrors);
  reply(*c, w,
        maybe_applied
            ? error_body("unconfirmed",
                         "Redis went away before confirming the message: it may have "
                         "been published; look for it in the room's history before "
                         "publishing it again")
            : error_body("unavailable",
                         "Redis is unavailable: the message was not published; try again"),
        503, "Retry-After: 1\r\n");
}

void HttpFront::answer(net::Conn& c, const http::Request& req, int status, std::string_view type,
                       std::string_view body, std::string_view extra) {
  if (status >= 400) ctx_.metrics.add(Metric::kHttpErrors);
  // A draining server answers what it was asked, then lets go.
  const bool keep_alive = req.keep_alive && !ctx_.draining();
  std::string resp = http::make_response(status, type, body, keep_alive, extra);
  if (req.method == Method::kHead) resp.resize(resp.size() - body.size());
  ctx_.access(c, &req, status, resp.size());
  ctx_.conns.send_copy(c, resp);
  if (!keep_alive) ctx_.conns.close(c);
}

bool HttpFront::refused_draining(net::Conn& c, const http::Request& req) {
  if (!ctx_.draining()) return false;
  const uint64_t retry_ms = ctx_.retry_ms();
  std::string body = error_body("draining", "the server is shutting down; come back later");
  body.insert(body.size() - 2, R"(,"retry_ms":)" + std::to_string(retry_ms));
  // RFC 9110 §10.2.3: Retry-After in whole seconds, rounded up.
  const std::string after = "Retry-After: " + std::to_string((retry_ms + 999) / 1000) + "\r\n";
  answer(c, req, 503, "application/json", body, after);
  return true;
}

void HttpFront::drain(net::Conn& c, const Session& s) {
  const bool under_way =
      waiting_.contains(ctx_.conns.slot_of(c)) || c.paused || (s.has_http() && s.http().started());
  if (!under_way) ctx_.conns.close(c);  // what it was sent goes out first
}

bool HttpFront::read_since(const http::Request& req, std::optional<Position>* since) {
  auto v = http::query_param(req.query, "since");
  if (!v) return true;
  *since = parse_position(*v);
  return since->has_value();
}

void HttpFront::json_error(net::Conn& c, const http::Request& req, std::string_view code,
                           std::string_view reason) {
  answer(c, req, 400, "application/json", error_body(code, reason));
}

void HttpFront::fail(net::Conn& c, const http::Request* req, int status, std::string_view detail,
                     std::string_view extra) {
  ctx_.metrics.add(Metric::kHttpErrors);
  if (status == 431) ctx_.metrics.add(Metric::kLimitHeader);
  if (status == 413) ctx_.metrics.add(Metric::kLimitBody);
  const std::string resp = http::make_error(status, detail, extra);
  ctx_.access(c, req, status, resp.size());
  ctx_.conns.send_copy(c, resp);
  ctx_.conns.close(c);
}

std::optional<auth::Identity> HttpFront::admit(net::Conn& c, const http::Request& req) {
  auto id = ctx_.shared.gate.check(req, ShardContext::unix_ms() / 1000);
  if (!id) {
    refuse(c, req, id.error());
    return std::nullopt;
  }
  return std::move(*id);
}

std::optional<auth::Identity> HttpFront::admit_to(net::Conn& c, const http::Request& req,
                                                  std::string_view room) {
  auto id = admit(c, req);
  if (id && !id->may_join(room)) {
    refuse(c, req, {403, "forbidden", "these credentials do not grant this room", "forbidden"});
    return std::nullopt;
  }
  return id;
}

void HttpFront::refuse(net::Conn& c, const http::Request& req, const auth::Refusal& r) {
  ctx_.count_auth_failure(r.kind);
  RC_WARN_LIMITED("refused %s %s from %s: %.*s", std::string(http::to_string(req.method)).c_str(),
                  req.path.c_str(), c.peer.to_string().c_str(), static_cast<int>(r.kind.size()),
                  r.kind.data());
  // RFC 6750 §3: a 401 names the scheme the client should use.
  answer(c, req, r.status, "application/json", error_body(r.code, r.reason),
         r.status == 401 ? "WWW-Authenticate: Bearer\r\n" : "");
}

std::string HttpFront::switching(const http::Request& req, const ws::Upgrade& up) {
  std::string headers = up.headers;
  const std::string_view proto = auth::Gate::subprotocol(req);
  if (!proto.empty()) {
    headers += "Sec-WebSocket-Protocol: ";
    headers += proto;
    headers += "\r\n";
  }
  return headers;
}

void HttpFront::on_timer(net::Conn& c, Session&) {
  ctx_.metrics.add(Metric::kHandshakeTimeouts);
  ctx_.conns.abort(c);
}

bool HttpFront::input_blocked(const net::Conn& c, const Session& s) const {
  return ctx_.conns.unsent(c) > kHttpAnswerBudget || blocked_elsewhere(c, s);
}

void HttpFront::on_close_requested(net::Conn&, Session&, net::CloseWhy why) {
  if (why == net::CloseWhy::kInputOverflow) ctx_.metrics.add(Metric::kHttpErrors);
}

void HttpFront::on_closed(net::Conn& c, Session& s) {
  waiting_.erase(ctx_.conns.slot_of(c));
  s.parser = std::monostate{};
}

}  // namespace ringchat::chat
