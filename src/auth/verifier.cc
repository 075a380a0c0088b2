#include "ringchat/auth/verifier.h"

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfcrypt/wc_port.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <utility>

#include "jws_crypto.h"
#include "jwt_json.h"
#include "ringchat/auth/base64url.h"

namespace ringchat::auth {

namespace {

// a + b, pinned to the ends of int64 instead of wrapping.
int64_t saturating_add(int64_t a, int64_t b) {
  int64_t sum = 0;
  if (__builtin_add_overflow(a, b, &sum)) return b > 0 ? INT64_MAX : INT64_MIN;
  return sum;
}

// A compact JWS, cut at its two dots and decoded (RFC 7515 §7.1).
struct Parts {
  std::string_view signing_input;  // ASCII(BASE64URL(header) || '.' || BASE64URL(payload))
  std::string header;
  std::string payload;
  std::string signature;
};

std::optional<Parts> split(std::string_view token) {
  const size_t dot1 = token.find('.');
  if (dot1 == std::string_view::npos) return std::nullopt;
  const size_t dot2 = token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) {
    return std::nullopt;  // two parts (or five: JWE, which we do not take)
  }
  const std::string_view h = token.substr(0, dot1);
  const std::string_view p = token.substr(dot1 + 1, dot2 - dot1 - 1);
  if (h.empty() || p.empty()) return std::nullopt;
  auto header = base64url_decode(h);
  auto payload = base64url_decode(p);
  auto signature = base64url_decode(token.substr(dot2 + 1));
  if (!header || !payload || !signature) return std::nullopt;
  return Parts{token.substr(0, dot2), std::move(*header), std::move(*payload),
               std::move(*signature)};
}

bool has(const std::vector<std::string>& list, std::string_view s) {
  return std::find(list.begin(), list.end(), s) != list.end();
}

}  // namespace

std::string_view to_string(Failure f) {
  switch (f) {
    case Failure::kTooLarge:
      return "too_large";
    case Failure::kMalformed:
      return "malformed";
    case Failure::kBadAlg:
      return "bad_alg";
    case Failure::kBadSignature:
      return "bad_signature";
    case Failure::kBadClaims:
      return "bad_claims";
    case Failure::kExpired:
      return "expired";
    case Failure::kNotYetValid:
      return "not_yet_valid";
    case Failure::kWrongIssuer:
      return "wrong_issuer";
    case Failure::kWrongAudience:
      return "wrong_audience";
  }
  return "unknown";
}

Result<Verifier, std::string> Verifier::create(VerifierConfig config) {
  if (config.hs256_secret.empty() && config.public_key.empty()) {
    return Err(std::string("JWT: no HS256 secret and no public key"));
  }
  if (!config.hs256_secret.empty() && config.hs256_secret.size() < kMinSecretBytes) {
    return Err("JWT secret: " + std::to_string(config.hs256_secret.size()) +
               " bytes; HS256 needs at least 32 (RFC 7518 §3.2)");
  }
  if (config.clock_skew_s < 0 || config.clock_skew_s > kMaxClockSkewS) {
    return Err(std::string("JWT clock skew: must be 0 to 3600 seconds"));
  }
  // Idempotent; sets up what wolfCrypt shares between threads before any.
  if (wolfCrypt_Init() != 0) return Err(std::string("wolfCrypt_Init failed"));
  Verifier v;
  if (!config.public_key.empty()) {
    auto key = load_public_key(config.public_key);
    if (!key) return Err("JWT public key: " + key.error());
    v.key_der_ = std::move(key->der);
    v.key_kind_ = key->type == KeyType::kRsa ? KeyKind::kRsa : KeyKind::kEcP256;
  }
  v.secret_ = std::move(config.hs256_secret);
  v.audience_ = std::move(config.audience);
  v.issuer_ = std::move(config.issuer);
  v.skew_s_ = config.clock_skew_s;
  return v;
}

void release_thread_caches() {
#ifdef FP_ECC
  wc_ecc_fp_free();
#endif
}

std::string_view Verifier::public_key_alg() const {
  switch (key_kind_) {
    case KeyKind::kRsa:
      return "RS256";
    case KeyKind::kEcP256:
      return "ES256";
    case KeyKind::kNone:
      break;
  }
  return "";
}

Result<Claims, Failure> Verifier::verify(std::string_view token, int64_t now_unix_s) const {
  if (token.size() > kMaxTokenBytes) return Err(Failure::kTooLarge);
  auto parts = split(token);
  if (!parts) return Err(Failure::kMalformed);
  auto alg = read_jose_header(parts->header);
  if (!alg) return Err(Failure::kMalformed);

  // RFC 8725 §3.1: the algorithm must be one we chose, checked with the key
  // we hold for that algorithm alone.
  bool good = false;
  if (*alg == "HS256" && !secret_.empty()) {
    good = verify_hs256(secret_, parts->signing_input, parts->signature);
  } else if (*alg == "RS256" && key_kind_ == KeyKind::kRsa) {
    good = verify_rs256(key_der_, parts->signing_input, parts->signature);
  } else if (*alg == "ES256" && key_kind_ == KeyKind::kEcP256) {
    good = verify_es256(key_der_, parts->signing_input, parts->signature);
  } else {
    return Err(Failure::kBadAlg);
  }
  if (!good) return Err(Failure::kBadSignature);

  auto set = read_claims(parts->payload);
  if (!set) return Err(Failure::kBadClaims);
  // RFC 7519 §4.1.4-5, with the leeway they allow for clock skew.
  if (now_unix_s >= saturating_add(set->claims.exp, skew_s_)) return Err(Failure::kExpired);
  if (set->claims.nbf && saturating_add(now_unix_s, skew_s_) < *set->claims.nbf) {
    return Err(Failure::kNotYetValid);
  }
  if (!issuer_.empty() && set->iss != issuer_) return Err(Failure::kWrongIssuer);
  // RFC 7519 §4.1.3: a token naming audiences is only for them.
  if (audience_.empty() ? set->aud.has_value() : !set->aud || !has(*set->aud, audience_)) {
    return Err(Failure::kWrongAudience);
  }
  return std::move(set->claims);
}

}  // namespace ringchat::auth
