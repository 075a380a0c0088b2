#include "ringchat/obs/log.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace ringchat::obs {
namespace {

// Restores the process-wide level and this thread's shard after each test.
class LogTest : public testing::Test {
 protected:
  void TearDown() override {
    set_level(Level::kInfo);
    set_format(Format::kText);
    set_thread_shard(-1);
    set_access_fd(-1);
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

// The fields of one line, after its timestamp (and level and shard).
std::string fields_of(const std::string& line, std::string_view after) {
  const size_t at = line.find(after);
  if (at == std::string::npos) return std::string("<no ") + std::string(after) + "> " + line;
  return line.substr(at + after.size());
}

TEST_F(LogTest, TextLinesKeepTheirFormAndAppendFields) {
  set_thread_shard(2);
  const std::string out = captured([] { RC_INFO("up %d", 1).kv("event", "start").kv("n", 7); });
  EXPECT_TRUE(std::regex_match(
      out,
      std::regex(
          R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z INFO \[shard 2\] up 1 event=start n=7\n)")))
      << out;
}

TEST_F(LogTest, TextMessagesCannotStartALine) {
  const std::string out = captured([] { RC_WARN("path %s", "/a\nINFO forged"); });
  EXPECT_EQ(out.find('\n'), out.size() - 1) << out;
  EXPECT_NE(out.find("path /a\\x0aINFO forged\n"), std::string::npos) << out;
}

TEST_F(LogTest, LogfmtHasTsLevelShardMsgThenFields) {
  set_format(Format::kLogfmt);
  set_thread_shard(1);
  const std::string out = captured([] { RC_ERROR("boom").kv("event", "x"); });
  EXPECT_TRUE(std::regex_match(
      out,
      std::regex(
          R"(ts=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z level=error shard=1 msg=boom event=x\n)")))
      << out;
}

TEST_F(LogTest, LogfmtLeavesShardOutOffShardThreads) {
  set_format(Format::kLogfmt);
  const std::string out = captured([] { RC_INFO("main"); });
  EXPECT_NE(out.find(" level=info msg=main\n"), std::string::npos) << out;
  EXPECT_EQ(out.find("shard="), std::string::npos) << out;
}

TEST_F(LogTest, LogfmtQuotesWhatWouldSplitAValue) {
  set_format(Format::kLogfmt);
  const std::string out = captured([] {
    RC_INFO("a b")
        .kv("plain", "abc/def:1")
        .kv("space", "two words")
        .kv("eq", "k=v")
        .kv("quote", "say \"hi\"")
        .kv("nl", "line1\nline2\r\t")
        .kv("bs", "a\\b")
        .kv("empty", "")
        .kv("ctl", std::string_view("\x01\x7f", 2))
        .kv("utf8", "h\xc3\xa9")
        .kv("bad", "\xff");
  });
  EXPECT_EQ(fields_of(out, " level=info "),
            "msg=\"a b\" plain=abc/def:1 space=\"two words\" eq=\"k=v\" quote=\"say \\\"hi\\\"\" "
            "nl=\"line1\\nline2\\r\\t\" bs=\"a\\\\b\" empty=\"\" ctl=\"\\x01\\x7f\" utf8=h\xc3\xa9 "
            "bad=\"\\xff\"\n");
}

TEST_F(LogTest, LogfmtKeysCannotBreakTheSyntax) {
  set_format(Format::kLogfmt);
  const std::string out = captured([] { RC_INFO("m").kv("a b=\"c", 1); });
  EXPECT_NE(out.find(" a_b__c=1\n"), std::string::npos) << out;
}

TEST_F(LogTest, JsonIsOneObjectWithTheSameKeys) {
  set_format(Format::kJson);
  set_thread_shard(0);
  const std::string out = captured([] {
    RC_WARN("hi %s", "there")
        .kv("event", "listen")
        .kv("port", uint16_t{8080})
        .kv("neg", -3)
        .kv("on", true)
        .kv("ms", 1.5)
        .kv("s", std::string("x"));
  });
  EXPECT_TRUE(std::regex_match(
      out, std::regex(R"(\{"ts":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z","level":"warn","shard":0,)"
                      R"("msg":"hi there","event":"listen","port":8080,"neg":-3,"on":true,)"
                      R"("ms":1\.500,"s":"x"\}\n)")))
      << out;
}

TEST_F(LogTest, JsonEscapesStringsAndKeys) {
  set_format(Format::kJson);
  const std::string out = captured([] {
    RC_INFO("q\"\\\n")
        .kv("k\"", std::string_view("\x01\t\r\x7f", 4))
        .kv("bad", "a\xc3(\xed\xa0\x80");
  });
  EXPECT_EQ(fields_of(out, R"("level":"info",)"),
            R"("msg":"q\"\\\n","k\"":"\u0001\t\r\u007f","bad":"a\ufffd(\ufffd\ufffd\ufffd"})"
            "\n");
}

int g_evaluated = 0;
int evaluate() { return ++g_evaluated; }

TEST_F(LogTest, FieldsBelowTheThresholdAreNotEvaluated) {
  set_level(Level::kWarn);
  g_evaluated = 0;
  const std::string out = captured([] {
    RC_INFO("quiet %d", evaluate()).kv("n", evaluate());
    RC_DEBUG("quiet").kv("n", evaluate());
  });
  EXPECT_EQ(out, "");
  EXPECT_EQ(g_evaluated, 0);
  EXPECT_NE(captured([] { RC_WARN("loud").kv("n", evaluate()); }).find("loud n=1"),
            std::string::npos);
}

TEST_F(LogTest, ANamedLineWritesWhenItGoes) {
  set_format(Format::kLogfmt);
  const std::string out = captured([] {
    Line line(Level::kInfo, "config");
    for (int i = 0; i < 3; ++i) line.kv(std::string("k") + std::to_string(i), i);
  });
  EXPECT_NE(out.find("msg=config k0=0 k1=1 k2=2\n"), std::string::npos) << out;
}

TEST_F(LogTest, AFieldThatLogsDoesNotCorruptTheLine) {
  set_format(Format::kJson);
  auto inner = [] {
    RC_INFO("inner").kv("depth", 2);
    return 1;
  };
  const std::string out = captured([&] { RC_INFO("outer").kv("x", inner()).kv("y", 2); });
  EXPECT_NE(out.find(R"("msg":"inner","depth":2}
)"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find(R"("msg":"outer","x":1,"y":2}
)"),
            std::string::npos)
      << out;
}

TEST_F(LogTest, AnOverlongLineKeepsItsFirstFieldsAndSaysSo) {
  set_format(Format::kJson);
  const std::string big(1000, 'v');
  const std::string out = captured([&] {
    Line line(Level::kInfo, "many");
    for (int i = 0; i < 40; ++i) line.kv(std::string("f") + std::to_string(i), big);
  });
  EXPECT_EQ(out.find('\n'), out.size() - 1);
  EXPECT_LE(out.size(), Line::kMaxLine);
  EXPECT_NE(out.find(R"("f0":")"), std::string::npos);
  EXPECT_EQ(out.find(R"("f39":")"), std::string::npos);
  EXPECT_TRUE(out.ends_with("\",\"truncated\":true}\n")) << out.substr(out.size() - 40);
}

TEST_F(LogTest, ErrNamesTheErrnoText) {
  set_format(Format::kLogfmt);
  const std::string out = captured([] { RC_ERROR("open failed").err(ENOENT); });
  EXPECT_NE(out.find(" error=\"No such file or directory\"\n"), std::string::npos) << out;
}

TEST_F(LogTest, WarnLimitedTakesFields) {
  const std::string out = captured([] { RC_WARN_LIMITED("once").kv("event", "e"); });
  EXPECT_NE(out.find("WARN once event=e\n"), std::string::npos) << out;
}

TEST_F(LogTest, FormatAndLevelNames) {
  EXPECT_EQ(format_named("json"), Format::kJson);
  EXPECT_EQ(format_named("logfmt"), Format::kLogfmt);
  EXPECT_EQ(format_named("text"), Format::kText);
  EXPECT_EQ(format_named("xml"), std::nullopt);
  EXPECT_EQ(level_named("warn"), Level::kWarn);
  EXPECT_EQ(level_named("loud"), std::nullopt);
}

// The access log: its own fd, no level, nothing at all while off.
class AccessLogTest : public LogTest {
 protected:
  void SetUp() override {
    char path[] = "/tmp/ringchat-access-XXXXXX";
    fd_ = mkstemp(path);
    ASSERT_GE(fd_, 0);
    unlink(path);
    ASSERT_EQ(fcntl(fd_, F_SETFL, O_APPEND), 0);  // as main opens --access-log
  }
  void TearDown() override {
    LogTest::TearDown();
    close(fd_);
  }
  std::string written() const {
    std::string out(4 << 20, '\0');
    const ssize_t n = pread(fd_, out.data(), out.size(), 0);
    out.resize(n > 0 ? size_t(n) : 0);
    return out;
  }
  int fd_ = -1;
};

TEST_F(AccessLogTest, OffWritesNothingAndEvaluatesNothing) {
  EXPECT_FALSE(access_log_on());
  g_evaluated = 0;
  const std::string err = captured([] { RC_ACCESS().kv("n", evaluate()); });
  EXPECT_EQ(err, "");
  EXPECT_EQ(g_evaluated, 0);
  EXPECT_EQ(written(), "");
}

TEST_F(AccessLogTest, LinesGoToItsFdInTheLogFormat) {
  set_access_fd(fd_);
  set_format(Format::kJson);
  set_thread_shard(1);
  const std::string err = captured([] { RC_ACCESS().kv("status", 200).kv("path", "/healthz"); });
  EXPECT_EQ(err, "");
  const std::string out = written();
  EXPECT_TRUE(std::regex_match(
      out, std::regex(R"(\{"ts":"[^"]+","shard":1,"status":200,"path":"/healthz"\}\n)")))
      << out;
  set_format(Format::kText);
  RC_ACCESS().kv("status", 404);
  EXPECT_NE(written().find(" ACCESS [shard 1] status=404\n"), std::string::npos) << written();
}

TEST_F(AccessLogTest, ThreadsNeverInterleaveLines) {
  set_access_fd(fd_);
  set_format(Format::kLogfmt);
  constexpr int kThreads = 4, kLines = 500;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([t] {
      const std::string v(200, char('a' + t));
      for (int i = 0; i < kLines; ++i) RC_ACCESS().kv("t", t).kv("v", v);
    });
  }
  for (auto& th : threads) th.join();
  std::istringstream in(written());
  int lines = 0;
  for (std::string line; std::getline(in, line); ++lines) {
    ASSERT_TRUE(std::regex_match(line, std::regex(R"(ts=\S+ t=(\d) v=([a-d])\2{199})"))) << line;
  }
  EXPECT_EQ(lines, kThreads * kLines);
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
