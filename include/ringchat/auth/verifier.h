#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "ringchat/auth/claims.h"
#include "ringchat/core/result.h"

namespace ringchat::auth {

inline constexpr size_t kMaxTokenBytes = 8192;
// RFC 7518 §3.2: an HS256 key must be at least as long as the hash output.
inline constexpr size_t kMinSecretBytes = 32;
inline constexpr int64_t kMaxClockSkewS = 3600;

// Why a token was refused. to_string() gives a stable code for logs and
// metrics labels (never shown with the token's contents):
//   too_large       more than kMaxTokenBytes, refused before any work
//   malformed       not three base64url parts (header.payload.signature,
//                   unpadded, no whitespace), or a JOSE header that is not a
//                   JSON object with a string "alg", has a "typ" other than
//                   "JWT" (any case), has "crit", or repeats alg/typ/crit
//   bad_alg         "alg" is not one this verifier is configured for: "none",
//                   HS256 without a secret, RS256/ES256 without that kind of
//                   public key, anything else (HS384, PS256, "hs256")
//   bad_signature   the signature does not verify (or has the wrong length)
//   bad_claims      the signature is good but the payload is not a JSON
//                   object, nests deeper than 16, repeats a claim, or a claim
//                   is missing, of the wrong type or over its limit: see
//                   Verifier::verify()
//   expired         `exp` has passed (with the skew)
//   not_yet_valid   `nbf` has not come yet (with the skew)
//   wrong_issuer    an issuer is configured and `iss` is missing or differs
//   wrong_audience  an audience is configured and `aud` lacks it, or none is
//                   configured and the token has an `aud`
enum class Failure : uint8_t {
  kTooLarge,
  kMalformed,
  kBadAlg,
  kBadSignature,
  kBadClaims,
  kExpired,
  kNotYetValid,
  kWrongIssuer,
  kWrongAudience,
};
std::string_view to_string(Failure f);

// How a Verifier is set up: from --jwt-secret / --jwt-secret-file and
// --jwt-public-key (the caller reads files; bytes are used as given, so a
// caller that reads a secret file decides whether to strip a final newline).
// Every member has an initializer, so designated initializers may name only some.
struct VerifierConfig {
  std::string hs256_secret{};  // empty: HS256 tokens are refused (bad_alg)
  // PEM ("-----BEGIN PUBLIC KEY-----") or DER SubjectPublicKeyInfo, or a
  // PKCS#1 RSAPublicKey in DER. RSA (at least 2048 bits) enables RS256, EC
  // on P-256 enables ES256. Empty: RS256 and ES256 are refused.
  std::string public_key{};
  std::string audience{};     // empty: no audience check (but see wrong_audience)
  std::string issuer{};       // empty: `iss` is not checked
  int64_t clock_skew_s = 30;  // 0 to kMaxClockSkewS
};

// Verifies JWS compact-serialized JWTs (RFC 7515, 7519) signed with HS256,
// RS256 or ES256 (RFC 7518 §3.2-3.4), with wolfCrypt.
//
// Each algorithm checks only with its own key: an HS256 token is checked
// with the configured secret and nothing else, never with the public key's
// bytes as an HMAC secret (algorithm confusion), and RS256/ES256 only with a
// public key of that type. Keys named by the token (kid, jku, jwk, x5u, x5c)
// are ignored.
//
// Thread: any; immutable after create(). verify() is const and may run on
// every shard at once: wolfCrypt's RsaKey and ecc_key keep per-operation
// state inside the key (RsaKey::state/dataLen, ecc_key::state), so a shared
// key object is NOT safe to verify with concurrently. The Verifier therefore
// keeps only the public key's DER bytes and decodes a fresh key on the
// caller's stack for each verify() (a few microseconds against the tens
// (RSA) or hundreds (ECDSA) of microseconds the signature check costs). JSON
// is read with one simdjson parser per thread (thread_local, about 150
// KiB), created on a thread's first verify().
class Verifier {
 public:
  // A verifier for `config`, or why not: no secret and no key, a secret
  // shorter than kMinSecretBytes, a key that is not a SubjectPublicKeyInfo
  // PEM/DER RSA or EC P-256 public key, an RSA modulus under 2048 bits (or
  // over the 4096 wolfSSL is built for), a point not on the curve, a skew
  // out of range. The message names the problem, never the secret.
  static Result<Verifier, std::string> create(VerifierConfig config);

  // The claims of `token` at `now_unix_s`, or why it is refused. Checked in
  // this order: size, shape, header, algorithm, signature, then the payload
  // (only once the signature is good), expiry, not-before, issuer, audience.
  //
  // Payload (a JSON object, validated in full by simdjson; unknown claims
  // are ignored whatever their type; any of the claims below given twice is
  // bad_claims):
  //   sub    required; a string as Claims::sub says
  //   exp    required (a token that never expires is refused); a number,
  //          integer or not (NumericDate). Valid while
  //          now < exp + clock_skew_s. Huge values saturate (1e300: never
  //          expires); integers beyond 64 bits or 1e400 are bad_claims.
  //   nbf    optional number; valid once now >= nbf - clock_skew_s
  //   iat    ignored
  //   iss    optional string
  //   aud    optional string or array of strings (at most kMaxPatterns)
  //   rooms, pub  optional arrays of at most kMaxPatterns strings of at most
  //          kMaxPatternBytes; absent means none
  // RFC 7519 §4.1.3: a token with an `aud` is for the audiences it names,
  // so with no audience configured a token that has one is wrong_audience.
  Result<Claims, Failure> verify(std::string_view token, int64_t now_unix_s) const;

  bool accepts_hs256() const { return !secret_.empty(); }
  int64_t clock_skew_s() const { return skew_s_; }
  // "RS256", "ES256", or "" without a public key.
  std::string_view public_key_alg() const;

 private:
  enum class KeyKind : uint8_t { kNone, kRsa, kEcP256 };
  Verifier() = default;

  std::string secret_;
  std::string key_der_;  // the public key, DER; decoded per verify()
  KeyKind key_kind_ = KeyKind::kNone;
  std::string audience_;
  std::string issuer_;
  int64_t skew_s_ = 30;
};

// Frees what wolfCrypt keeps per thread for ES256: this wolfSSL is built
// with FP_ECC, whose table of precomputed points is thread-local and grows on
// a thread's repeated ECDSA checks. Call it on a thread that called verify()
// before that thread exits (the simdjson parser is freed with the thread).
// Thread: the exiting thread.
void release_thread_caches();

}  // namespace ringchat::auth
