#pragma once
// Private to the auth module: the signature checks of RFC 7518 §3.2-3.4 and
// the loading of a public key, over wolfCrypt.
#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "ringchat/core/result.h"

namespace ringchat::auth {

enum class KeyType : uint8_t { kRsa, kEcP256 };

// A checked public key, kept as DER only (see Verifier for why no wolfCrypt
// key object is kept). A plain value. Thread: any; immutable.
struct PublicKey {
  KeyType type = KeyType::kRsa;
  std::string der;  // what wc_RsaPublicKeyDecode / wc_EccPublicKeyDecode read
  int bits = 0;     // RSA modulus bits, or 256
};

// The key in `pem_or_der`: PEM with the label PUBLIC KEY, or DER
// SubjectPublicKeyInfo (RSA also as a bare PKCS#1 RSAPublicKey). RSA must
// have 2048 to 4096 bits; EC must be on P-256 with the point on the curve.
// The error says what is wrong with it.
Result<PublicKey, std::string> load_public_key(std::string_view pem_or_der);

using Sha256Digest = std::array<uint8_t, 32>;

// HMAC-SHA256 of `data` under `key` (RFC 2104). REQUIRES: !key.empty().
Sha256Digest hmac_sha256(std::string_view key, std::string_view data);

// Whether `signature` is the HS256 MAC of `signing_input` under `secret`,
// compared in constant time. REQUIRES: !secret.empty().
bool verify_hs256(std::string_view secret, std::string_view signing_input,
                  std::string_view signature);

// RS256: RSASSA-PKCS1-v1_5 with SHA-256 (RFC 8017 §8.2.2). The signature
// must be exactly as long as the modulus. `key_der` is decoded into a key
// object on this call's stack. REQUIRES: key_der is the `der` of a kRsa
// PublicKey from load_public_key().
bool verify_rs256(std::string_view key_der, std::string_view signing_input,
                  std::string_view signature);

// ES256: ECDSA P-256 with SHA-256; `signature` is R || S, 32 bytes each,
// big-endian (RFC 7518 §3.4), not DER. REQUIRES: key_der is the `der` of a
// kEcP256 PublicKey from load_public_key().
bool verify_es256(std::string_view key_der, std::string_view signing_input,
                  std::string_view signature);

}  // namespace ringchat::auth
