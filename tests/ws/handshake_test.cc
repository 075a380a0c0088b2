#include "ringchat/ws/handshake.h"

#include <gtest/gtest.h>

namespace ringchat::ws {
namespace {

TEST(Handshake, AcceptKeyMatchesRfc6455Example) {
  // RFC 6455 §1.3.
  EXPECT_EQ(accept_key("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST(Handshake, AcceptKeyDependsOnEveryKeyByte) {
  EXPECT_NE(accept_key("dGhlIHNhbXBsZSBub25jZQ=="), accept_key("dGhlIHNhbXBsZSBub25jZA=="));
  EXPECT_EQ(accept_key("AAAAAAAAAAAAAAAAAAAAAA==").size(), 28u);
}

TEST(Handshake, AcceptsWellFormedClientKeys) {
  EXPECT_TRUE(is_valid_client_key("dGhlIHNhbXBsZSBub25jZQ=="));
  EXPECT_TRUE(is_valid_client_key("AAAAAAAAAAAAAAAAAAAAAA=="));
  EXPECT_TRUE(is_valid_client_key("+/+/+/+/09azAZ09azAZ0w=="));
}

TEST(Handshake, RejectsClientKeysOfWrongLength) {
  EXPECT_FALSE(is_valid_client_key(""));
  EXPECT_FALSE(is_valid_client_key("dGhlIHNhbXBsZSBub25jZQ="));
  EXPECT_FALSE(is_valid_client_key("dGhlIHNhbXBsZSBub25jZQ==="));
  EXPECT_FALSE(is_valid_client_key("dGhlIHNhbXBsZSBub25jZQ"));
  EXPECT_FALSE(is_valid_client_key("dGhlIHNhbXBsZSBub25jZQdGhl"));
}

TEST(Handshake, RejectsClientKeysThatAreNotBase64) {
  EXPECT_FALSE(is_valid_client_key("dGhlIHNhbXBsZSBub25jZQAA"));  // no ==
  EXPECT_FALSE(is_valid_client_key("dGhlIHNhbXBsZSBub25jZ==="));  // 15 bytes
  EXPECT_FALSE(is_valid_client_key("dGhlIHNhbXBsZSBub25j-Q=="));  // url-safe
  EXPECT_FALSE(is_valid_client_key("dGhlIHNhbXBsZSBub25j_Q=="));
  EXPECT_FALSE(is_valid_client_key("dGhlIHNhbXBsZSBub25j Q=="));
  EXPECT_FALSE(is_valid_client_key("dGhlIHNhbXBsZSBub25j\xC3Q=="));
}

}  // namespace
}  // namespace ringchat::ws
