#pragma once
// Private to the chat module: HTTP/1.1 on a connection (keep-alive,
// pipelining) and the routes of the server.
#include <optional>
#include <string>
#include <unordered_map>

#include "front.h"
#include "ringchat/http/request.h"
#include "ringchat/http/router.h"

namespace ringchat::chat {

class RawRoom;

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
  HttpFront(ShardContext& ctx, RawRoom& raw_room);

  void on_open(net::Conn& c, Session& s) override;
  std::span<std::byte> on_data(net::Conn& c, Session& s, std::span<std::byte> data) override;
  void on_timer(net::Conn& c, Session& s) override;
  bool input_blocked(const net::Conn& c, const Session& s) const override;
  bool blocked_elsewhere(const net::Conn& c, const Session&) const override {
    return waiting_.contains(ctx_.conns.slot_of(c));
  }
  void on_close_requested(net::Conn& c, Session& s, net::CloseWhy why) override;
  void on_closed(net::Conn& c, Session& s) override;

  // The owner sequenced the publish of (slot, gen): answer it.
  void acked(uint32_t slot, uint32_t gen, uint64_t epoch, uint64_t seq);
  // The owner's history answer for (slot, gen).
  void history_read(uint32_t slot, uint32_t gen, const HistoryBatch& batch);

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
  void publish(net::Conn& c, Session& s, const http::Request& req, const http::RouteParams& params);
  void messages(net::Conn& c, Session& s, const http::Request& req,
                const http::RouteParams& params);
  // Queues a whole response (no body for HEAD); closes after it unless the
  // request keeps the connection alive.
  void answer(net::Conn& c, const http::Request& req, int status, std::string_view type,
              std::string_view body, std::string_view extra = {});
  // A 400 with a JSON body {"code": ..., "reason": ...} (the HTTP API's).
  void json_error(net::Conn& c, const http::Request& req, std::string_view code,
                  std::string_view reason);
  // The request's `since` query parameter into *since (left empty when
  // absent). False when it is there but not EPOCH:SEQ.
  static bool read_since(const http::Request& req, std::optional<Position>* since);
  // An error answer that ends the connection.
  void fail(net::Conn& c, int status, std::string_view detail, std::string_view extra = {});

  // A request whose answer comes later, by slot (rare: kept here, not in
  // every connection's slot).
  struct Waiting {
    uint32_t gen = 0;
    bool keep_alive = true;
    bool head = false;  // a HEAD request: the answer has no body
    std::string room;
  };

  // The waiting request of (slot, gen), taken out; null if it is gone.
  net::Conn* take_waiting(uint32_t slot, uint32_t gen, Waiting* out);

  ShardContext& ctx_;
  RawRoom& raw_room_;
  http::Router<Handler> router_;
  std::unordered_map<uint32_t, Waiting> waiting_;
};

}  // namespace ringchat::chat
