#include "payload.h"

#include <gtest/gtest.h>

#include <random>

namespace ringchat::ringload {
namespace {

TEST(Payload, RoundTripsAndPadsToSize) {
  const PayloadFields f{123456789012, 4242, 99};
  std::string s;
  encode_payload(s, f, 100);
  EXPECT_EQ(s.size(), 100u);
  EXPECT_EQ(s.back(), 'x');
  EXPECT_EQ(decode_payload(s), f);
}

TEST(Payload, NeverShorterThanItsFields) {
  const PayloadFields f{UINT64_MAX, UINT64_MAX, UINT64_MAX};
  std::string s;
  encode_payload(s, f, 1);
  EXPECT_EQ(s.size(), encoded_fields_size(f));
  EXPECT_EQ(decode_payload(s), f);
}

TEST(Payload, TwentyByteEchoPayloadFits) {
  const PayloadFields f{3'600'000'000'000, 99, 5'000'000};  // 1 h, sender 99
  EXPECT_LE(encoded_fields_size(f), 20u);
}

TEST(Payload, RandomFieldsRoundTrip) {
  std::mt19937_64 rng(5);
  for (int i = 0; i < 10000; ++i) {
    const PayloadFields f{rng() >> (rng() % 64), rng() >> (rng() % 64), rng() >> (rng() % 64)};
    std::string s;
    encode_payload(s, f, rng() % 64);
    ASSERT_EQ(decode_payload(s), f);
  }
}

TEST(Payload, RejectsMalformed) {
  for (std::string_view bad :
       {"", "1.2", "1.2.3", "..;", "1..3;", "1.2.;", "!.2.3;", "1.2.3x", "zzzzzzzzzzzz.1.1;"}) {
    EXPECT_FALSE(decode_payload(bad).has_value()) << bad;
  }
}

TEST(Payload, RejectsEveryTruncation) {
  std::string s;
  encode_payload(s, PayloadFields{77777, 12, 3}, 0);
  for (size_t n = 0; n < s.size(); ++n) {
    EXPECT_FALSE(decode_payload(std::string_view(s).substr(0, n)).has_value()) << n;
  }
}

}  // namespace
}  // namespace ringchat::ringload

namespace ringchat::ringload {
namespace {

TEST(Payload, RandomBytesNeverDecodeToWrongFields) {
  std::mt19937_64 rng(11);
  const std::string alphabet = "0123456789AZaz-_.;x!";
  for (int i = 0; i < 20000; ++i) {
    std::string s(rng() % 32, ' ');
    for (char& c : s) c = alphabet[rng() % alphabet.size()];
    const auto f = decode_payload(s);
    if (!f) continue;
    std::string again;
    encode_payload(again, *f, 0);
    EXPECT_EQ(decode_payload(again), f) << s;
  }
}

}  // namespace
}  // namespace ringchat::ringload
