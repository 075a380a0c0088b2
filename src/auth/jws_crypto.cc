#include "jws_crypto.h"

// wolfSSL's build options first: they change the layout of its structs.
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/asn_public.h>
#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfcrypt/hash.h>
#include <wolfssl/wolfcrypt/hmac.h>
#include <wolfssl/wolfcrypt/rsa.h>
#include <wolfssl/wolfcrypt/sha256.h>

#include <algorithm>
#include <cstring>
#include <optional>
#include <string>

#include "ringchat/auth/constant_time.h"
#include "ringchat/core/check.h"

namespace ringchat::auth {

namespace {

constexpr int kMinRsaBits = 2048;          // RFC 7518 §3.3: 2048 bits or larger MUST be used
constexpr int kMaxRsaBits = RSA_MAX_SIZE;  // what this wolfSSL build computes with

const byte* bytes(std::string_view s) { return reinterpret_cast<const byte*>(s.data()); }

Sha256Digest sha256(std::string_view data) {
  Sha256Digest out{};
  RC_CHECK(wc_Sha256Hash(bytes(data), static_cast<word32>(data.size()), out.data()) == 0);
  return out;
}

// A public RSA key decoded into a wolfCrypt key object on the caller's stack,
// freed with it. Thread: the caller's, for one call.
class RsaPublic {
 public:
  RsaPublic() { RC_CHECK(wc_InitRsaKey(&key_, nullptr) == 0); }
  ~RsaPublic() { wc_FreeRsaKey(&key_); }
  RsaPublic(const RsaPublic&) = delete;
  RsaPublic& operator=(const RsaPublic&) = delete;
  // Whether `der` is exactly one RSA public key (nothing after it).
  bool decode(std::string_view der) {
    word32 idx = 0;
    return wc_RsaPublicKeyDecode(bytes(der), &idx, &key_, static_cast<word32>(der.size())) == 0 &&
           idx == der.size();
  }
  RsaKey* get() { return &key_; }

 private:
  RsaKey key_;
};

// The same for an EC key.
class EccPublic {
 public:
  EccPublic() { RC_CHECK(wc_ecc_init(&key_) == 0); }
  ~EccPublic() { wc_ecc_free(&key_); }
  EccPublic(const EccPublic&) = delete;
  EccPublic& operator=(const EccPublic&) = delete;
  bool decode(std::string_view der) {
    word32 idx = 0;
    return wc_EccPublicKeyDecode(bytes(der), &idx, &key_, static_cast<word32>(der.size())) == 0 &&
           idx == der.size();
  }
  bool is_p256() const { return key_.dp != nullptr && key_.dp->id == ECC_SECP256R1; }
  ecc_key* get() { return &key_; }

 private:
  ecc_key key_;
};

// An mp_int (wolfSSL's big integer) on the stack.
class BigInt {
 public:
  BigInt() { RC_CHECK(mp_init(&n_) == MP_OKAY); }
  ~BigInt() { mp_free(&n_); }
  BigInt(const BigInt&) = delete;
  BigInt& operator=(const BigInt&) = delete;
  bool read(std::string_view big_endian) {
    return mp_read_unsigned_bin(&n_, bytes(big_endian), static_cast<int>(big_endian.size())) ==
           MP_OKAY;
  }
  mp_int* get() { return &n_; }

 private:
  mp_int n_;
};

// The label of the first PEM block ("PUBLIC KEY"), or nullopt if `text`
// has none. Labels are short upper-case ASCII (RFC 7468 §3).
std::optional<std::string_view> pem_label(std::string_view text) {
  constexpr std::string_view kBegin = "-----BEGIN ";
  const size_t at = text.find(kBegin);
  if (at == std::string_view::npos) return std::nullopt;
  const std::string_view rest = text.substr(at + kBegin.size());
  const size_t end = rest.find("-----");
  if (end == std::string_view::npos || end > 64) return std::string_view("?");
  return rest.substr(0, end);
}

// DER from PEM, if `text` is PEM; else `text` itself, taken to be DER.
Result<std::string, std::string> to_der(std::string_view text) {
  const auto label = pem_label(text);
  if (!label) return std::string(text);
  if (*label != "PUBLIC KEY") {
    return Err("a PEM block labelled '" + std::string(*label) +
               "'; expected PUBLIC KEY (SubjectPublicKeyInfo; no certificate, no private key)");
  }
  std::string der(text.size(), '\0');  // DER is shorter than its base64
  const int n =
      wc_PubKeyPemToDer(bytes(text), static_cast<int>(text.size()),
                        reinterpret_cast<byte*>(der.data()), static_cast<int>(der.size()));
  if (n <= 0) return Err(std::string("a PUBLIC KEY PEM block that does not decode"));
  der.resize(static_cast<size_t>(n));
  return der;
}

Result<PublicKey, std::string> check_rsa(std::string der, RsaPublic& rsa) {
  const int bits = mp_count_bits(&rsa.get()->n);
  if (bits < kMinRsaBits) {
    return Err("an RSA key of " + std::to_string(bits) + " bits; RS256 needs at least 2048");
  }
  if (bits > kMaxRsaBits) {
    return Err("an RSA key of " + std::to_string(bits) + " bits; this wolfSSL handles at most " +
               std::to_string(kMaxRsaBits));
  }
  return PublicKey{KeyType::kRsa, std::move(der), bits};
}

Result<PublicKey, std::string> check_ec(std::string der, EccPublic& ec) {
  if (!ec.is_p256()) {
    const char* name = ec.get()->dp != nullptr ? ec.get()->dp->name : "unknown";
    return Err("an EC key on curve " + std::string(name ? name : "unknown") +
               "; ES256 needs P-256 (SECP256R1)");
  }
  if (wc_ecc_check_key(ec.get()) != 0) {
    return Err(std::string("an EC P-256 key whose point is not on the curve"));
  }
  return PublicKey{KeyType::kEcP256, std::move(der), 256};
}

}  // namespace

Result<PublicKey, std::string> load_public_key(std::string_view pem_or_der) {
  if (pem_or_der.empty()) return Err(std::string("an empty public key"));
  auto der = to_der(pem_or_der);
  if (!der) return Err(der.error());
  {
    RsaPublic rsa;
    if (rsa.decode(*der)) return check_rsa(std::move(*der), rsa);
  }
  EccPublic ec;
  if (ec.decode(*der)) return check_ec(std::move(*der), ec);
  return Err(
      std::string("not an RSA or EC public key (expected SubjectPublicKeyInfo, PEM or DER)"));
}

Sha256Digest hmac_sha256(std::string_view key, std::string_view data) {
  RC_CHECK(!key.empty());
  Hmac hmac;
  Sha256Digest out{};
  RC_CHECK(wc_HmacInit(&hmac, nullptr, INVALID_DEVID) == 0);
  RC_CHECK(wc_HmacSetKey(&hmac, WC_SHA256, bytes(key), static_cast<word32>(key.size())) == 0);
  RC_CHECK(wc_HmacUpdate(&hmac, bytes(data), static_cast<word32>(data.size())) == 0);
  RC_CHECK(wc_HmacFinal(&hmac, out.data()) == 0);
  wc_HmacFree(&hmac);
  return out;
}

bool verify_hs256(std::string_view secret, std::string_view signing_input,
                  std::string_view signature) {
  const Sha256Digest mac = hmac_sha256(secret, signing_input);
  return constant_time_equal(
      signature, std::string_view(reinterpret_cast<const char*>(mac.data()), mac.size()));
}

bool verify_rs256(std::string_view key_der, std::string_view signing_input,
                  std::string_view signature) {
  RsaPublic rsa;
  RC_CHECK(rsa.decode(key_der));  // load_public_key() decoded it once already
  // RFC 8017 §8.2.2 step 1: the signature is exactly k bytes.
  if (signature.size() != static_cast<size_t>(wc_RsaEncryptSize(rsa.get()))) return false;
  // RFC 8017 §9.2 note 1: the DER DigestInfo prefix for SHA-256; EM's tail
  // is this followed by the digest, and PKCS#1 v1.5 (unlike PSS) is checked
  // by rebuilding it and comparing.
  static constexpr uint8_t kDigestInfo[] = {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60,
                                            0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                                            0x01, 0x05, 0x00, 0x04, 0x20};
  std::array<uint8_t, sizeof kDigestInfo + 32> expected;
  std::memcpy(expected.data(), kDigestInfo, sizeof kDigestInfo);
  const Sha256Digest digest = sha256(signing_input);
  std::memcpy(expected.data() + sizeof kDigestInfo, digest.data(), digest.size());
  // wc_RsaSSL_Verify checks the 00 01 FF..FF 00 padding and returns the rest.
  std::array<uint8_t, RSA_MAX_SIZE / 8> out;
  const int n = wc_RsaSSL_Verify(bytes(signature), static_cast<word32>(signature.size()),
                                 out.data(), static_cast<word32>(out.size()), rsa.get());
  if (n != static_cast<int>(expected.size())) return false;
  return std::memcmp(out.data(), expected.data(), expected.size()) == 0;
}

bool verify_es256(std::string_view key_der, std::string_view signing_input,
                  std::string_view signature) {
  // RFC 7518 §3.4: R and S as 32-byte big-endian integers, concatenated.
  if (signature.size() != 64) return false;
  EccPublic ec;
  RC_CHECK(ec.decode(key_der) && ec.is_p256());
  BigInt r, s;
  if (!r.read(signature.substr(0, 32)) || !s.read(signature.substr(32))) return false;
  const Sha256Digest digest = sha256(signing_input);
  // wolfCrypt refuses r or s of zero or not below the group order.
  int valid = 0;
  const int rc = wc_ecc_verify_hash_ex(r.get(), s.get(), digest.data(),
                                       static_cast<word32>(digest.size()), &valid, ec.get());
  return rc == 0 && valid == 1;
}

}  // namespace ringchat::auth
