// libFuzzer target: auth::Verifier (src/auth/verifier.h) and the room
// patterns its claims carry. The first byte picks what the rest is:
//   0  a whole token as a client would send it: verify() must not crash,
//      and whatever it accepts must carry a valid HS256 MAC of its first two
//      parts (nothing forged gets in) and claims within their limits;
//   1  "HEADER\0PAYLOAD" JSON, signed here with the server's secret, so the
//      fuzzer reaches the header and claim checks behind the signature;
//   2  "PATTERN\0ROOM": pattern_matches() must agree with a dynamic
//      program over the two strings.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "auth/jws_crypto.h"
#include "fuzz_check.h"
#include "ringchat/auth/base64url.h"
#include "ringchat/auth/claims.h"
#include "ringchat/auth/room_pattern.h"
#include "ringchat/auth/verifier.h"

namespace {

namespace auth = ringchat::auth;

constexpr std::string_view kSecret = "fuzz-secret-0123456789abcdefghijklmnop";
constexpr int64_t kNow = 1'800'000'000;

const auth::Verifier& verifier() {
  static const auth::Verifier v = *auth::Verifier::create({.hs256_secret = std::string(kSecret)});
  return v;
}

void check_claims(const auth::Claims& c) {
  FUZZ_CHECK(!c.sub.empty() && c.sub.size() <= auth::kMaxSubBytes);
  FUZZ_CHECK(c.rooms.size() <= auth::kMaxPatterns && c.pub.size() <= auth::kMaxPatterns);
  for (const std::string& p : c.rooms) FUZZ_CHECK(p.size() <= auth::kMaxPatternBytes);
  for (const std::string& p : c.pub) FUZZ_CHECK(p.size() <= auth::kMaxPatternBytes);
  FUZZ_CHECK(c.exp > kNow - 30);  // not expired (with the default skew)
}

void whole_token(std::string_view token) {
  auto r = verifier().verify(token, kNow);
  if (!r) return;
  check_claims(*r);
  // Accepted: so it is HEADER.PAYLOAD.SIG with SIG the MAC of the rest.
  const size_t dot2 = token.rfind('.');
  FUZZ_CHECK(dot2 != std::string_view::npos);
  const auto sig = auth::base64url_decode(token.substr(dot2 + 1));
  FUZZ_CHECK(sig.has_value());
  const auto mac = auth::hmac_sha256(kSecret, token.substr(0, dot2));
  FUZZ_CHECK(sig->size() == mac.size() && std::memcmp(sig->data(), mac.data(), mac.size()) == 0);
}

void signed_parts(std::string_view in) {
  const size_t nul = in.find('\0');
  if (nul == std::string_view::npos) return;
  const std::string input =
      auth::base64url_encode(in.substr(0, nul)) + "." + auth::base64url_encode(in.substr(nul + 1));
  const auto mac = auth::hmac_sha256(kSecret, input);
  const std::string token =
      input + "." + auth::base64url_encode({reinterpret_cast<const char*>(mac.data()), mac.size()});
  auto r = verifier().verify(token, kNow);
  if (r) check_claims(*r);
}

// The textbook dynamic program (O(|p| x |s|) time and space): a different
// algorithm from the matcher under test, and slow only in a way that does
// not matter for the small inputs it is given.
bool reference_match(std::string_view p, std::string_view s) {
  // m[j] after row i: whether p[0, i) matches s[0, j).
  std::vector<char> m(s.size() + 1, 0), next(s.size() + 1);
  m[0] = 1;
  for (const char pc : p) {
    next[0] = pc == '*' && m[0];
    for (size_t j = 1; j <= s.size(); ++j) {
      next[j] = pc == '*' ? (m[j] || next[j - 1]) : (m[j - 1] && s[j - 1] == pc);
    }
    m.swap(next);
  }
  return m[s.size()];
}

void patterns(std::string_view in) {
  const size_t nul = in.find('\0');
  if (nul == std::string_view::npos) return;
  const std::string_view pattern = in.substr(0, nul), room = in.substr(nul + 1);
  const bool got = auth::pattern_matches(pattern, room);
  if (pattern.size() <= 256 && room.size() <= 256)
    FUZZ_CHECK(got == reference_match(pattern, room));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 3) {
    case 0:
      whole_token(in);
      break;
    case 1:
      signed_parts(in);
      break;
    default:
      patterns(in);
      break;
  }
  return 0;
}
