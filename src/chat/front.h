#pragma once
// Private to the chat module: what a shard's protocols share, and the front
// that hands each connection's events to the protocol holding it.
#include <array>
#include <optional>
#include <string_view>
#include <unordered_map>

#include "ringchat/auth/gate.h"
#include "ringchat/auth/rate.h"
#include "ringchat/chat/drain.h"
#include "ringchat/chat/mail.h"
#include "ringchat/chat/room_service.h"
#include "ringchat/chat/shard.h"
#include "ringchat/http/request.h"
#include "ringchat/net/conn_table.h"
#include "ringchat/obs/log.h"
#include "ringchat/obs/metrics.h"
#include "session.h"

namespace ringchat::chat {

// Unsent answer bytes past which an HTTP connection's pipelined requests
// wait unparsed (a WebSocket's input waits past half its --send-backlog).
inline constexpr size_t kHttpAnswerBudget = 64 << 10;
// Publishes waiting for a full ring to the room's owner past which the
// publishing connections are not read until the owner catches up: with the
// ring itself, this bounds the mail a shard holds.
inline constexpr size_t kMailHighWater = 4096;
// User-Agent bytes an access-log line keeps.
inline constexpr size_t kMaxUserAgent = 256;

// What the access log (--access-log) says of a request whose answer goes
// out after the request itself is gone (a publish's 201, a resuming raw
// socket's 101, an SSE stream's head). Filled only while the log is on.
// Thread: a plain value.
struct AccessNote {
  http::Method method = http::Method::kOther;
  std::string path;  // the request-target up to '?': never the query, where tokens travel
  std::string user_agent;
  uint64_t arrival_us = 0;  // when its first byte arrived (core::monotonic_ns() / 1000)
};

// One shard's parts, as its protocols see them. Built and owned by the
// shard (ShardLoop); every reference outlives the protocols.
// Thread: owner shard only.
struct ShardContext {
  unsigned id;
  Shared& shared;
  const ShardConfig& cfg;
  obs::ShardMetrics& metrics;
  net::ConnTable& conns;
  SessionTable& sessions;
  RoomService& rooms;
  Outbox& outbox;
  // Set once the shard drains (ShardLoop::begin_drain()): its pacing and
  // the reconnect hints its goodbyes carry.
  std::optional<DrainPlan> drain{};
  uint32_t last_token = 0;
  // Messages queued to members this turn: (Sequenced::created_ns, members),
  // observed into ringchat_publish_to_send_seconds as the turn's sends go.
  std::vector<std::pair<uint64_t, uint32_t>> delivered{};
  const auth::Rate pub_rate = auth::Rate::per_second(cfg.pub_rate, cfg.pub_burst);
  // Connections that came in with credentials, by slot (tokens on only).
  std::unordered_map<uint32_t, auth::Identity> identities{};

  bool draining() const { return drain.has_value(); }
  // The reconnect delay to tell a client now (DrainPlan::retry_ms()).
  // REQUIRES: draining().
  uint64_t retry_ms() { return drain->retry_ms(now_ms()); }

  // A token for an answer from another shard (PublishMsg::ack,
  // RoomService::query): unique on this shard for 2^32 requests, never 0.
  uint32_t ack_token() { return ++last_token != 0 ? last_token : ++last_token; }

  Session& session(const net::Conn& c) { return sessions[conns.slot_of(c)]; }
  uint64_t now_ms() const { return conns.now_ms(); }
  // What the connection's credentials allow (kept from its upgrade while
  // tokens are on; without them everyone may do everything).
  const auth::Identity& identity(const net::Conn& c) const {
    static const auth::Identity kOpen{};
    static const auth::Identity kNobody{auth::Identity::Kind::kUser, {}};
    if (!shared.gate.tokens()) return kOpen;
    auto it = identities.find(conns.slot_of(c));
    return it == identities.end() ? kNobody : it->second;
  }
  // The user the connection publishes as (its token's sub); empty: anonymous.
  std::string_view user_of(const net::Conn& c) const {
    const auth::Identity& id = identity(c);
    return id.kind == auth::Identity::Kind::kUser ? std::string_view(id.claims.sub) : "";
  }
  void set_identity(const net::Conn& c, auth::Identity id) {
    if (shared.gate.tokens()) identities.insert_or_assign(conns.slot_of(c), std::move(id));
  }
  // Hands `c` to protocol `p` (counted in ringchat_connections{transport});
  // an upgrade from HTTP is a handshake done (ringchat_handshake_seconds).
  // Call before the HTTP state in `s` is replaced.
  void set_protocol(net::Conn& c, const Session& s, ProtocolId p);
  // Counts a refusal of kind `kind` (auth::Refusal::kind).
  void count_auth_failure(std::string_view kind);
  // The wall clock (tokens' exp and nbf are Unix seconds).
  static int64_t unix_ms();
  // Whether the connection's token has expired (it is then closed: 4001 for
  // a WebSocket, the end of an SSE stream).
  bool expired(const net::Conn& c) const;
  // `interval_ms`, or less if the connection's token expires sooner: when
  // its protocol's timer should next look at it.
  uint64_t timer_delay(const net::Conn& c, uint64_t interval_ms) const;

  // The access-log line of the request `req` of `c` (null: one that did not
  // parse), answered with `status` and `bytes` of response head and body;
  // or of the request `note` tells of. One branch while the log is off.
  // Every HTTP answer goes through here: what a client sent and got, from
  // its address, how long it took from its first byte.
  void access(const net::Conn& c, const http::Request* req, int status, size_t bytes) {
    if (obs::access_log_on()) log_access(c, req, status, bytes);
  }
  void access(const net::Conn& c, const AccessNote& note, int status, size_t bytes) {
    if (obs::access_log_on()) log_access(c, note, status, bytes);
  }
  // What access() needs of `req` later (empty while the log is off).
  AccessNote access_note(const net::Conn& c, const http::Request& req);

  // Whether `s` may publish one more message now (--pub-rate, --pub-burst);
  // counts a refusal.
  bool may_publish(Session& s) {
    if (pub_rate.take(s.pub_tat_us, now_ms() * 1000)) return true;
    metrics.add(obs::Metric::kLimitPubRate);
    return false;
  }

 private:
  void log_access(const net::Conn& c, const http::Request* req, int status, size_t bytes);
  void log_access(const net::Conn& c, const AccessNote& note, int status, size_t bytes);
  // When `c`'s current request began (0: unknown, not an HTTP connection).
  uint64_t arrival_of(const net::Conn& c);
};

// The connection table's handler: each call goes to the protocol that holds
// the connection (Conn::protocol). Every connection starts with HTTP.
// Thread: owner shard only.
class Front final : public net::ConnHandler {
 public:
  explicit Front(ShardContext& ctx) : ctx_(ctx) {}
  void set(ProtocolId id, Protocol& p) { protocols_[static_cast<size_t>(id)] = &p; }

  void on_open(net::Conn& c) override;
  // What one protocol leaves after handing the connection to another (an
  // upgrade with frames behind it) goes to the next.
  std::span<std::byte> on_data(net::Conn& c, std::span<std::byte> data) override {
    for (;;) {
      const uint8_t before = c.protocol;
      data = of(c).on_data(c, ctx_.session(c), data);
      if (data.empty() || c.protocol == before || !c.usable()) return data;
    }
  }
  void on_timer(net::Conn& c) override { of(c).on_timer(c, ctx_.session(c)); }
  bool input_blocked(const net::Conn& c) const override {
    return of(c).input_blocked(c, ctx_.session(c));
  }
  bool blocked_elsewhere(const net::Conn& c) const override {
    return of(c).blocked_elsewhere(c, ctx_.session(c));
  }
  void on_close_requested(net::Conn& c, net::CloseWhy why) override {
    of(c).on_close_requested(c, ctx_.session(c), why);
  }
  void on_closed(net::Conn& c) override;

 private:
  Protocol& of(const net::Conn& c) const { return *protocols_[c.protocol]; }

  ShardContext& ctx_;
  std::array<Protocol*, static_cast<size_t>(ProtocolId::kCount)> protocols_{};
};

}  // namespace ringchat::chat
