#include "ringchat/obs/log.h"

#include <gtest/gtest.h>
#include <time.h>

#include <optional>
#include <regex>
#include <string>
#include <thread>

namespace ringchat::obs {
namespace {

// Restores the process-wide level and this thread's shard after each test.
class LogTest : public testing::Test {
 protected:
  void TearDown() override {
    set_level(Level::kInfo);
    set_thread_shard(-1);
  }
  template <typename Fn>
  static std::string captured(Fn&& fn) {
    testing::internal::CaptureStderr();
    fn();
    return testing::internal::GetCapturedStderr();
  }
};

uint64_t coarse_second() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return static_cast<uint64_t>(ts.tv_sec);
}

TEST_F(LogTest, LevelThresholdFilters) {
  set_level(Level::kWarn);
  EXPECT_FALSE(enabled(Level::kDebug));
  EXPECT_FALSE(enabled(Level::kInfo));
  EXPECT_TRUE(enabled(Level::kWarn));
  EXPECT_TRUE(enabled(Level::kError));
  set_level(Level::kDebug);
  EXPECT_TRUE(enabled(Level::kDebug));
}

TEST_F(LogTest, LineHasTimestampLevelAndMessage) {
  const std::string out = captured([] { logf(Level::kWarn, "hello %d", 42); });
  EXPECT_TRUE(std::regex_match(
      out, std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z WARN hello 42\n)")))
      << out;
}

TEST_F(LogTest, ShardThreadsNameTheirShard) {
  set_thread_shard(3);
  const std::string out = captured([] { logf(Level::kError, "boom"); });
  EXPECT_NE(out.find(" ERROR [shard 3] boom\n"), std::string::npos) << out;
}

TEST_F(LogTest, ShardIdIsPerThread) {
  set_thread_shard(5);
  const std::string out = captured([] {
    std::thread t([] { logf(Level::kInfo, "other"); });
    t.join();
  });
  EXPECT_NE(out.find(" INFO other\n"), std::string::npos) << out;
  EXPECT_EQ(out.find("[shard"), std::string::npos) << out;
}

TEST_F(LogTest, MacrosBelowTheThresholdPrintNothing) {
  set_level(Level::kError);
  const std::string out = captured([] {
    RC_INFO("quiet %d", 1);
    RC_WARN("quiet %d", 2);
  });
  EXPECT_EQ(out, "");
  EXPECT_NE(captured([] { RC_ERROR("loud"); }).find("ERROR loud"), std::string::npos);
}

TEST_F(LogTest, LongMessagesAreTruncatedToOneLine) {
  const std::string big(5000, 'x');
  const std::string out = captured([&] { logf(Level::kInfo, "%s", big.c_str()); });
  EXPECT_EQ(out.find('\n'), out.size() - 1);
  EXPECT_NE(out.find(std::string(1023, 'x') + "\n"), std::string::npos);
  EXPECT_EQ(out.find(std::string(1024, 'x')), std::string::npos);
}

TEST_F(LogTest, WarnLimitedPrintsAtMostFiveASecond) {
  uint64_t first = 0;
  uint64_t last = 0;
  const std::string out = captured([&] {
    first = coarse_second();
    for (int i = 0; i < 200; ++i) RC_WARN_LIMITED("flood %d", i);
    last = coarse_second();
  });
  size_t lines = 0;
  for (char c : out) lines += c == '\n';
  EXPECT_GE(lines, 5u);
  EXPECT_LE(lines, 5u * (last - first + 1));
}

// Runs `fn` within one coarse-clock second, retrying if a second boundary
// fell inside; returns false if that never happened (it always should).
template <typename Fn>
bool within_one_second(Fn&& fn) {
  for (int attempt = 0; attempt < 5; ++attempt) {
    const uint64_t before = coarse_second();
    fn();
    if (coarse_second() == before) return true;
  }
  return false;
}

TEST(RateLimit, AllowsAtMostNPerSecond) {
  size_t allowed = 0;
  ASSERT_TRUE(within_one_second([&] {
    RateLimit rl(3);
    allowed = 0;
    uint64_t sup = 0;
    for (int i = 0; i < 100; ++i) allowed += rl.allow(&sup);
  }));
  EXPECT_EQ(allowed, 3u);
}

TEST(RateLimit, FirstAllowedReportsNothingSuppressed) {
  RateLimit rl(2);
  uint64_t sup = 99;
  ASSERT_TRUE(rl.allow(&sup));
  EXPECT_EQ(sup, 0u);
}

TEST(RateLimit, NextWindowReportsHowManyWereDropped) {
  std::optional<RateLimit> rl;
  uint64_t sup = 0;
  uint64_t start = 0;
  int dropped = 0;
  ASSERT_TRUE(within_one_second([&] {
    start = coarse_second();
    rl.emplace(2);
    dropped = 0;
    for (int i = 0; i < 10; ++i) dropped += !rl->allow(&sup);
  }));
  EXPECT_EQ(dropped, 8);
  // Wait (bounded) for the coarse clock to reach the next second.
  for (int i = 0; i < 100000000 && coarse_second() == start; ++i) std::this_thread::yield();
  ASSERT_NE(coarse_second(), start) << "clock did not advance";
  ASSERT_TRUE(rl->allow(&sup));
  EXPECT_EQ(sup, 8u);
}

}  // namespace
}  // namespace ringchat::obs
