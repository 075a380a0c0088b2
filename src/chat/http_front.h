#pragma once
// Private to the chat module: HTTP/1.1 on a connection (keep-alive,
// pipelining) and the routes of the server.
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "front.h"
#include "json_op.h"
#include "ringchat/http/request.h"
#include "ringchat/http/router.h"
#include "ringchat/ws/handshake.h"

namespace ringchat::chat {

class RawRoom;
class JsonSocket;
class SseStream;

// The protocol every connection starts with. Requests are parsed one at a
// time, routed (method + path) and answered in order; the answers of
// pipelined requests may run ahead of the client's reading only up to
// kHttpAnswerBudget, then its input waits. An upgrade hands the connection
// to the WebSocket protocol of its route.
// An answer may come later (a handler waits for another shard): the
// connection's next requests wait unparsed until it is sent, so answers
// always leave in request order.
// Thread: owner shard only.
class HttpFront final : public Protocol {
 public:
  HttpFront(ShardContext& ctx, RawRoom& raw_room, JsonSocket& json, SseStream& sse);

  void on_open(net::Conn& c, Session& s) override;
  std::span<std::byte> on_data(net::Conn& c, Session& s, std::span<std::byte> data) override;
  void on_timer(net::Conn& c, Session& s) override;
  bool input_blocked(const net::Conn& c, const Session& s) const override;
  bool blocked_elsewhere(const net::Conn& c, const Session&) const override {
    return waiting_.contains(ctx_.conns.slot_of(c));
  }
  void on_close_requested(net::Conn& c, Session& s, net::CloseWhy why) override;
  void on_closed(net::Conn& c, Session& s) override;

  // The server begins to drain: `c` is closed now unless a request is under
  // way on it (partly read, waiting for its answer, or held behind unsent
  // answers), which is answered first. From now on every answer carries
  // `Connection: close` and ends its connection, and upgrades and event
  // streams are refused (503 draining, with when to come back).
  void drain(net::Conn& c, const Session& s);

  // The owner sequenced the publish of (slot, token): answer it.
  void acked(uint32_t slot, uint32_t token, uint64_t epoch, uint64_t seq);
  // The owner's history answer for (slot, token).
  void answered(uint32_t slot, uint32_t token, const HistoryBatch& batch);
  // Cluster mode: the publish of (slot, token) was not sequenced (Redis is
  // unreachable): 503 `unavailable`.
  void refused(uint32_t slot, uint32_t token, bool maybe_applied);

 private:
  // A route's handler: answers `req` on `c`, or hands `c` to another
  // protocol. Its params point into `req.path`.
  using Handler = void (HttpFront::*)(net::Conn& c, Session& s, const http::Request& req,
                                      const http::RouteParams& params);
  void handle(net::Conn& c, Session& s, const http::Request& req);
  void healthz(net::Conn& c, Session& s, const http::Request& req, const http::RouteParams&);
  void readyz(net::Conn& c, Session& s, const http::Request& req, const http::RouteParams&);
  void metrics(net::Conn& c, Session& s, const http::Request& req, const http::RouteParams&);
  void raw_room(net::Conn& c, Session& s, const http::Request& req,
                const http::RouteParams& params);
  void json_socket(net::Conn& c, Session& s, const http::Request& req, const http::RouteParams&);
  void sse(net::Conn& c, Session& s, const http::Request& req, const http::RouteParams& params);
  void publish(net::Conn& c, Session& s, const http::Request& req, const http::RouteParams& params);
  void messages(net::Conn& c, Session& s, const http::Request& req,
                const http::RouteParams& params);
  void presence(net::Conn& c, Session& s, const http::Request& req,
                const http::RouteParams& params);
  void rooms(net::Conn& c, Session& s, const http::Request& req, const http::RouteParams&);
  // GET /stats (chat/stats.h), and the files of web/ (the chat page at /,
  // the dashboard at /dashboard, their scripts and styles).
  void stats(net::Conn& c, Session& s, const http::Request& req, const http::RouteParams&);
  void asset(net::Conn& c, Session& s, const http::Request& req, const http::RouteParams&);
  // While draining: answers `req` 503 `draining` with a reconnect hint and
  // returns true. (Upgrades and streams would be closed again at once.)
  bool refused_draining(net::Conn& c, const http::Request& req);
  // The request's `limit` query parameter (1 to 1000, `dflt` when absent)
  // into *limit; false after answering a bad one.
  bool read_limit(net::Conn& c, const http::Request& req, uint32_t dflt, uint32_t* limit);
  // Waits for an answer of the room service to the request of `c`: returns
  // the token to ask with.
  uint32_t wait(net::Conn& c, const http::Request& req, std::string_view room);
  // Queues a whole response (no body for HEAD); closes after it unless the
  // request keeps the connection alive and the server is not draining.
  void answer(net::Conn& c, const http::Request& req, int status, std::string_view type,
              std::string_view body, std::string_view extra = {});
  // A 400 with a JSON body {"code": ..., "reason": ...} (the HTTP API's).
  void json_error(net::Conn& c, const http::Request& req, std::string_view code,
                  std::string_view reason);
  // The request's `since` query parameter into *since (left empty when
  // absent). False when it is there but not EPOCH:SEQ.
  static bool read_since(const http::Request& req, std::optional<Position>* since);
  // A Content-Type of application/json.
  static bool is_json(std::string_view content_type);
  // An error answer to `req` (null: a request that did not parse) that ends
  // the connection.
  void fail(net::Conn& c, const http::Request* req, int status, std::string_view detail,
            std::string_view extra = {});
  // The identity `req`'s credentials show (auth::Gate), or nullopt after
  // refusing it (401/403).
  std::optional<auth::Identity> admit(net::Conn& c, const http::Request& req);
  // The same, and `room` must be one the identity may join (else 403).
  std::optional<auth::Identity> admit_to(net::Conn& c, const http::Request& req,
                                         std::string_view room);
  // Answers a refusal: its status and a JSON {code, reason}, counted by kind
  // and logged (rate-limited) with the peer's address.
  void refuse(net::Conn& c, const http::Request& req, const auth::Refusal& r);
  // The 101 of an upgrade `up` accepted for `req`, with the subprotocol the
  // client offered that the server speaks (auth::Gate::subprotocol).
  static std::string switching(const http::Request& req, const ws::Upgrade& up);

  // A request whose answer comes later, by slot (rare: kept here, not in
  // every connection's slot).
  struct Waiting {
    uint32_t gen = 0;
    uint32_t token = 0;  // of the publish or query (ShardContext::ack_token())
    bool keep_alive = true;
    bool head = false;  // a HEAD request: the answer has no body
    std::string room;
    AccessNote access;  // for the access log, while it is on
    // GET /rooms: every shard answers; the rooms so far, by name.
    uint32_t answers_left = 1;
    uint32_t limit = 0;
    std::vector<HistoryBatch::RoomCount> rooms;
  };

  // The waiting request of (slot, token), taken out; null if it is gone.
  net::Conn* take_waiting(uint32_t slot, uint32_t token, Waiting* out);
  static std::string history_json(const Waiting& w, const HistoryBatch& b);
  // The answer `w` waited for: `status` (200) with `body` (none for HEAD).
  void reply(net::Conn& c, const Waiting& w, std::string_view body, int status = 200,
             std::string_view extra = {});

  ShardContext& ctx_;
  RawRoom& raw_room_;
  JsonSocket& json_;
  SseStream& sse_;
  http::Router<Handler> router_;
  OpParser json_parser_;  // validates JSON bodies
  std::unordered_map<uint32_t, Waiting> waiting_;
};

}  // namespace ringchat::chat
