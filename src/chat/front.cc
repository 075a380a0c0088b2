#include "front.h"

#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdint>

#include "ringchat/core/check.h"
#include "ringchat/http/response.h"
#include "ringchat/obs/log.h"
#include "wire.h"

namespace ringchat::chat {

namespace {

struct Refusal {
  int status;
  obs::Metric metric;
  const char* reason;
};

// The request-target without its query (tokens travel in ?token=) or a
// fragment.
std::string_view path_of(std::string_view target) {
  return target.substr(0, target.find_first_of("?#"));
}

// One access-log line (README "Logs").
void write_access(const net::Conn& c, std::string_view method, std::string_view path,
                  std::string_view user_agent, uint64_t arrival_us, int status, size_t bytes) {
  const uint64_t now = core::monotonic_ns() / 1000;
  const double ms = arrival_us != 0 && now > arrival_us ? double(now - arrival_us) / 1000 : 0.0;
  RC_ACCESS()
      .kv("remote", c.peer.to_string())
      .kv("method", method)
      .kv("path", path)
      .kv("status", status)
      .kv("bytes", bytes)
      .kv("duration_ms", ms)
      .kv("ua", user_agent.substr(0, kMaxUserAgent));
}

Refusal refusal(auth::Admit why) {
  switch (why) {
    case auth::Admit::kTooManyConns:
      return {503, obs::Metric::kLimitMaxConns, "the server holds --max-conns connections"};
    case auth::Admit::kTooManyFromIp:
      return {429, obs::Metric::kLimitConnsPerIp, "too many connections from this address"};
    case auth::Admit::kOk:
    case auth::Admit::kTooFast:
      break;
  }
  return {429, obs::Metric::kLimitConnRate, "too many new connections from this address"};
}

}  // namespace

void Front::on_open(net::Conn& c) {
  Session& s = ctx_.sessions.reset(ctx_.conns.slot_of(c));
  c.protocol = static_cast<uint8_t>(ProtocolId::kHttp);
  ctx_.metrics.add(obs::Metric::kConnsHttp);
  protocols_[c.protocol]->on_open(c, s);
  const auth::Admit why = ctx_.shared.limiter.admit(c.peer.ip, ctx_.now_ms() * 1000);
  if (why == auth::Admit::kOk) {
    c.admitted = true;
    return;
  }
  // Answered before any request is read (RFC 9110 §15.6.4, RFC 6585 §4):
  // the client learns why, and when to try again.
  const Refusal r = refusal(why);
  ctx_.metrics.add(r.metric);
  ctx_.metrics.add(obs::Metric::kHttpErrors);
  RC_WARN_LIMITED("connection from %s refused: %s", c.peer.to_string().c_str(),
                  std::string(auth::to_string(why)).c_str());
  // Over TLS the answer would cost a handshake, which is what a flood of
  // connections should not get: closed at once.
  if (!c.plain()) return ctx_.conns.abort(c);
  ctx_.conns.send_copy(c, http::make_response(r.status, "application/json",
                                              error_body(auth::to_string(why), r.reason), false,
                                              "Retry-After: 1\r\n"));
  ctx_.conns.close(c);
}

namespace {
constexpr obs::Metric kConnsOf[] = {obs::Metric::kConnsHttp, obs::Metric::kConnsWsRaw,
                                    obs::Metric::kConnsWsJson, obs::Metric::kConnsSse};
static_assert(std::size(kConnsOf) == static_cast<size_t>(ProtocolId::kCount));
}  // namespace

void ShardContext::set_protocol(net::Conn& c, const Session& s, ProtocolId p) {
  metrics.sub(kConnsOf[c.protocol]);
  metrics.add(kConnsOf[static_cast<size_t>(p)]);
  if (const uint64_t opened = s.http_opened_ns(); opened != 0) {
    const uint64_t now = core::monotonic_ns();
    metrics.observe(obs::Hist::kHandshake, now > opened ? now - opened : 0);
  }
  c.protocol = static_cast<uint8_t>(p);
}

void ShardContext::count_auth_failure(std::string_view kind) {
  using obs::Metric;
  static constexpr std::pair<std::string_view, Metric> kKinds[] = {
      {"missing_token", Metric::kAuthMissingToken},
      {"too_large", Metric::kAuthTooLarge},
      {"malformed", Metric::kAuthMalformed},
      {"bad_alg", Metric::kAuthBadAlg},
      {"bad_signature", Metric::kAuthBadSignature},
      {"bad_claims", Metric::kAuthBadClaims},
      {"expired", Metric::kAuthExpired},
      {"not_yet_valid", Metric::kAuthNotYetValid},
      {"wrong_issuer", Metric::kAuthWrongIssuer},
      {"wrong_audience", Metric::kAuthWrongAudience},
      {"origin", Metric::kAuthOrigin},
      {"forbidden", Metric::kAuthForbidden},
  };
  for (const auto& [name, m] : kKinds) {
    if (name == kind) return metrics.add(m);
  }
  RC_DCHECK(false);
}

uint64_t ShardContext::arrival_of(const net::Conn& c) {
  auto* h = std::get_if<std::unique_ptr<HttpState>>(&session(c).parser);
  return h && *h ? (*h)->parser.arrival() : 0;
}

AccessNote ShardContext::access_note(const net::Conn& c, const http::Request& req) {
  if (!obs::access_log_on()) return {};
  return {req.method, std::string(path_of(req.target)), req.user_agent, arrival_of(c)};
}

void ShardContext::log_access(const net::Conn& c, const http::Request* req, int status,
                              size_t bytes) {
  // A request that did not parse has no method or path to tell.
  write_access(c, req ? http::to_string(req->method) : "-", req ? path_of(req->target) : "-",
               req ? std::string_view(req->user_agent) : "", arrival_of(c), status, bytes);
}

void ShardContext::log_access(const net::Conn& c, const AccessNote& n, int status, size_t bytes) {
  write_access(c, http::to_string(n.method), n.path, n.user_agent, n.arrival_us, status, bytes);
}

int64_t ShardContext::unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool ShardContext::expired(const net::Conn& c) const {
  const auth::Identity& id = identity(c);
  return id.kind == auth::Identity::Kind::kUser && unix_ms() / 1000 >= id.valid_until_s;
}

uint64_t ShardContext::timer_delay(const net::Conn& c, uint64_t interval_ms) const {
  const auth::Identity& id = identity(c);
  if (id.kind != auth::Identity::Kind::kUser || id.valid_until_s > INT64_MAX / 1000) {
    return interval_ms;
  }
  const int64_t left = id.valid_until_s * 1000 - unix_ms();
  return left <= 0 ? 0 : std::min<uint64_t>(interval_ms, static_cast<uint64_t>(left));
}

void Front::on_closed(net::Conn& c) {
  ctx_.identities.erase(ctx_.conns.slot_of(c));
  if (c.admitted) {
    ctx_.shared.limiter.release(c.peer.ip);
    c.admitted = false;
  }
  ctx_.metrics.sub(kConnsOf[c.protocol]);
  of(c).on_closed(c, ctx_.session(c));
}

}  // namespace ringchat::chat
