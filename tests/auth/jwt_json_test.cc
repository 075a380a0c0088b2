#include "jwt_json.h"

#include <gtest/gtest.h>

#include <string>

#include "ringchat/auth/room_pattern.h"

namespace ringchat::auth {
namespace {

// A payload with a valid sub and exp, then `extra` members.
std::string payload(std::string_view extra = "") {
  std::string p = R"({"sub":"alice","exp":2000000000)";
  if (!extra.empty()) p += "," + std::string(extra);
  return p + "}";
}

ClaimSet claims_ok(std::string_view json) {
  auto r = read_claims(json);
  EXPECT_TRUE(r.ok()) << json << " -> " << (r.ok() ? "" : r.error());
  return r.ok() ? std::move(*r) : ClaimSet{};
}

// `json` is refused, for a reason that starts with `claim`.
void expect_claims_refused(std::string_view json, std::string_view claim) {
  auto r = read_claims(json);
  ASSERT_FALSE(r.ok()) << "accepted: " << json;
  EXPECT_EQ(r.error().rfind(claim, 0), 0u) << json << " -> " << r.error();
}

std::string alg_of(std::string_view header) {
  auto r = read_jose_header(header);
  EXPECT_TRUE(r.ok()) << header << " -> " << (r.ok() ? "" : r.error());
  return r.ok() ? *r : "";
}

void expect_header_refused(std::string_view header, std::string_view why) {
  auto r = read_jose_header(header);
  ASSERT_FALSE(r.ok()) << "accepted: " << header;
  EXPECT_EQ(r.error().rfind(why, 0), 0u) << header << " -> " << r.error();
}

std::string nested(size_t depth) { return std::string(depth, '[') + "1" + std::string(depth, ']'); }

TEST(JoseHeader, ReadsAlgAndAcceptsTypJwtInAnyCase) {
  EXPECT_EQ(alg_of(R"({"alg":"HS256"})"), "HS256");
  EXPECT_EQ(alg_of(R"({"typ":"JWT","alg":"RS256"})"), "RS256");
  EXPECT_EQ(alg_of(R"({"alg":"ES256","typ":"jwt"})"), "ES256");
  EXPECT_EQ(alg_of("{\"typ\":\"JWT\",\r\n \"alg\":\"HS256\"}"), "HS256");
  EXPECT_EQ(alg_of(R"({"alg":"none"})"), "none");  // refused later, as bad_alg
  EXPECT_EQ(alg_of(R"({"alg":"HS256","kid":"k1","jku":"https://evil"})"), "HS256");
}

TEST(JoseHeader, RefusesWhatIsNotAnObjectWithAStringAlg) {
  expect_header_refused("", "header");
  expect_header_refused("[]", "header");
  expect_header_refused(R"("HS256")", "header");
  expect_header_refused(R"({"alg":"HS256")", "header");
  expect_header_refused(R"({"alg":"HS256"} x)", "header");
  expect_header_refused(R"({})", "alg");
  expect_header_refused(R"({"alg":null})", "alg");
  expect_header_refused(R"({"alg":256})", "alg");
  expect_header_refused(R"({"alg":["HS256"]})", "alg");
}

TEST(JoseHeader, RefusesOtherTyp) {
  expect_header_refused(R"({"alg":"HS256","typ":"JWE"})", "typ");
  expect_header_refused(R"({"alg":"HS256","typ":"at+jwt"})", "typ");
  expect_header_refused(R"({"alg":"HS256","typ":1})", "typ");
  expect_header_refused(R"({"alg":"HS256","typ":""})", "typ");
}

TEST(JoseHeader, RefusesCrit) {
  expect_header_refused(R"({"alg":"HS256","crit":["b64"],"b64":false})", "crit");
  expect_header_refused(R"({"alg":"HS256","crit":[]})", "crit");
}

TEST(JoseHeader, RefusesRepeatedNames) {
  expect_header_refused(R"({"alg":"HS256","alg":"none"})", "alg");
  expect_header_refused(R"({"alg":"none","alg":"HS256"})", "alg");
  expect_header_refused(R"({"alg":"HS256","typ":"JWT","typ":"JWT"})", "typ");
  // Escapes are compared unescaped: "\u0061lg" is "alg".
  expect_header_refused(R"({"alg":"HS256","\u0061lg":"none"})", "alg");
}

TEST(JoseHeader, RefusesDeepNesting) {
  EXPECT_EQ(alg_of(R"({"alg":"HS256","x":)" + nested(kMaxJsonDepth - 1) + "}"), "HS256");
  expect_header_refused(R"({"alg":"HS256","x":)" + nested(kMaxJsonDepth) + "}", "header");
  expect_header_refused(R"({"alg":"HS256","x":)" + nested(5000) + "}", "header");
}

TEST(ClaimsJson, ReadsEveryClaim) {
  const ClaimSet s = claims_ok(
      R"({"sub":"alice","exp":1700000000,"nbf":1600000000,"iat":1600000000,"iss":"idp",)"
      R"("aud":["chat","other"],"rooms":["lobby","team-*"],"pub":["lobby"],"custom":{"a":[1]}})");
  EXPECT_EQ(s.claims.sub, "alice");
  EXPECT_EQ(s.claims.exp, 1700000000);
  EXPECT_EQ(s.claims.nbf, 1600000000);
  EXPECT_EQ(s.claims.rooms, (std::vector<std::string>{"lobby", "team-*"}));
  EXPECT_EQ(s.claims.pub, (std::vector<std::string>{"lobby"}));
  EXPECT_EQ(s.iss, "idp");
  EXPECT_EQ(s.aud, (std::vector<std::string>{"chat", "other"}));
}

TEST(ClaimsJson, OptionalClaimsMayBeAbsent) {
  const ClaimSet s = claims_ok(payload());
  EXPECT_FALSE(s.claims.nbf);
  EXPECT_TRUE(s.claims.rooms.empty());
  EXPECT_TRUE(s.claims.pub.empty());
  EXPECT_FALSE(s.iss);
  EXPECT_FALSE(s.aud);
}

TEST(ClaimsJson, AudMayBeOneString) {
  EXPECT_EQ(claims_ok(payload(R"("aud":"chat")")).aud, (std::vector<std::string>{"chat"}));
  EXPECT_EQ(claims_ok(payload(R"("aud":[])")).aud, (std::vector<std::string>{}));
}

TEST(ClaimsJson, SubAndExpAreRequired) {
  expect_claims_refused(R"({"exp":2000000000})", "sub");
  expect_claims_refused(R"({"sub":"alice"})", "exp");
}

TEST(ClaimsJson, RefusesAPayloadThatIsNotAnObject) {
  for (const char* json :
       {"", "[]", "null", "\"x\"", "{", R"({"sub":"a"}})", "{\"sub\":\"\xff\"}"}) {
    expect_claims_refused(json, "payload");
  }
}

TEST(ClaimsJson, RefusesWrongTypesForEveryClaim) {
  for (const char* v : {"1", "null", "true", "[]", "{}", R"(["a"])"}) {
    expect_claims_refused(R"({"exp":2000000000,"sub":)" + std::string(v) + "}", "sub");
  }
  for (const char* v : {R"("2000000000")", "null", "true", "[]", "{}"}) {
    expect_claims_refused(R"({"sub":"a","exp":)" + std::string(v) + "}", "exp");
    expect_claims_refused(payload(R"("nbf":)" + std::string(v)), "nbf");
  }
  for (const char* v : {"1", "null", "true", "[]", "{}"}) {
    expect_claims_refused(payload(R"("iss":)" + std::string(v)), "iss");
  }
  for (const char* v : {"1", "null", "true", "{}", "[1]", R"(["a",null])", R"([["a"]])"}) {
    expect_claims_refused(payload(R"("aud":)" + std::string(v)), "aud");
  }
  for (const char* claim : {"rooms", "pub"}) {
    for (const char* v : {"1", "null", "true", "{}", R"("lobby")", "[1]", R"(["a",null])",
                          R"([["a"]])", R"([{"a":1}])"}) {
      std::string member = std::string(1, '"') + claim;  // not "\"" + ...: GCC 12 -Wrestrict
      member += "\":";
      member += v;
      expect_claims_refused(payload(member), claim);
    }
  }
}

TEST(ClaimsJson, IgnoresIatAndUnknownClaimsWhateverTheirType) {
  claims_ok(payload(R"("iat":"yesterday","x":null,"y":[{"z":[true]}])"));
}

TEST(ClaimsJson, RefusesARepeatedClaim) {
  for (const char* extra :
       {R"("sub":"mallory")", R"("exp":9999999999)", R"("nbf":1,"nbf":2)", R"("iss":"a","iss":"b")",
        R"("aud":"a","aud":"b")", R"("rooms":[],"rooms":["*"])", R"("pub":[],"pub":["*"])",
        R"("\u0073ub":"mallory")"}) {
    auto r = read_claims(payload(extra));
    EXPECT_FALSE(r.ok()) << extra;
    if (!r.ok()) {
      EXPECT_NE(r.error().find("twice"), std::string::npos) << r.error();
    }
  }
}

TEST(ClaimsJson, SubIsOneTo255PrintableBytes) {
  EXPECT_EQ(claims_ok(R"({"exp":1,"sub":"Jos\u00e9 \u6771\u4eac \ud83d\ude00"})").claims.sub,
            "Jos\xC3\xA9 \xE6\x9D\xB1\xE4\xBA\xAC \xF0\x9F\x98\x80");
  EXPECT_EQ(claims_ok(R"({"exp":1,"sub":")" + std::string(255, 'x') + "\"}").claims.sub.size(),
            255u);
  expect_claims_refused(R"({"exp":1,"sub":")" + std::string(256, 'x') + "\"}", "sub");
  expect_claims_refused(R"({"exp":1,"sub":""})", "sub");
  for (const char* bad : {"\\n", "\\u0000", "\\t", "\\u001b[31m", "\\u007f", "\\u0085", "\\u009b",
                          "\\u2028", "\\u2029", "\\u202e", "\\u2066", "\\u200f", "\\u061c"}) {
    expect_claims_refused(R"({"exp":1,"sub":"a)" + std::string(bad) + "b\"}", "sub");
  }
}

TEST(ClaimsJson, IsPrintableSubRefusesCutSequences) {
  EXPECT_TRUE(is_printable_sub("abc"));
  EXPECT_FALSE(is_printable_sub("\xE6\x9D"));
  EXPECT_FALSE(is_printable_sub(""));
}

TEST(ClaimsJson, NumericDatesMayBeFractionalAndRoundTowardsShorterValidity) {
  const ClaimSet s = claims_ok(R"({"sub":"a","exp":1700000000.9,"nbf":1600000000.1})");
  EXPECT_EQ(s.claims.exp, 1700000000);  // down
  EXPECT_EQ(s.claims.nbf, 1600000001);  // up
  EXPECT_EQ(claims_ok(R"({"sub":"a","exp":1.7e9})").claims.exp, 1700000000);
  EXPECT_EQ(claims_ok(R"({"sub":"a","exp":-1.5})").claims.exp, -2);
}

TEST(ClaimsJson, HugeNumbersSaturateOrAreRefused) {
  EXPECT_EQ(claims_ok(R"({"sub":"a","exp":1e300})").claims.exp, INT64_MAX);
  EXPECT_EQ(claims_ok(R"({"sub":"a","exp":-1e300})").claims.exp, INT64_MIN);
  EXPECT_EQ(claims_ok(R"({"sub":"a","exp":18446744073709551615})").claims.exp, INT64_MAX);
  EXPECT_EQ(claims_ok(R"({"sub":"a","exp":9223372036854775807})").claims.exp, INT64_MAX);
  EXPECT_EQ(claims_ok(R"({"sub":"a","exp":-9223372036854775808})").claims.exp, INT64_MIN);
  EXPECT_EQ(claims_ok(R"({"sub":"a","exp":9223372036854775808.0})").claims.exp, INT64_MAX);
  EXPECT_EQ(claims_ok(R"({"sub":"a","exp":1,"nbf":1e300})").claims.nbf, INT64_MAX);
  // Beyond 64 bits, or beyond a double: not JSON simdjson will represent.
  expect_claims_refused(R"({"sub":"a","exp":184467440737095516160})", "payload");
  expect_claims_refused(R"({"sub":"a","exp":1e400})", "payload");
  expect_claims_refused(R"({"sub":"a","exp":NaN})", "payload");
}

TEST(ClaimsJson, PatternListsHaveLimits) {
  std::string list = "[";
  for (size_t i = 0; i < kMaxPatterns; ++i) list += (i ? ",\"r" : "\"r") + std::to_string(i) + "\"";
  EXPECT_EQ(claims_ok(payload(R"("rooms":)" + list + "]")).claims.rooms.size(), kMaxPatterns);
  expect_claims_refused(payload(R"("rooms":)" + list + R"(,"one-more"])"), "rooms");
  expect_claims_refused(payload(R"("pub":)" + list + R"(,"one-more"])"), "pub");
  expect_claims_refused(payload(R"("aud":)" + list + R"(,"one-more"])"), "aud");
  const std::string longest(kMaxPatternBytes, '*');
  EXPECT_EQ(claims_ok(payload(R"("pub":[")" + longest + "\"]")).claims.pub[0], longest);
  expect_claims_refused(payload(R"("pub":[")" + longest + "x\"]"), "pub");
}

TEST(ClaimsJson, RefusesDeepNesting) {
  claims_ok(payload(R"("x":)" + nested(kMaxJsonDepth - 1)));
  expect_claims_refused(payload(R"("x":)" + nested(kMaxJsonDepth)), "payload");
  expect_claims_refused(payload(R"("x":)" + nested(3000)), "payload");
}

}  // namespace
}  // namespace ringchat::auth
