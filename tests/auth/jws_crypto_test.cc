#include "jws_crypto.h"

#include <gtest/gtest.h>

#include <string>

#include "token_signer.h"

namespace ringchat::auth {
namespace {

using testing::EcSigner;
using testing::p256;
using testing::rsa2048;
using testing::RsaSigner;

std::string text(const Sha256Digest& d) {
  return {reinterpret_cast<const char*>(d.data()), d.size()};
}

void expect_key_refused(std::string_view key, std::string_view why) {
  auto r = load_public_key(key);
  ASSERT_FALSE(r.ok()) << "accepted";
  EXPECT_NE(r.error().find(why), std::string::npos) << r.error();
}

TEST(HmacSha256, MatchesRfc4231TestCase2) {
  // RFC 4231 §4.3: key "Jefe", data "what do ya want for nothing?".
  EXPECT_EQ(base64url_encode(text(hmac_sha256("Jefe", "what do ya want for nothing?"))),
            base64url_encode(
                std::string("\x5b\xdc\xc1\x46\xbf\x60\x75\x4e\x6a\x04\x24\x26\x08\x95\x75\xc7"
                            "\x5a\x00\x3f\x08\x9d\x27\x39\x83\x9d\xec\x58\xb9\x64\xec\x38\x43",
                            32)));
}

TEST(VerifyHs256, AcceptsOnlyTheExactMac) {
  const std::string mac = text(hmac_sha256("k", "input"));
  EXPECT_TRUE(verify_hs256("k", "input", mac));
  EXPECT_FALSE(verify_hs256("k", "input!", mac));
  EXPECT_FALSE(verify_hs256("K", "input", mac));
  EXPECT_FALSE(verify_hs256("k", "input", mac.substr(0, 31)));  // truncated MAC
  EXPECT_FALSE(verify_hs256("k", "input", mac + "x"));
  EXPECT_FALSE(verify_hs256("k", "input", ""));
}

TEST(LoadPublicKey, ReadsRsaAsPemAndAsDer) {
  for (const std::string& key : {rsa2048().public_pem(), rsa2048().public_der()}) {
    auto r = load_public_key(key);
    ASSERT_TRUE(r.ok()) << r.error();
    EXPECT_EQ(r->type, KeyType::kRsa);
    EXPECT_EQ(r->bits, 2048);
    EXPECT_EQ(r->der, rsa2048().public_der());
  }
}

TEST(LoadPublicKey, ReadsEcP256AsPemAndAsDer) {
  for (const std::string& key : {p256().public_pem(), p256().public_der()}) {
    auto r = load_public_key(key);
    ASSERT_TRUE(r.ok()) << r.error();
    EXPECT_EQ(r->type, KeyType::kEcP256);
    EXPECT_EQ(r->der, p256().public_der());
  }
}

TEST(LoadPublicKey, RefusesRsaUnder2048Bits) {
  RsaSigner small(1024);
  expect_key_refused(small.public_pem(), "1024 bits");
}

TEST(LoadPublicKey, RefusesOtherCurves) {
  EcSigner p384(ECC_SECP384R1);
  expect_key_refused(p384.public_pem(), "P-256");
}

TEST(LoadPublicKey, RefusesOtherPemBlocksAndGarbage) {
  expect_key_refused("", "empty");
  expect_key_refused("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
                     "CERTIFICATE");
  expect_key_refused("-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n",
                     "PRIVATE KEY");
  expect_key_refused("-----BEGIN PUBLIC KEY-----\n!!!!\n-----END PUBLIC KEY-----\n",
                     "does not decode");
  expect_key_refused("not a key at all", "not an RSA or EC");
  expect_key_refused(rsa2048().public_der().substr(0, 100), "not an RSA or EC");
  expect_key_refused(rsa2048().public_der() + "x", "not an RSA or EC");  // trailing bytes
}

TEST(LoadPublicKey, RefusesAPointOffTheCurve) {
  // The last byte of an uncompressed P-256 point is the low byte of y.
  std::string der = p256().public_der();
  der.back() ^= 1;
  auto r = load_public_key(der);
  EXPECT_FALSE(r.ok());
}

TEST(VerifyRs256, AcceptsItsSignatureAndNoOther) {
  const std::string der = rsa2048().public_der();
  const std::string sig = rsa2048().sign("header.payload");
  EXPECT_TRUE(verify_rs256(der, "header.payload", sig));
  EXPECT_FALSE(verify_rs256(der, "header.payloaD", sig));
  for (size_t i : {size_t{0}, sig.size() / 2, sig.size() - 1}) {
    std::string bad = sig;
    bad[i] ^= 0x10;
    EXPECT_FALSE(verify_rs256(der, "header.payload", bad)) << i;
  }
  EXPECT_FALSE(verify_rs256(der, "header.payload", sig.substr(1)));
  EXPECT_FALSE(verify_rs256(der, "header.payload", std::string(1, '\0') + sig));
  EXPECT_FALSE(verify_rs256(der, "header.payload", ""));
  EXPECT_FALSE(verify_rs256(der, "header.payload", std::string(sig.size(), '\xFF')));
}

TEST(VerifyEs256, AcceptsItsSignatureAndNoOther) {
  const std::string der = p256().public_der();
  const std::string sig = p256().sign("header.payload");
  ASSERT_EQ(sig.size(), 64u);
  EXPECT_TRUE(verify_es256(der, "header.payload", sig));
  EXPECT_FALSE(verify_es256(der, "header.payloaD", sig));
  for (size_t i : {size_t{0}, size_t{31}, size_t{32}, size_t{63}}) {
    std::string bad = sig;
    bad[i] ^= 0x01;
    EXPECT_FALSE(verify_es256(der, "header.payload", bad)) << i;
  }
  EXPECT_FALSE(verify_es256(der, "header.payload", sig.substr(0, 63)));
  EXPECT_FALSE(verify_es256(der, "header.payload", sig + "x"));
  EXPECT_FALSE(verify_es256(der, "header.payload", ""));
}

TEST(VerifyEs256, RefusesZeroAndOutOfRangeRAndS) {
  const std::string der = p256().public_der();
  const std::string zero(32, '\0');
  const std::string ones(32, '\xFF');  // above the group order n
  const std::string sig = p256().sign("m");
  EXPECT_FALSE(verify_es256(der, "m", zero + zero));
  EXPECT_FALSE(verify_es256(der, "m", sig.substr(0, 32) + zero));
  EXPECT_FALSE(verify_es256(der, "m", zero + sig.substr(32)));
  EXPECT_FALSE(verify_es256(der, "m", ones + sig.substr(32)));
  EXPECT_FALSE(verify_es256(der, "m", sig.substr(0, 32) + ones));
}

TEST(VerifyEs256, RefusesADerEncodedSignature) {
  // Some libraries emit ASN.1 DER (30 44 02 20 R 02 20 S); JWS wants raw R||S.
  const std::string sig = p256().sign("m");
  const std::string der_sig = std::string("\x30\x44\x02\x20", 4) + sig.substr(0, 32) +
                              std::string("\x02\x20", 2) + sig.substr(32);
  EXPECT_FALSE(verify_es256(p256().public_der(), "m", der_sig));
}

}  // namespace
}  // namespace ringchat::auth
