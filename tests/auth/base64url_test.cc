#include "ringchat/auth/base64url.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace ringchat::auth {
namespace {

std::string decoded(std::string_view in) {
  auto out = base64url_decode(in);
  EXPECT_TRUE(out.has_value()) << in;
  return out.value_or("<refused>");
}

void expect_refused(std::string_view in) {
  EXPECT_FALSE(base64url_decode(in).has_value()) << "accepted: " << in;
}

TEST(Base64url, DecodesRfc4648TestVectorsWithoutPadding) {
  // RFC 4648 §10, padding removed (RFC 7515 §2).
  EXPECT_EQ(decoded(""), "");
  EXPECT_EQ(decoded("Zg"), "f");
  EXPECT_EQ(decoded("Zm8"), "fo");
  EXPECT_EQ(decoded("Zm9v"), "foo");
  EXPECT_EQ(decoded("Zm9vYg"), "foob");
  EXPECT_EQ(decoded("Zm9vYmE"), "fooba");
  EXPECT_EQ(decoded("Zm9vYmFy"), "foobar");
}

TEST(Base64url, UsesTheUrlAlphabet) {
  // RFC 7515 Appendix C: {3, 236, 255, 224, 193} is "A-z_4ME".
  EXPECT_EQ(decoded("A-z_4ME"), std::string("\x03\xEC\xFF\xE0\xC1", 5));
  expect_refused("A+z/4ME");  // the standard alphabet's 62 and 63
}

TEST(Base64url, RefusesPadding) {
  expect_refused("Zg==");
  expect_refused("Zm8=");
  expect_refused("Zm9v=");
  expect_refused("=");
}

TEST(Base64url, RefusesCharactersOutsideTheAlphabet) {
  for (char c : std::string(" \t\r\n.=+/~\"\\\0\x80\xFF", 15)) {
    expect_refused(std::string("Zm9v") + c + "Zm9v");
  }
}

TEST(Base64url, RefusesALengthNoByteCanEndAt) {
  expect_refused("Z");
  expect_refused("Zm9vY");
  expect_refused("Zm9vYmFyZ");
}

TEST(Base64url, RefusesNonzeroUnusedBits) {
  // "Zg" is "f" (0x66): 011001 10|0000. "Zh" sets an unused bit.
  expect_refused("Zh");
  expect_refused("Zm9");  // "fo" is "Zm8"; the last char carries 2 unused bits
  EXPECT_EQ(decoded("Zm8"), "fo");
}

TEST(Base64url, EncodeRoundTripsEveryLength) {
  std::mt19937 rng(7515);
  for (size_t n = 0; n < 200; ++n) {
    std::string bytes(n, '\0');
    for (char& c : bytes) c = static_cast<char>(rng());
    const std::string text = base64url_encode(bytes);
    EXPECT_EQ(text.find_first_of("=+/"), std::string::npos);
    EXPECT_EQ(text.size(), (n * 4 + 2) / 3);
    EXPECT_EQ(decoded(text), bytes);
  }
}

}  // namespace
}  // namespace ringchat::auth
