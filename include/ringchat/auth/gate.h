#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ringchat/auth/claims.h"
#include "ringchat/auth/verifier.h"
#include "ringchat/core/result.h"
#include "ringchat/http/request.h"

namespace ringchat::auth {

// The WebSocket subprotocol a client names to say it speaks ringchat's
// protocol, next to its token ("bearer.<JWT>") in Sec-WebSocket-Protocol:
// browsers cannot set an Authorization header on a WebSocket.
inline constexpr std::string_view kSubprotocol = "ringchat";
inline constexpr std::string_view kBearerPrefix = "bearer.";

// Who may come in (--jwt-secret / --jwt-public-key, --allow-anonymous,
// --api-key, --origins). Thread: immutable once the shards start.
struct GateConfig {
  std::shared_ptr<const Verifier> verifier{};  // null: no tokens asked for
  bool allow_anonymous = false;                // with a verifier: no token = read-only
  std::string api_key{};                       // empty: none (the HTTP API's back-end key)
  // Browser origins allowed ("https://chat.example.com", "https://*.example.com");
  // empty: any. A request without an Origin header (not a browser) passes.
  std::vector<std::string> origins{};
};

// Who a request is from, and what it may do.
struct Identity {
  enum class Kind : uint8_t {
    kOpen,       // no auth configured: everyone may do everything
    kAnonymous,  // no token, --allow-anonymous: may read, never publish
    kUser,       // a verified token: what its claims allow
    kApiKey,     // the --api-key: may publish and read everywhere
  };
  Kind kind = Kind::kOpen;
  Claims claims{};  // kUser
  // kUser: the Unix second from which the token no longer verifies (exp
  // plus the clock skew); a connection that outlives it is closed.
  int64_t valid_until_s = 0;

  bool may_join(std::string_view room) const {
    return kind != Kind::kUser || claims.may_join(room);
  }
  bool may_publish(std::string_view room) const {
    if (kind == Kind::kUser) return claims.may_publish(room);
    return kind != Kind::kAnonymous;
  }
};

// Why a request is refused, before anything else is done for it: an HTTP
// status (401: no or bad credentials; 403: credentials that do not allow
// it), a stable code and a reason for the JSON body that name the rule
// broken and nothing of the secret or the token, and the metric kind
// (finer than the code: which check of the token failed).
struct Refusal {
  int status;
  std::string_view code;
  std::string_view reason;
  std::string_view kind;
};

// Checks the credentials of requests. Pure: reads only the request and the
// clock it is given. Thread: any (const; the Verifier is thread-safe).
class Gate {
 public:
  explicit Gate(GateConfig config) : config_(std::move(config)) {}

  bool tokens() const { return config_.verifier != nullptr; }

  // The identity of `req` at `now_unix_s`. The credential is taken from
  // `Authorization: Bearer`, then `?token=`, then a "bearer." entry of
  // Sec-WebSocket-Protocol; equal to --api-key (compared in constant time)
  // it is the API key, else a token. Refused: a browser Origin not in
  // --origins (403 origin_not_allowed); with tokens, none and no
  // --allow-anonymous (401 missing_token), a bad one (401 invalid_token, or
  // token_expired so that a client knows to fetch a new one). Without tokens
  // a credential other than the API key is ignored (kOpen).
  Result<Identity, Refusal> check(const http::Request& req, int64_t now_unix_s) const;
  // The identity `token` alone shows (a JSON socket's `refresh`).
  // REQUIRES: tokens().
  Result<Identity, Refusal> verify(std::string_view token, int64_t now_unix_s) const;

  // What a 101 must answer in Sec-WebSocket-Protocol for `req` (RFC 6455
  // §4.2.2: one of the client's values, or no header if it offered none):
  // "ringchat" if offered, else the "bearer." entry the token came in
  // (a browser fails a handshake that answers nothing to a list it sent);
  // empty: no header.
  static std::string_view subprotocol(const http::Request& req);

  // Whether `origin` (an Origin header's value) matches one of `patterns`:
  // exactly (ASCII case-insensitive), or "scheme://*.domain" for any
  // subdomain of domain (not domain itself) with that scheme and no port
  // unless the pattern has it. Pure.
  static bool origin_allowed(std::string_view origin, const std::vector<std::string>& patterns);

 private:
  GateConfig config_;
};

}  // namespace ringchat::auth
