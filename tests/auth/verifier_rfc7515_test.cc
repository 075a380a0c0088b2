// auth::Verifier against the example JWSs of RFC 7515 Appendix A.1-A.3.
// Their payload has no `sub` and an `exp` of 1300819380 (2011-03-22): with
// a `now` before that, every check up to the claims passes, so a good
// signature shows as bad_claims ("sub: required"), a bad one as
// bad_signature.
#include <gtest/gtest.h>

#include <string>

#include "jws_crypto.h"
#include "jwt_json.h"
#include "ringchat/auth/base64url.h"
#include "ringchat/auth/verifier.h"
#include "token_signer.h"

namespace ringchat::auth {
namespace {

constexpr int64_t kBeforeExp = 1300819379;
constexpr std::string_view kPayload =
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFt"
    "cGxlLmNvbS9pc19yb290Ijp0cnVlfQ";

// A.1: HS256 with a JWK "oct" key.
constexpr std::string_view kA1Key =
    "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow";
constexpr std::string_view kA1Header = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9";
constexpr std::string_view kA1Signature = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

// A.2: RS256 with a 2048-bit RSA key (n, e = AQAB).
constexpr std::string_view kA2N =
    "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp"
    "-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOW"
    "vG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUs"
    "LA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9k"
    "G4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2"
    "PAcDTW9gb54h4FRWyuXpoQ";
constexpr std::string_view kA2E = "AQAB";
constexpr std::string_view kA2Header = "eyJhbGciOiJSUzI1NiJ9";
constexpr std::string_view kA2Signature =
    "cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7"
    "AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4"
    "BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K"
    "0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqv"
    "hJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrB"
    "p0igcN_IoypGlUPQGe77Rw";

// A.3: ES256 with a P-256 key (x, y).
constexpr std::string_view kA3X = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU";
constexpr std::string_view kA3Y = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0";
constexpr std::string_view kA3Header = "eyJhbGciOiJFUzI1NiJ9";
constexpr std::string_view kA3Signature =
    "DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSA"
    "pmWQxfKTUJqPP3-Kg6NU1Q";

std::string b64(std::string_view s) { return base64url_decode(s).value(); }

std::string token(std::string_view header, std::string_view signature) {
  return std::string(header) + "." + std::string(kPayload) + "." + std::string(signature);
}

// `signature` with one bit of its first byte flipped, re-encoded.
std::string flipped(std::string_view signature) {
  std::string raw = b64(signature);
  raw[0] ^= 1;
  return base64url_encode(raw);
}

// SubjectPublicKeyInfo DER of the RSA key (n, e).
std::string rsa_spki(std::string_view n, std::string_view e) {
  const std::string nb = b64(n), eb = b64(e);
  RsaKey key;
  EXPECT_EQ(wc_InitRsaKey(&key, nullptr), 0);
  EXPECT_EQ(wc_RsaPublicKeyDecodeRaw(testing::as_bytes(nb), nb.size(), testing::as_bytes(eb),
                                     eb.size(), &key),
            0);
  std::string der(1024, '\0');
  const int len = wc_RsaKeyToPublicDer_ex(&key, reinterpret_cast<byte*>(der.data()), der.size(), 1);
  wc_FreeRsaKey(&key);
  EXPECT_GT(len, 0);
  der.resize(len > 0 ? static_cast<size_t>(len) : 0);
  return der;
}

// SubjectPublicKeyInfo DER of the P-256 point (x, y).
std::string p256_spki(std::string_view x, std::string_view y) {
  const std::string xb = b64(x), yb = b64(y);
  ecc_key key;
  EXPECT_EQ(wc_ecc_init(&key), 0);
  EXPECT_EQ(wc_ecc_import_unsigned(&key, testing::as_bytes(xb), testing::as_bytes(yb), nullptr,
                                   ECC_SECP256R1),
            0);
  std::string der(256, '\0');
  const int len = wc_EccPublicKeyToDer(&key, reinterpret_cast<byte*>(der.data()), der.size(), 1);
  wc_ecc_free(&key);
  EXPECT_GT(len, 0);
  der.resize(len > 0 ? static_cast<size_t>(len) : 0);
  return der;
}

Verifier make(VerifierConfig config) {
  auto v = Verifier::create(std::move(config));
  EXPECT_TRUE(v.ok()) << v.error();
  return std::move(v).value();
}

Failure failure(const Verifier& v, const std::string& t) {
  auto r = v.verify(t, kBeforeExp);
  EXPECT_FALSE(r.ok());
  return r.ok() ? Failure::kTooLarge : r.error();
}

TEST(Rfc7515, PayloadReadsAsTheRfcSaysButLacksSub) {
  auto r = read_claims(b64(kPayload));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), "sub: required");
  // With a sub it would carry the RFC's exp.
  std::string json = b64(kPayload);
  json.insert(1, R"("sub":"joe",)");
  auto s = read_claims(json);
  ASSERT_TRUE(s.ok()) << s.error();
  EXPECT_EQ(s->claims.exp, 1300819380);
  EXPECT_EQ(s->iss, "joe");
}

TEST(Rfc7515, A1Hs256) {
  EXPECT_EQ(base64url_encode(b64(kA1Signature)), kA1Signature);
  const Verifier v = make({.hs256_secret = b64(kA1Key)});
  EXPECT_EQ(failure(v, token(kA1Header, kA1Signature)), Failure::kBadClaims);
  EXPECT_EQ(failure(v, token(kA1Header, flipped(kA1Signature))), Failure::kBadSignature);
  // The MAC itself, byte for byte.
  const Sha256Digest mac =
      hmac_sha256(b64(kA1Key), std::string(kA1Header) + "." + std::string(kPayload));
  EXPECT_EQ(base64url_encode({reinterpret_cast<const char*>(mac.data()), mac.size()}),
            kA1Signature);
}

TEST(Rfc7515, A2Rs256) {
  const std::string der = rsa_spki(kA2N, kA2E);
  for (const std::string& key : {der, testing::to_pem(der)}) {
    const Verifier v = make({.public_key = key});
    EXPECT_EQ(v.public_key_alg(), "RS256");
    EXPECT_EQ(failure(v, token(kA2Header, kA2Signature)), Failure::kBadClaims);
    EXPECT_EQ(failure(v, token(kA2Header, flipped(kA2Signature))), Failure::kBadSignature);
    // The A.1 HS256 token is not something an RSA-only verifier checks.
    EXPECT_EQ(failure(v, token(kA1Header, kA1Signature)), Failure::kBadAlg);
  }
}

TEST(Rfc7515, A3Es256) {
  const std::string der = p256_spki(kA3X, kA3Y);
  for (const std::string& key : {der, testing::to_pem(der)}) {
    const Verifier v = make({.public_key = key});
    EXPECT_EQ(v.public_key_alg(), "ES256");
    EXPECT_EQ(failure(v, token(kA3Header, kA3Signature)), Failure::kBadClaims);
    EXPECT_EQ(failure(v, token(kA3Header, flipped(kA3Signature))), Failure::kBadSignature);
    // The A.2 RS256 token is not something an EC-only verifier checks.
    EXPECT_EQ(failure(v, token(kA2Header, kA2Signature)), Failure::kBadAlg);
  }
}

TEST(Rfc7515, ExamplesAreExpiredAfterTheirExp) {
  // With a sub added the signature would break; instead: the HS256 example
  // re-signed with the A.1 key and a sub, at and after exp.
  std::string json = b64(kPayload);
  json.insert(1, R"("sub":"joe",)");
  const std::string t = testing::hs256_token(b64(kA1Key), json, b64(kA1Header));
  const Verifier v = make({.hs256_secret = b64(kA1Key), .clock_skew_s = 0});
  auto ok = v.verify(t, kBeforeExp);
  ASSERT_TRUE(ok.ok()) << to_string(ok.error());
  EXPECT_EQ(ok->sub, "joe");
  auto late = v.verify(t, kBeforeExp + 1);
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.error(), Failure::kExpired);
}

}  // namespace
}  // namespace ringchat::auth
