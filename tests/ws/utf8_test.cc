#include "ringchat/ws/utf8.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <string_view>

#include "ringchat/ws/frame_encoder.h"

namespace ringchat::ws {
namespace {

bool valid(std::string_view s) { return is_valid_utf8(as_bytes(s)); }

// The verdict of feeding `s` in two pieces split at `at`.
bool valid_split(std::string_view s, size_t at) {
  Utf8Validator v;
  return v.feed(as_bytes(s.substr(0, at))) && v.feed(as_bytes(s.substr(at))) && v.complete();
}

// Straightforward RFC 3629 decoder, the reference for the random test.
bool reference_valid(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto b = static_cast<uint8_t>(s[i]);
    size_t n = b < 0x80 ? 1 : b < 0xC0 ? 0 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : b < 0xF8 ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    uint32_t cp = n == 1 ? b : b & (0x7F >> n);
    for (size_t k = 1; k < n; ++k) {
      const auto c = static_cast<uint8_t>(s[i + k]);
      if ((c & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (c & 0x3F);
    }
    const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += n;
  }
  return true;
}

TEST(Utf8Validator, AcceptsBoundaryCodePoints) {
  for (const char* s : {"", "\x7F", "\xC2\x80", "\xDF\xBF", "\xE0\xA0\x80", "\xED\x9F\xBF",
                        "\xEE\x80\x80", "\xEF\xBF\xBF", "\xF0\x90\x80\x80", "\xF4\x8F\xBF\xBF",
                        "k\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80"}) {
    EXPECT_TRUE(valid(s)) << s;
  }
}

TEST(Utf8Validator, RejectsOverlongForms) {
  for (const char* s : {"\xC0\x80", "\xC1\xBF", "\xE0\x80\x80", "\xE0\x9F\xBF", "\xF0\x80\x80\x80",
                        "\xF0\x8F\xBF\xBF"}) {
    EXPECT_FALSE(valid(s)) << s;
  }
}

TEST(Utf8Validator, RejectsSurrogates) {
  EXPECT_FALSE(valid("\xED\xA0\x80"));
  EXPECT_FALSE(valid("\xED\xBF\xBF"));
  EXPECT_FALSE(valid("\xED\xA0\xBD\xED\xB2\xA9"));
}

TEST(Utf8Validator, RejectsCodePointsAboveMaximum) {
  EXPECT_FALSE(valid("\xF4\x90\x80\x80"));
  EXPECT_FALSE(valid("\xF5\x80\x80\x80"));
  EXPECT_FALSE(valid("\xFF"));
}

TEST(Utf8Validator, RejectsBadContinuations) {
  EXPECT_FALSE(valid("\x80"));
  EXPECT_FALSE(valid("a\xBF"));
  EXPECT_FALSE(valid("\xC3\x28"));
  EXPECT_FALSE(valid("\xE2\x82\x28"));
  EXPECT_FALSE(valid("\xF0\x9F\x98\x28"));
}

TEST(Utf8Validator, TruncatedSequenceIsIncompleteNotInvalid) {
  for (const char* s : {"\xC3", "\xE2\x82", "\xF0\x9F\x98"}) {
    Utf8Validator v;
    EXPECT_TRUE(v.feed(as_bytes(s))) << s;
    EXPECT_FALSE(v.complete()) << s;
    EXPECT_FALSE(valid(s)) << s;
  }
}

TEST(Utf8Validator, GivesTheSameVerdictSplitAtEveryOffset) {
  for (const char* s :
       {"h\xC3\xA9llo \xE2\x82\xAC \xF0\x9F\x98\x80!", "\xF4\x8F\xBF\xBF\xEF\xBF\xBF",
        "ab\xED\xA0\x80", "\xE0\x80\x80x", "\xF4\x90\x80\x80", "trail\xE2\x82"}) {
    const std::string_view text = s;
    for (size_t at = 0; at <= text.size(); ++at) {
      EXPECT_EQ(valid_split(text, at), valid(text)) << text << " @" << at;
    }
  }
}

TEST(Utf8Validator, FailsFastWhenLaterPieceBreaksSequence) {
  Utf8Validator v;
  EXPECT_TRUE(v.feed(as_bytes("ok \xE0")));
  EXPECT_FALSE(v.feed(as_bytes("\x80")));  // E0 80: overlong, known now
  EXPECT_TRUE(v.failed());
  EXPECT_FALSE(v.feed(as_bytes("abc"))) << "failure is sticky";
  v.reset();
  EXPECT_TRUE(v.feed(as_bytes("abc")));
  EXPECT_TRUE(v.complete());
}

TEST(Utf8Validator, FailsFastOnFirstImpossibleByte) {
  Utf8Validator v;
  EXPECT_TRUE(v.feed(as_bytes("\xF4")));
  EXPECT_FALSE(v.feed(as_bytes("\x90")));  // > U+10FFFF already
  Utf8Validator w;
  EXPECT_TRUE(w.feed(as_bytes("\xED")));
  EXPECT_FALSE(w.feed(as_bytes("\xA0")));  // surrogate already
}

TEST(Utf8Validator, FindsBadByteAtEveryPositionOfLongAscii) {
  // Exercises the 16-bytes-at-a-time path at every alignment.
  for (size_t len = 1; len < 70; ++len) {
    for (size_t at = 0; at < len; ++at) {
      std::string s(len, 'q');
      s[at] = '\x80';
      EXPECT_FALSE(valid(s)) << len << " @" << at;
    }
    EXPECT_TRUE(valid(std::string(len, 'q'))) << len;
  }
}

TEST(Utf8Validator, MatchesReferenceDecoderOnRandomBytes) {
  std::mt19937 rng(9001);
  const uint8_t interesting[] = {0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0,
                                 0xBF, 0xC0, 0xC1, 0xC2, 0xDF, 0xE0, 0xE1, 0xED,
                                 0xEE, 0xEF, 0xF0, 0xF1, 0xF4, 0xF5, 0xFF};
  for (int round = 0; round < 20000; ++round) {
    std::string s(rng() % 10, '\0');
    for (auto& c : s) c = static_cast<char>(interesting[rng() % 23]);
    ASSERT_EQ(valid(s), reference_valid(s)) << testing::PrintToString(s);
    const size_t at = s.empty() ? 0 : rng() % s.size();
    ASSERT_EQ(valid_split(s, at), reference_valid(s));
  }
}

}  // namespace
}  // namespace ringchat::ws
