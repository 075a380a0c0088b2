#include "ringchat/auth/constant_time.h"

#include <gtest/gtest.h>

#include <string>

namespace ringchat::auth {
namespace {

TEST(ConstantTimeEqual, EqualBytesAreEqual) {
  EXPECT_TRUE(constant_time_equal("", ""));
  EXPECT_TRUE(constant_time_equal("secret", "secret"));
  EXPECT_TRUE(constant_time_equal(std::string("a\0b", 3), std::string("a\0b", 3)));
}

TEST(ConstantTimeEqual, ADifferenceAnywhereIsUnequal) {
  const std::string a(64, 'k');
  for (size_t i = 0; i < a.size(); ++i) {
    std::string b = a;
    b[i] ^= 1;
    EXPECT_FALSE(constant_time_equal(a, b)) << i;
  }
}

TEST(ConstantTimeEqual, DifferentLengthsAreUnequalEvenWhenOneIsAPrefix) {
  EXPECT_FALSE(constant_time_equal("abc", "abcd"));
  EXPECT_FALSE(constant_time_equal("abcd", "abc"));
  EXPECT_FALSE(constant_time_equal("", "a"));
  // The shorter one is not padded with something a longer one could match.
  EXPECT_FALSE(constant_time_equal("a", std::string("a\0", 2)));
  EXPECT_FALSE(constant_time_equal(std::string("a\0", 2), "a"));
}

TEST(ConstantTimeEqual, ComparesBytesNotCharacters) {
  EXPECT_FALSE(constant_time_equal("\x80", std::string(1, '\0')));
  EXPECT_TRUE(constant_time_equal("\xFF\xFE", "\xFF\xFE"));
}

}  // namespace
}  // namespace ringchat::auth
