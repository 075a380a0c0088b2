#include "ringchat/obs/metrics.h"

#include <gtest/gtest.h>

#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

namespace ringchat::obs {
namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  return lines;
}

// The value of `name{shard="s"}` in an exposition, or -1 if absent.
std::string sample(const std::string& text, const std::string& name, unsigned s) {
  const std::string key = name + "{shard=\"" + std::to_string(s) + "\"} ";
  for (const std::string& l : lines_of(text)) {
    if (l.rfind(key, 0) == 0) return l.substr(key.size());
  }
  return "absent";
}

TEST(ShardMetrics, StartsAtZero) {
  ShardMetrics m;
  for (size_t i = 0; i < static_cast<size_t>(Metric::kCount); ++i) {
    EXPECT_EQ(m.get(static_cast<Metric>(i)), 0u);
  }
}

TEST(ShardMetrics, AddSubSet) {
  ShardMetrics m;
  m.add(Metric::kHttpRequests);
  m.add(Metric::kHttpRequests, 4);
  EXPECT_EQ(m.get(Metric::kHttpRequests), 5u);
  m.add(Metric::kConnectionsOpen, 10);
  m.sub(Metric::kConnectionsOpen, 3);
  m.sub(Metric::kConnectionsOpen);
  EXPECT_EQ(m.get(Metric::kConnectionsOpen), 6u);
  m.set(Metric::kRoomsOwned, 42);
  EXPECT_EQ(m.get(Metric::kRoomsOwned), 42u);
  m.set(Metric::kRoomsOwned, 7);
  EXPECT_EQ(m.get(Metric::kRoomsOwned), 7u);
  EXPECT_EQ(m.get(Metric::kHttpErrors), 0u) << "metrics are independent";
}

TEST(Registry, TotalSumsEveryShard) {
  Registry r(3);
  r.shard(0).add(Metric::kPublishes, 1);
  r.shard(1).add(Metric::kPublishes, 10);
  r.shard(2).add(Metric::kPublishes, 100);
  EXPECT_EQ(r.total(Metric::kPublishes), 111u);
  EXPECT_EQ(r.total(Metric::kIoErrors), 0u);
}

TEST(Registry, ShardsAreSeparate) {
  Registry r(2);
  r.shard(1).add(Metric::kWsHandshakes);
  EXPECT_EQ(r.shard(0).get(Metric::kWsHandshakes), 0u);
  EXPECT_EQ(r.shard(1).get(Metric::kWsHandshakes), 1u);
}

TEST(Registry, PrometheusHasHelpTypeAndOneSeriesPerShard) {
  constexpr unsigned kShards = 3;
  Registry r(kShards);
  const std::string text = r.prometheus();
  const std::vector<std::string> lines = lines_of(text);
  const std::regex help(R"(# HELP (ringchat_[a-z0-9_]+) \S.*)");
  const std::regex type(R"(# TYPE (ringchat_[a-z0-9_]+) (counter|gauge))");
  const std::regex series(R"re((ringchat_[a-z0-9_]+)\{shard="(\d+)"(,kind="[a-z_]+")?\} (\d+))re");
  std::map<std::string, int> helps, types;
  std::map<std::string, std::vector<unsigned>> shards;
  std::smatch m;
  for (const std::string& l : lines) {
    if (std::regex_match(l, m, help)) {
      ++helps[m[1]];
    } else if (std::regex_match(l, m, type)) {
      ++types[m[1]];
      EXPECT_EQ(m[1].str().ends_with("_total"), m[2] == "counter") << l;
    } else if (std::regex_match(l, m, series)) {
      EXPECT_EQ(types[m[1]], 1) << "series before its TYPE line: " << l;
      shards[m[1].str() + m[3].str()].push_back(static_cast<unsigned>(std::stoul(m[2])));
    } else {
      ADD_FAILURE() << "malformed line: " << l;
    }
  }
  // One series per metric and shard; the 6 limit kinds share one name, the
  // 12 auth failure kinds another, the 2 TLS handshake kinds and the 3 TLS
  // failure kinds one each.
  EXPECT_EQ(shards.size(), static_cast<size_t>(Metric::kCount));
  EXPECT_EQ(helps.size(), static_cast<size_t>(Metric::kCount) - 5 - 11 - 1 - 2);
  EXPECT_EQ(types.size(), helps.size());
  for (const auto& [name, n] : helps) EXPECT_EQ(n, 1) << name;
  for (const auto& [name, n] : types) EXPECT_EQ(n, 1) << name;
  for (const auto& [series_key, of_shards] : shards) {
    EXPECT_EQ(of_shards, (std::vector<unsigned>{0, 1, 2})) << series_key;
  }
  EXPECT_EQ(shards.count(R"(ringchat_limit_hits_total,kind="pub_rate")"), 1u);
  ASSERT_FALSE(text.empty());
  EXPECT_EQ(text.back(), '\n');
}

TEST(Registry, PrometheusShowsEachShardsValue) {
  Registry r(2);
  r.shard(0).add(Metric::kConnectionsAccepted, 5);
  r.shard(1).add(Metric::kConnectionsAccepted, 9);
  r.shard(1).set(Metric::kConnectionsOpen, 3);
  const std::string text = r.prometheus();
  EXPECT_EQ(sample(text, "ringchat_connections_accepted_total", 0), "5");
  EXPECT_EQ(sample(text, "ringchat_connections_accepted_total", 1), "9");
  EXPECT_EQ(sample(text, "ringchat_connections_open", 0), "0");
  EXPECT_EQ(sample(text, "ringchat_connections_open", 1), "3");
}

TEST(Registry, PrometheusNamesMatchTheMetrics) {
  Registry r(1);
  r.shard(0).add(Metric::kIoErrors, 2);
  r.shard(0).add(Metric::kSlowConsumerCloses, 4);
  r.shard(0).set(Metric::kWebSocketsOpen, 6);
  const std::string text = r.prometheus();
  EXPECT_EQ(sample(text, "ringchat_io_errors_total", 0), "2");
  EXPECT_EQ(sample(text, "ringchat_slow_consumer_closes_total", 0), "4");
  EXPECT_EQ(sample(text, "ringchat_websockets_open", 0), "6");
}

// Counters are uint64: a value past INT64_MAX is still a positive number.
TEST(Registry, PrometheusPrintsValuesAsUnsigned) {
  Registry r(1);
  r.shard(0).set(Metric::kWsBytesOut, uint64_t{1} << 63);
  EXPECT_EQ(sample(r.prometheus(), "ringchat_ws_bytes_out_total", 0), "9223372036854775808");
}

TEST(Registry, ManyShardsEachGetASeries) {
  Registry r(64);
  r.shard(63).add(Metric::kMailboxIn, 8);
  EXPECT_EQ(sample(r.prometheus(), "ringchat_mailbox_in_total", 63), "8");
}

}  // namespace
}  // namespace ringchat::obs
