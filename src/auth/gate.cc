#include "ringchat/auth/gate.h"

#include <cstdint>

#include "ringchat/auth/constant_time.h"
#include "ringchat/http/uri.h"

namespace ringchat::auth {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Calls `f` with each trimmed, non-empty entry of a comma-separated header;
// stops when it returns true.
template <typename F>
bool any_entry(std::string_view list, F&& f) {
  while (!list.empty()) {
    const size_t comma = list.find(',');
    const std::string_view entry = trim(list.substr(0, comma));
    if (!entry.empty() && f(entry)) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

std::string_view bearer_protocol(std::string_view protocols) {
  std::string_view found;
  any_entry(protocols, [&](std::string_view e) {
    if (!e.starts_with(kBearerPrefix)) return false;
    found = e;
    return true;
  });
  return found;
}

// The credential a request shows, or empty. RFC 6750 §2.1: "Bearer" is
// matched case-insensitively (an auth-scheme, RFC 9110 §11.1).
std::string credential(const http::Request& req) {
  const std::string_view auth = trim(req.authorization);
  if (auth.size() > 7 && http::iequals(auth.substr(0, 7), "bearer ")) {
    return std::string(trim(auth.substr(7)));
  }
  if (auto t = http::query_param(req.query, "token")) return std::move(*t);
  const std::string_view p = bearer_protocol(req.sec_websocket_protocol);
  return std::string(p.substr(std::min(p.size(), kBearerPrefix.size())));
}

Refusal token_refusal(Failure f) {
  if (f == Failure::kExpired) {
    return {401, "token_expired", "the token has expired", to_string(f)};
  }
  return {401, "invalid_token", "the token is not valid here", to_string(f)};
}

}  // namespace

Result<Identity, Refusal> Gate::check(const http::Request& req, int64_t now_unix_s) const {
  if (!config_.origins.empty() && !req.origin.empty() &&
      !origin_allowed(req.origin, config_.origins)) {
    return Err(Refusal{403, "origin_not_allowed", "this origin may not connect", "origin"});
  }
  const std::string cred = credential(req);
  if (!config_.api_key.empty() && !cred.empty() && constant_time_equal(cred, config_.api_key)) {
    return Identity{Identity::Kind::kApiKey, {}};
  }
  if (!config_.verifier) return Identity{};
  if (cred.empty()) {
    if (config_.allow_anonymous) return Identity{Identity::Kind::kAnonymous, {}};
    return Err(Refusal{401, "missing_token", "a token is required", "missing_token"});
  }
  return verify(cred, now_unix_s);
}

Result<Identity, Refusal> Gate::verify(std::string_view token, int64_t now_unix_s) const {
  auto claims = config_.verifier->verify(token, now_unix_s);
  if (!claims) return Err(token_refusal(claims.error()));
  const int64_t skew = config_.verifier->clock_skew_s();
  const int64_t until = claims->exp > INT64_MAX - skew ? INT64_MAX : claims->exp + skew;
  return Identity{Identity::Kind::kUser, std::move(*claims), until};
}

std::string_view Gate::subprotocol(const http::Request& req) {
  if (any_entry(req.sec_websocket_protocol, [](std::string_view e) { return e == kSubprotocol; })) {
    return kSubprotocol;
  }
  return bearer_protocol(req.sec_websocket_protocol);
}

bool Gate::origin_allowed(std::string_view origin, const std::vector<std::string>& patterns) {
  origin = trim(origin);
  for (const std::string& p : patterns) {
    if (http::iequals(origin, p)) return true;
    // "https://*.example.com": the scheme, then any non-empty subdomain
    // labels, then ".example.com", and nothing after (no other port).
    const size_t star = p.find("://*.");
    if (star == std::string::npos) continue;
    const std::string_view scheme = std::string_view(p).substr(0, star + 3);
    const std::string_view suffix = std::string_view(p).substr(star + 4);  // ".example.com"
    if (origin.size() <= scheme.size() + suffix.size()) continue;
    if (!http::iequals(origin.substr(0, scheme.size()), scheme)) continue;
    if (!http::iequals(origin.substr(origin.size() - suffix.size()), suffix)) continue;
    const std::string_view sub =
        origin.substr(scheme.size(), origin.size() - scheme.size() - suffix.size());
    // Host characters only: "evil.com/x.example.com" or a port or userinfo
    // before the suffix is no subdomain.
    bool host = !sub.empty() && sub.front() != '.';
    for (char ch : sub) {
      const bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                      (ch >= '0' && ch <= '9') || ch == '-' || ch == '.';
      host = host && ok;
    }
    if (host) return true;
  }
  return false;
}

}  // namespace ringchat::auth
