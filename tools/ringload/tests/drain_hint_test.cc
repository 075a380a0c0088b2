#include "drain_hint.h"

#include <gtest/gtest.h>

#include <string>

#include "json_envelope.h"

namespace ringchat::ringload {
namespace {

constexpr uint64_t kMs = 1'000'000;

TEST(DrainHint, ReadsTheCloseReason) {
  EXPECT_EQ(parse_drain_reason("draining; retry_ms=0"), 0u);
  EXPECT_EQ(parse_drain_reason("draining; retry_ms=1500"), 1500u);
  EXPECT_EQ(parse_drain_reason("draining; retry_ms=3600000"), 3'600'000u);
}

TEST(DrainHint, TodaysShutdownReasonIsNoHint) {
  EXPECT_EQ(parse_drain_reason("server shutting down"), std::nullopt);
  EXPECT_EQ(parse_drain_reason(""), std::nullopt);
}

TEST(DrainHint, RejectsAnythingButTheExactFormat) {
  for (const char* bad : {"draining; retry_ms=", "draining; retry_ms=-5", "draining; retry_ms=+5",
                          "draining; retry_ms=12ms", "draining; retry_ms=1 ", "draining;retry_ms=5",
                          "Draining; retry_ms=5", "draining; retry_ms=0x10",
                          "draining; retry_ms=3600001", "draining; retry_ms=99999999999"}) {
    EXPECT_EQ(parse_drain_reason(bad), std::nullopt) << bad;
  }
}

TEST(DrainHint, EveryTruncationOfTheReasonIsRejectedOrAPrefixOfTheNumber) {
  const std::string full = "draining; retry_ms=2500";
  for (size_t n = 0; n < full.size(); ++n) {
    const auto h = parse_drain_reason(std::string_view(full).substr(0, n));
    if (n <= std::string_view("draining; retry_ms=").size()) {
      EXPECT_EQ(h, std::nullopt) << n;
    } else {
      EXPECT_EQ(h, std::stoul(full.substr(19, n - 19))) << n;
    }
  }
}

TEST(DrainHint, JsonEnvelopeAndSseDataCarryRetryMs) {
  EnvelopeParser p;
  auto e = p.parse(R"({"type":"draining","retry_ms":750})");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->type, EnvelopeType::kDraining);
  EXPECT_TRUE(e->has_retry_ms);
  EXPECT_EQ(e->retry_ms, 750u);
  auto d = p.parse(R"({"retry_ms":20})");  // an SSE `event: draining` data line
  ASSERT_TRUE(d);
  EXPECT_EQ(d->type, EnvelopeType::kOther);
  EXPECT_TRUE(d->has_retry_ms);
  EXPECT_EQ(d->retry_ms, 20u);
  EXPECT_FALSE(p.parse(R"({"type":"draining","retry_ms":"750"})"));  // not a number
  auto none = p.parse(R"({"type":"draining"})");
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->has_retry_ms);
}

TEST(DrainHint, HintWinsOverBackoffElseBackoff) {
  const Backoff b(100 * kMs, 5000 * kMs, 6);
  for (uint64_t r : {0ull, 1ull, 12345678901ull, ~0ull}) {
    EXPECT_EQ(reconnect_delay_ns(b, 3, 1234u, r), 1234 * kMs);
    EXPECT_EQ(reconnect_delay_ns(b, 0, 0u, r), 0u);
    EXPECT_EQ(reconnect_delay_ns(b, 3, std::nullopt, r), b.delay(3, r));
    EXPECT_LE(reconnect_delay_ns(b, 3, std::nullopt, r), 800 * kMs);
  }
}

}  // namespace
}  // namespace ringchat::ringload
