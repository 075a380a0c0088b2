#include "ringchat/auth/verifier.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "ringchat/auth/base64url.h"
#include "token_signer.h"

namespace ringchat::auth {
namespace {

using testing::EcSigner;
using testing::hs256_token;
using testing::p256;
using testing::rsa2048;

constexpr int64_t kNow = 1'700'000'000;
const std::string kSecret = "0123456789abcdef0123456789abcdef";  // 32 bytes
const std::string kOtherSecret = "fedcba9876543210fedcba9876543210";

// A payload: sub alice, valid for the next hour, then `extra` members.
std::string claims(std::string_view extra = "", int64_t exp = kNow + 3600) {
  std::string p = R"({"sub":"alice","exp":)" + std::to_string(exp);
  if (!extra.empty()) p += "," + std::string(extra);
  return p + "}";
}

std::string hs(std::string_view payload = claims(),
               std::string_view header = R"({"alg":"HS256","typ":"JWT"})") {
  return hs256_token(kSecret, payload, header);
}

// `token` with `part` (0 header, 1 payload, 2 signature) replaced by `text`.
std::string with_part(std::string_view token, int part, std::string_view text) {
  const size_t d1 = token.find('.');
  const size_t d2 = token.find('.', d1 + 1);
  std::string parts[3] = {std::string(token.substr(0, d1)),
                          std::string(token.substr(d1 + 1, d2 - d1 - 1)),
                          std::string(token.substr(d2 + 1))};
  parts[part] = text;
  return parts[0] + "." + parts[1] + "." + parts[2];
}

class VerifierTest : public ::testing::Test {
 protected:
  static Verifier make(VerifierConfig config) {
    auto v = Verifier::create(std::move(config));
    EXPECT_TRUE(v.ok()) << v.error();
    return std::move(v).value();
  }
  static std::string create_error(VerifierConfig config) {
    auto v = Verifier::create(std::move(config));
    EXPECT_FALSE(v.ok()) << "created";
    return v.ok() ? "" : v.error();
  }
  // The claims of a token `v` must accept.
  static Claims accepts(const Verifier& v, std::string_view token, int64_t now = kNow) {
    auto r = v.verify(token, now);
    EXPECT_TRUE(r.ok()) << token << " -> " << to_string(r.ok() ? Failure::kTooLarge : r.error());
    return r.ok() ? std::move(r).value() : Claims{};
  }
  // Why `v` refuses `token`.
  static Failure refuses(const Verifier& v, std::string_view token, int64_t now = kNow) {
    auto r = v.verify(token, now);
    EXPECT_FALSE(r.ok()) << "accepted: " << token;
    return r.ok() ? Failure::kTooLarge : r.error();
  }

  const Verifier hs_ = make({.hs256_secret = kSecret});
};

TEST_F(VerifierTest, FailureCodesAreStable) {
  EXPECT_EQ(to_string(Failure::kTooLarge), "too_large");
  EXPECT_EQ(to_string(Failure::kMalformed), "malformed");
  EXPECT_EQ(to_string(Failure::kBadAlg), "bad_alg");
  EXPECT_EQ(to_string(Failure::kBadSignature), "bad_signature");
  EXPECT_EQ(to_string(Failure::kBadClaims), "bad_claims");
  EXPECT_EQ(to_string(Failure::kExpired), "expired");
  EXPECT_EQ(to_string(Failure::kNotYetValid), "not_yet_valid");
  EXPECT_EQ(to_string(Failure::kWrongIssuer), "wrong_issuer");
  EXPECT_EQ(to_string(Failure::kWrongAudience), "wrong_audience");
}

TEST_F(VerifierTest, CreateRefusesNoKeyAShortSecretABadKeyAndABadSkew) {
  EXPECT_NE(create_error({}).find("no HS256 secret and no public key"), std::string::npos);
  EXPECT_NE(create_error({.hs256_secret = kSecret.substr(1)}).find("31 bytes"), std::string::npos);
  EXPECT_EQ(create_error({.hs256_secret = "hunter2-but-longer"}).find("hunter2"),
            std::string::npos);  // never echoes the secret
  EXPECT_NE(create_error({.public_key = "garbage"}).find("JWT public key"), std::string::npos);
  EXPECT_NE(create_error({.hs256_secret = kSecret, .public_key = "garbage"}).find("public key"),
            std::string::npos);
  EXPECT_NE(create_error({.hs256_secret = kSecret, .clock_skew_s = -1}).find("skew"),
            std::string::npos);
  EXPECT_NE(
      create_error({.hs256_secret = kSecret, .clock_skew_s = kMaxClockSkewS + 1}).find("skew"),
      std::string::npos);
  make({.hs256_secret = kSecret, .clock_skew_s = kMaxClockSkewS});
}

TEST_F(VerifierTest, ReportsWhatItAccepts) {
  EXPECT_TRUE(hs_.accepts_hs256());
  EXPECT_EQ(hs_.public_key_alg(), "");
  const Verifier rsa = make({.public_key = rsa2048().public_pem()});
  EXPECT_FALSE(rsa.accepts_hs256());
  EXPECT_EQ(rsa.public_key_alg(), "RS256");
  EXPECT_EQ(make({.hs256_secret = kSecret, .public_key = p256().public_der()}).public_key_alg(),
            "ES256");
}

TEST_F(VerifierTest, Hs256TokenGivesItsClaims) {
  const Claims c =
      accepts(hs_, hs(claims(R"("nbf":1600000000,"rooms":["team-*","lobby"],"pub":["lobby"])")));
  EXPECT_EQ(c.sub, "alice");
  EXPECT_EQ(c.exp, kNow + 3600);
  EXPECT_EQ(c.nbf, 1600000000);
  EXPECT_TRUE(c.may_join("team-x"));
  EXPECT_TRUE(c.may_publish("lobby"));
  EXPECT_FALSE(c.may_publish("team-x"));
}

TEST_F(VerifierTest, Rs256TokenVerifiesWithPemOrDerKey) {
  const std::string t = rsa2048().token(claims());
  EXPECT_EQ(accepts(make({.public_key = rsa2048().public_pem()}), t).sub, "alice");
  EXPECT_EQ(accepts(make({.public_key = rsa2048().public_der()}), t).sub, "alice");
  EXPECT_EQ(accepts(make({.hs256_secret = kSecret, .public_key = rsa2048().public_pem()}), t).sub,
            "alice");
}

TEST_F(VerifierTest, Es256TokenVerifiesWithPemOrDerKey) {
  const std::string t = p256().token(claims());
  EXPECT_EQ(accepts(make({.public_key = p256().public_pem()}), t).sub, "alice");
  EXPECT_EQ(accepts(make({.public_key = p256().public_der()}), t).sub, "alice");
}

TEST_F(VerifierTest, AnotherKeyOfTheSameKindDoesNotVerify) {
  EXPECT_EQ(refuses(make({.hs256_secret = kOtherSecret}), hs()), Failure::kBadSignature);
  EcSigner other_ec;
  EXPECT_EQ(refuses(make({.public_key = other_ec.public_pem()}), p256().token(claims())),
            Failure::kBadSignature);
}

TEST_F(VerifierTest, AlgNoneIsRefused) {
  const Verifier both = make({.hs256_secret = kSecret, .public_key = rsa2048().public_pem()});
  for (const char* header : {R"({"alg":"none"})", R"({"alg":"None"})", R"({"alg":"NONE"})",
                             R"({"alg":"none","typ":"JWT"})"}) {
    const std::string unsigned_token =
        base64url_encode(header) + "." + base64url_encode(claims()) + ".";
    EXPECT_EQ(refuses(hs_, unsigned_token), Failure::kBadAlg) << header;
    EXPECT_EQ(refuses(both, unsigned_token), Failure::kBadAlg) << header;
    // Nor with a signature attached.
    EXPECT_EQ(refuses(both, with_part(hs(), 0, base64url_encode(header))), Failure::kBadAlg);
  }
}

TEST_F(VerifierTest, AlgorithmsOtherThanTheConfiguredOnesAreRefused) {
  for (const char* alg :
       {"HS384", "HS512", "RS384", "PS256", "ES384", "EdDSA", "hs256", "HS256 ", ""}) {
    const std::string header = std::string(R"({"alg":")") + alg + "\"}";
    EXPECT_EQ(refuses(hs_, hs(claims(), header)), Failure::kBadAlg) << alg;
  }
  // Each algorithm needs its own kind of key.
  const Verifier rsa = make({.public_key = rsa2048().public_pem()});
  const Verifier ec = make({.public_key = p256().public_pem()});
  EXPECT_EQ(refuses(hs_, rsa2048().token(claims())), Failure::kBadAlg);
  EXPECT_EQ(refuses(hs_, p256().token(claims())), Failure::kBadAlg);
  EXPECT_EQ(refuses(rsa, hs()), Failure::kBadAlg);
  EXPECT_EQ(refuses(rsa, p256().token(claims())), Failure::kBadAlg);
  EXPECT_EQ(refuses(ec, rsa2048().token(claims())), Failure::kBadAlg);
  // An ES256 signature relabelled RS256 is checked as RS256, and fails.
  const Verifier rsa_and_secret =
      make({.hs256_secret = kSecret, .public_key = rsa2048().public_pem()});
  EXPECT_EQ(
      refuses(rsa, with_part(p256().token(claims()), 0, base64url_encode(R"({"alg":"RS256"})"))),
      Failure::kBadSignature);
  EXPECT_EQ(refuses(rsa_and_secret, with_part(rsa2048().token(claims()), 0,
                                              base64url_encode(R"({"alg":"HS256"})"))),
            Failure::kBadSignature);
}

// The classic confusion: the attacker knows the public key (it is public)
// and MACs a token with its bytes, hoping HS256 is checked with the key
// material as the secret.
TEST_F(VerifierTest, Hs256MacKeyedWithThePublicKeyIsRefused) {
  for (const std::string& pem : {rsa2048().public_pem(), p256().public_pem()}) {
    const std::string der =
        pem == rsa2048().public_pem() ? rsa2048().public_der() : p256().public_der();
    const Verifier key_only = make({.public_key = pem});
    const Verifier key_and_secret = make({.hs256_secret = kSecret, .public_key = pem});
    for (const std::string& mac_key : {pem, der}) {
      const std::string forged = hs256_token(mac_key, claims(R"("rooms":["*"],"pub":["*"])"));
      EXPECT_EQ(refuses(key_only, forged), Failure::kBadAlg);
      EXPECT_EQ(refuses(key_and_secret, forged), Failure::kBadSignature);
    }
  }
}

TEST_F(VerifierTest, TamperingWithAnyPartBreaksTheSignature) {
  const std::string t = hs();
  // Payload: more rooms, same signature.
  EXPECT_EQ(refuses(hs_, with_part(t, 1, base64url_encode(claims(R"("rooms":["*"])")))),
            Failure::kBadSignature);
  // Header: an equivalent header, differently spelled.
  EXPECT_EQ(refuses(hs_, with_part(t, 0, base64url_encode(R"({"typ":"JWT","alg":"HS256"})"))),
            Failure::kBadSignature);
  // Signature: every bit of it.
  const std::string sig = base64url_decode(t.substr(t.rfind('.') + 1)).value();
  for (size_t bit = 0; bit < sig.size() * 8; ++bit) {
    std::string bad = sig;
    bad[bit / 8] ^= static_cast<char>(1 << (bit % 8));
    EXPECT_EQ(refuses(hs_, with_part(t, 2, base64url_encode(bad))), Failure::kBadSignature);
  }
  // Public-key tokens too.
  const Verifier rsa = make({.public_key = rsa2048().public_der()});
  const Verifier ec = make({.public_key = p256().public_der()});
  EXPECT_EQ(refuses(rsa, with_part(rsa2048().token(claims()), 1,
                                   base64url_encode(claims("", kNow + 7200)))),
            Failure::kBadSignature);
  EXPECT_EQ(
      refuses(ec, with_part(p256().token(claims()), 1, base64url_encode(claims("", kNow + 7200)))),
      Failure::kBadSignature);
}

TEST_F(VerifierTest, EveryTruncationIsRefused) {
  const Verifier rsa = make({.public_key = rsa2048().public_der()});
  const Verifier ec = make({.public_key = p256().public_der()});
  const std::pair<const Verifier*, std::string> cases[] = {
      {&hs_, hs()}, {&rsa, rsa2048().token(claims())}, {&ec, p256().token(claims())}};
  for (const auto& [v, t] : cases) {
    ASSERT_TRUE(v->verify(t, kNow).ok());
    for (size_t n = 0; n < t.size(); ++n) {
      EXPECT_FALSE(v->verify(t.substr(0, n), kNow).ok()) << n;   // cut at the end
      EXPECT_FALSE(v->verify(t.substr(n + 1), kNow).ok()) << n;  // cut at the start
    }
  }
}

TEST_F(VerifierTest, WrongShapesAreMalformed) {
  const std::string t = hs();
  const std::string h = t.substr(0, t.find('.'));
  for (const std::string& bad : {
           std::string(""),
           std::string("."),
           std::string(".."),
           std::string("..."),
           std::string("abc"),
           h,
           h + "." + h,  // one or two parts
           t + ".",
           t + ".x",
           "." + t,
           t + "..",  // extra dots
           with_part(t, 0, ""),
           with_part(t, 1, ""),  // empty header or payload
           with_part(t, 0, h + "="),
           t + "=",
           t + "==",                 // padding
           with_part(t, 1, "e30="),  // "{}" padded
           " " + t,
           t + " ",
           t + "\n",
           with_part(t, 0, h.substr(0, 4) + " " + h.substr(4)),
           with_part(t, 0, h.substr(0, h.size() - 1) + "+"),  // standard alphabet
           with_part(t, 1, "a"),                              // impossible length
           t + ".a.b",                                        // five parts: JWE
       }) {
    EXPECT_EQ(refuses(hs_, bad), Failure::kMalformed) << bad;
  }
}

TEST_F(VerifierTest, BadHeadersAreMalformed) {
  for (const char* header : {"[]", "null", R"("HS256")", "{}", R"({"alg":null})",
                             R"({"alg":"HS256","typ":"JWS"})", R"({"alg":"HS256","crit":["exp"]})",
                             R"({"alg":"HS256","alg":"HS256"})", R"({"alg":"HS256")", "\xff"}) {
    EXPECT_EQ(refuses(hs_, hs(claims(), header)), Failure::kMalformed) << header;
  }
  EXPECT_EQ(accepts(hs_, hs(claims(), R"({"alg":"HS256","typ":"jwt","kid":"ignored"})")).sub,
            "alice");
}

TEST_F(VerifierTest, EmptySignatureIsABadSignature) {
  EXPECT_EQ(refuses(hs_, with_part(hs(), 2, "")), Failure::kBadSignature);
  EXPECT_EQ(refuses(make({.public_key = rsa2048().public_der()}),
                    with_part(rsa2048().token(claims()), 2, "")),
            Failure::kBadSignature);
  EXPECT_EQ(
      refuses(make({.public_key = p256().public_der()}), with_part(p256().token(claims()), 2, "")),
      Failure::kBadSignature);
}

TEST_F(VerifierTest, SizeIsCheckedFirstAndCapsAt8KiB) {
  // As near kMaxTokenBytes as payload lengths allow (3 bytes of payload are
  // 4 of token): a long ignored claim fills it up.
  const std::string base = hs(claims(R"("pad":"")"));
  std::string t = base;
  for (size_t pad = (kMaxTokenBytes - base.size()) * 3 / 4 - 4;; ++pad) {
    std::string next = hs(claims(R"("pad":")" + std::string(pad, 'x') + "\""));
    if (next.size() > kMaxTokenBytes) break;
    t = std::move(next);
  }
  ASSERT_GE(t.size(), kMaxTokenBytes - 1);
  EXPECT_EQ(accepts(hs_, t).sub, "alice");
  // One byte over: refused before it is even split.
  EXPECT_EQ(refuses(hs_, std::string(kMaxTokenBytes + 1, 'a')), Failure::kTooLarge);
  EXPECT_EQ(refuses(hs_, t + std::string(kMaxTokenBytes + 1 - t.size(), 'A')), Failure::kTooLarge);
  EXPECT_EQ(refuses(hs_, std::string(1 << 20, '.')), Failure::kTooLarge);
}

TEST_F(VerifierTest, ClaimsAreReadOnlyAfterTheSignature) {
  // Garbage payload, bad signature: the signature speaks first.
  const std::string garbage = with_part(hs(), 1, base64url_encode("not json"));
  EXPECT_EQ(refuses(hs_, garbage), Failure::kBadSignature);
  // Garbage payload, good signature: bad_claims.
  EXPECT_EQ(refuses(hs_, hs("not json")), Failure::kBadClaims);
  // Expired, bad signature: bad_signature.
  EXPECT_EQ(refuses(make({.hs256_secret = kOtherSecret}), hs(claims("", kNow - 3600))),
            Failure::kBadSignature);
}

TEST_F(VerifierTest, WrongClaimTypesAreBadClaims) {
  for (const std::string& payload : {
           std::string(R"({"exp":2000000000})"),
           std::string(R"({"sub":"alice"})"),
           std::string(R"({"sub":1,"exp":2000000000})"),
           std::string(R"({"sub":"alice","exp":"2000000000"})"),
           claims(R"("nbf":"0")"),
           claims(R"("iss":1)"),
           claims(R"("aud":1)"),
           claims(R"("rooms":"*")"),
           claims(R"("pub":[1])"),
           claims(R"("rooms":null)"),
           claims(R"("sub":"again")"),
           std::string(R"({"sub":"a\nb","exp":2000000000})"),
           std::string("[]"),
           std::string(R"({"sub":"alice","exp":1e400})"),
           claims(R"("x":)" + std::string(1000, '[') + std::string(1000, ']')),
       }) {
    EXPECT_EQ(refuses(hs_, hs(payload)), Failure::kBadClaims) << payload;
  }
}

TEST_F(VerifierTest, HugeExpNeverExpiresAndHugeNbfIsNeverValid) {
  EXPECT_EQ(accepts(hs_, hs(R"({"sub":"a","exp":1e300})")).exp, INT64_MAX);
  EXPECT_EQ(accepts(hs_, hs(R"({"sub":"a","exp":9223372036854775807})"), INT64_MAX - 1).sub, "a");
  EXPECT_EQ(refuses(hs_, hs(claims(R"("nbf":1e300)"))), Failure::kNotYetValid);
  EXPECT_EQ(refuses(hs_, hs(R"({"sub":"a","exp":-1e300})")), Failure::kExpired);
  EXPECT_EQ(refuses(hs_, hs(R"({"sub":"a","exp":-9223372036854775808})")), Failure::kExpired);
}

TEST_F(VerifierTest, ExpIsExclusiveAndWidenedBySkew) {
  const Verifier strict = make({.hs256_secret = kSecret, .clock_skew_s = 0});
  const std::string t = hs(claims("", kNow));
  EXPECT_EQ(accepts(strict, t, kNow - 1).sub, "alice");
  EXPECT_EQ(refuses(strict, t, kNow), Failure::kExpired);
  // Default skew 30 s: still good 29 s after exp, not 30.
  EXPECT_EQ(accepts(hs_, t, kNow + 29).sub, "alice");
  EXPECT_EQ(refuses(hs_, t, kNow + 30), Failure::kExpired);
  // A fractional exp rounds down: 100.9 expires at 100.
  EXPECT_EQ(refuses(strict, hs(R"({"sub":"a","exp":1700000000.9})"), kNow), Failure::kExpired);
}

TEST_F(VerifierTest, NbfIsInclusiveAndWidenedBySkew) {
  const Verifier strict = make({.hs256_secret = kSecret, .clock_skew_s = 0});
  const std::string t = hs(claims("\"nbf\":" + std::to_string(kNow)));
  EXPECT_EQ(accepts(strict, t, kNow).sub, "alice");
  EXPECT_EQ(refuses(strict, t, kNow - 1), Failure::kNotYetValid);
  EXPECT_EQ(accepts(hs_, t, kNow - 30).sub, "alice");
  EXPECT_EQ(refuses(hs_, t, kNow - 31), Failure::kNotYetValid);
  // A fractional nbf rounds up.
  EXPECT_EQ(refuses(strict, hs(claims(R"("nbf":1700000000.1)")), kNow), Failure::kNotYetValid);
  EXPECT_EQ(accepts(strict, hs(claims(R"("nbf":1700000000.1)")), kNow + 1).sub, "alice");
}

TEST_F(VerifierTest, IssuerMustEqualWhenConfigured) {
  const Verifier v = make({.hs256_secret = kSecret, .issuer = "https://idp"});
  EXPECT_EQ(accepts(v, hs(claims(R"("iss":"https://idp")"))).sub, "alice");
  EXPECT_EQ(refuses(v, hs(claims())), Failure::kWrongIssuer);
  EXPECT_EQ(refuses(v, hs(claims(R"("iss":"https://idp/")"))), Failure::kWrongIssuer);
  EXPECT_EQ(refuses(v, hs(claims(R"("iss":"HTTPS://IDP")"))), Failure::kWrongIssuer);
  // Not configured: any issuer will do.
  EXPECT_EQ(accepts(hs_, hs(claims(R"("iss":"anyone")"))).sub, "alice");
}

TEST_F(VerifierTest, AudienceMayBeAStringOrAnArrayContainingIt) {
  const Verifier v = make({.hs256_secret = kSecret, .audience = "chat"});
  EXPECT_EQ(accepts(v, hs(claims(R"("aud":"chat")"))).sub, "alice");
  EXPECT_EQ(accepts(v, hs(claims(R"("aud":["mail","chat"])"))).sub, "alice");
  EXPECT_EQ(refuses(v, hs(claims(R"("aud":"mail")"))), Failure::kWrongAudience);
  EXPECT_EQ(refuses(v, hs(claims(R"("aud":["mail"])"))), Failure::kWrongAudience);
  EXPECT_EQ(refuses(v, hs(claims(R"("aud":[])"))), Failure::kWrongAudience);
  EXPECT_EQ(refuses(v, hs(claims(R"("aud":"Chat")"))), Failure::kWrongAudience);
  EXPECT_EQ(refuses(v, hs(claims(R"("aud":"chat2")"))), Failure::kWrongAudience);
  EXPECT_EQ(refuses(v, hs(claims())), Failure::kWrongAudience);
}

TEST_F(VerifierTest, WithoutAConfiguredAudienceATokenForSomeAudienceIsRefused) {
  EXPECT_EQ(refuses(hs_, hs(claims(R"("aud":"chat")"))), Failure::kWrongAudience);
  EXPECT_EQ(refuses(hs_, hs(claims(R"("aud":[])"))), Failure::kWrongAudience);
  EXPECT_EQ(accepts(hs_, hs(claims())).sub, "alice");
}

TEST_F(VerifierTest, ChecksComeInTheDocumentedOrder) {
  const Verifier v = make({.hs256_secret = kSecret, .audience = "chat", .issuer = "idp"});
  // Expired and not yet valid and wrong issuer and audience: expired.
  EXPECT_EQ(refuses(v, hs(claims(R"("nbf":9999999999,"iss":"x","aud":"y")", kNow - 100))),
            Failure::kExpired);
  EXPECT_EQ(refuses(v, hs(claims(R"("nbf":9999999999,"iss":"x","aud":"y")"))),
            Failure::kNotYetValid);
  EXPECT_EQ(refuses(v, hs(claims(R"("iss":"x","aud":"y")"))), Failure::kWrongIssuer);
  EXPECT_EQ(refuses(v, hs(claims(R"("iss":"idp","aud":"y")"))), Failure::kWrongAudience);
  EXPECT_EQ(accepts(v, hs(claims(R"("iss":"idp","aud":"chat")"))).sub, "alice");
}

TEST_F(VerifierTest, IsSafeToShareBetweenThreads) {
  const Verifier v = make({.hs256_secret = kSecret, .public_key = p256().public_pem()});
  const Verifier r = make({.public_key = rsa2048().public_der()});
  const std::string tokens[] = {hs(), p256().token(claims()), rsa2048().token(claims())};
  std::atomic<int> good{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      for (int k = 0; k < 30; ++k) {
        good += v.verify(tokens[0], kNow).ok();
        good += v.verify(tokens[1], kNow).ok();
        good += r.verify(tokens[2], kNow).ok();
        good += !v.verify(tokens[2], kNow).ok();  // bad_alg
      }
      release_thread_caches();
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(good.load(), 4 * 30 * 4);
}

}  // namespace
}  // namespace ringchat::auth
