#pragma once
// Test and benchmark support: keys made with wolfCrypt, and JWTs signed with
// them, to feed auth::Verifier.
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/asn_public.h>
#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfcrypt/hash.h>
#include <wolfssl/wolfcrypt/random.h>
#include <wolfssl/wolfcrypt/rsa.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "jws_crypto.h"
#include "ringchat/auth/base64url.h"
#include "ringchat/core/check.h"

namespace ringchat::auth::testing {

inline const byte* as_bytes(std::string_view s) { return reinterpret_cast<const byte*>(s.data()); }

inline std::string sha256_of(std::string_view data) {
  std::string out(32, '\0');
  RC_CHECK(wc_Sha256Hash(as_bytes(data), static_cast<word32>(data.size()),
                         reinterpret_cast<byte*>(out.data())) == 0);
  return out;
}

// "b64(header).b64(payload)": what a JWS signature covers.
inline std::string signing_input(std::string_view header_json, std::string_view payload_json) {
  return base64url_encode(header_json) + "." + base64url_encode(payload_json);
}

// A compact JWS of `input` with the raw `signature`.
inline std::string with_signature(std::string_view input, std::string_view signature) {
  return std::string(input) + "." + base64url_encode(signature);
}

inline std::string hs256_token(std::string_view secret, std::string_view payload_json,
                               std::string_view header_json = R"({"alg":"HS256","typ":"JWT"})") {
  const std::string input = signing_input(header_json, payload_json);
  const Sha256Digest mac = hmac_sha256(secret, input);
  return with_signature(input, {reinterpret_cast<const char*>(mac.data()), mac.size()});
}

// PEM text of a DER public key.
inline std::string to_pem(std::string_view der) {
  std::string pem(der.size() * 2 + 128, '\0');
  const int n = wc_DerToPem(as_bytes(der), static_cast<word32>(der.size()),
                            reinterpret_cast<byte*>(pem.data()), static_cast<word32>(pem.size()),
                            PUBLICKEY_TYPE);
  RC_CHECK(n > 0);
  pem.resize(static_cast<size_t>(n));
  return pem;
}

class Rng {
 public:
  Rng() { RC_CHECK(wc_InitRng(&rng_) == 0); }
  ~Rng() { wc_FreeRng(&rng_); }
  Rng(const Rng&) = delete;
  Rng& operator=(const Rng&) = delete;
  WC_RNG* get() { return &rng_; }

 private:
  WC_RNG rng_;
};

// A fresh RSA key pair that signs RS256.
class RsaSigner {
 public:
  explicit RsaSigner(int bits) {
    RC_CHECK(wc_InitRsaKey(&key_, nullptr) == 0);
    RC_CHECK(wc_MakeRsaKey(&key_, bits, WC_RSA_EXPONENT, rng_.get()) == 0);
    RC_CHECK(wc_RsaSetRNG(&key_, rng_.get()) == 0);
    std::string der(4096, '\0');
    const int n = wc_RsaKeyToPublicDer_ex(&key_, reinterpret_cast<byte*>(der.data()),
                                          static_cast<word32>(der.size()), 1);
    RC_CHECK(n > 0);
    der.resize(static_cast<size_t>(n));
    public_der_ = std::move(der);
  }
  ~RsaSigner() { wc_FreeRsaKey(&key_); }
  RsaSigner(const RsaSigner&) = delete;
  RsaSigner& operator=(const RsaSigner&) = delete;

  const std::string& public_der() const { return public_der_; }
  std::string public_pem() const { return to_pem(public_der_); }

  // The RSASSA-PKCS1-v1_5 SHA-256 signature of `input`.
  std::string sign(std::string_view input) {
    static constexpr uint8_t kDigestInfo[] = {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60,
                                              0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                                              0x01, 0x05, 0x00, 0x04, 0x20};
    const std::string em =
        std::string(reinterpret_cast<const char*>(kDigestInfo), sizeof kDigestInfo) +
        sha256_of(input);
    std::string sig(static_cast<size_t>(wc_RsaEncryptSize(&key_)), '\0');
    const int n = wc_RsaSSL_Sign(as_bytes(em), static_cast<word32>(em.size()),
                                 reinterpret_cast<byte*>(sig.data()),
                                 static_cast<word32>(sig.size()), &key_, rng_.get());
    RC_CHECK(n == static_cast<int>(sig.size()));
    return sig;
  }

  std::string token(std::string_view payload_json,
                    std::string_view header_json = R"({"alg":"RS256","typ":"JWT"})") {
    const std::string input = signing_input(header_json, payload_json);
    return with_signature(input, sign(input));
  }

 private:
  Rng rng_;
  RsaKey key_;
  std::string public_der_;
};

// A fresh EC key pair on `curve` (a wolfCrypt ecc_curve_id) that signs ES256.
class EcSigner {
 public:
  explicit EcSigner(int curve = ECC_SECP256R1) {
    RC_CHECK(wc_ecc_init(&key_) == 0);
    const int size = wc_ecc_get_curve_size_from_id(curve);
    RC_CHECK(wc_ecc_make_key_ex(rng_.get(), size, &key_, curve) == 0);
    std::string der(512, '\0');
    const int n = wc_EccPublicKeyToDer(&key_, reinterpret_cast<byte*>(der.data()),
                                       static_cast<word32>(der.size()), 1);
    RC_CHECK(n > 0);
    der.resize(static_cast<size_t>(n));
    public_der_ = std::move(der);
  }
  ~EcSigner() { wc_ecc_free(&key_); }
  EcSigner(const EcSigner&) = delete;
  EcSigner& operator=(const EcSigner&) = delete;

  const std::string& public_der() const { return public_der_; }
  std::string public_pem() const { return to_pem(public_der_); }

  // R || S, 32 bytes each (RFC 7518 §3.4).
  std::string sign(std::string_view input) {
    const std::string digest = sha256_of(input);
    mp_int r, s;
    RC_CHECK(mp_init(&r) == MP_OKAY && mp_init(&s) == MP_OKAY);
    RC_CHECK(wc_ecc_sign_hash_ex(as_bytes(digest), 32, rng_.get(), &key_, &r, &s) == 0);
    std::string sig(64, '\0');
    RC_CHECK(mp_to_unsigned_bin_len(&r, reinterpret_cast<byte*>(sig.data()), 32) == MP_OKAY);
    RC_CHECK(mp_to_unsigned_bin_len(&s, reinterpret_cast<byte*>(sig.data()) + 32, 32) == MP_OKAY);
    mp_free(&r);
    mp_free(&s);
    return sig;
  }

  std::string token(std::string_view payload_json,
                    std::string_view header_json = R"({"alg":"ES256","typ":"JWT"})") {
    const std::string input = signing_input(header_json, payload_json);
    return with_signature(input, sign(input));
  }

 private:
  Rng rng_;
  ecc_key key_;
  std::string public_der_;
};

// Process-wide keys: RSA key generation takes a while, so each test binary
// makes one of each.
inline RsaSigner& rsa2048() {
  static RsaSigner signer(2048);
  return signer;
}
inline EcSigner& p256() {
  static EcSigner signer;
  return signer;
}

}  // namespace ringchat::auth::testing
