#include "ringchat/obs/metrics.h"

#include <gtest/gtest.h>

#include <cstring>
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

// The value of `name{shard="s"<labels>}` in an exposition, or "absent".
std::string sample(const std::string& text, const std::string& name, unsigned s,
                   const std::string& labels = "") {
  const std::string key = name + "{shard=\"" + std::to_string(s) + "\"" + labels + "} ";
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
  const std::regex type(R"(# TYPE (ringchat_[a-z0-9_]+) (counter|gauge|histogram))");
  const std::regex series(
      R"re((ringchat_[a-z0-9_]+)\{shard="(\d+)"((?:,[a-z]+="[^"]*")*)\} ([0-9.]+))re");
  std::map<std::string, int> helps;
  std::map<std::string, std::string> types;
  std::map<std::string, std::vector<unsigned>> shards;
  std::smatch m;
  for (const std::string& l : lines) {
    if (std::regex_match(l, m, help)) {
      ++helps[m[1]];
    } else if (std::regex_match(l, m, type)) {
      EXPECT_TRUE(types.emplace(m[1], m[2]).second) << "second TYPE line: " << l;
      // Conventions: counters end in _total, histograms name their unit.
      EXPECT_EQ(m[1].str().ends_with("_total"), m[2] == "counter") << l;
      if (m[2] == "histogram") {
        EXPECT_TRUE(m[1].str().ends_with("_seconds") || m[1].str().ends_with("_per_turn")) << l;
      }
    } else if (std::regex_match(l, m, series)) {
      std::string family = m[1];
      for (const char* suffix : {"_bucket", "_sum", "_count"}) {
        const std::string base = family.substr(0, family.size() - std::strlen(suffix));
        if (family.ends_with(suffix) && types.count(base) && types[base] == "histogram") {
          family = base;
        }
      }
      EXPECT_EQ(types.count(family), 1u) << "series before its TYPE line: " << l;
      shards[m[1].str() + m[3].str()].push_back(static_cast<unsigned>(std::stoul(m[2])));
    } else {
      ADD_FAILURE() << "malformed line: " << l;
    }
  }
  // One series per metric (name and labels) and shard; a histogram's
  // _bucket series (one per bound, +Inf the last), _sum and _count besides.
  size_t plain = 0;
  for (const auto& [key, of_shards] : shards) {
    EXPECT_EQ(of_shards, (std::vector<unsigned>{0, 1, 2})) << key;
    const std::string name = key.substr(0, key.find(','));
    if (!name.ends_with("_bucket") && !name.ends_with("_sum") && !name.ends_with("_count")) {
      ++plain;
    }
  }
  EXPECT_EQ(plain, static_cast<size_t>(Metric::kCount));
  size_t histograms = 0;
  for (const auto& [name, t] : types) {
    if (t != "histogram") continue;
    ++histograms;
    EXPECT_EQ(shards.count(name + R"(_bucket,le="+Inf")"), 1u) << name;
    EXPECT_EQ(shards.count(name + "_sum"), 1u) << name;
    EXPECT_EQ(shards.count(name + "_count"), 1u) << name;
  }
  EXPECT_EQ(histograms, static_cast<size_t>(Hist::kCount));
  EXPECT_EQ(types.size(), helps.size());
  for (const auto& [name, n] : helps) EXPECT_EQ(n, 1) << name;
  EXPECT_EQ(shards.count(R"(ringchat_limit_hits_total,kind="pub_rate")"), 1u);
  EXPECT_EQ(shards.count(R"(ringchat_connections,transport="ws_json")"), 1u);
  EXPECT_EQ(shards.count(R"(ringchat_ws_closes_total,by="client",code="other")"), 1u);
  ASSERT_FALSE(text.empty());
  EXPECT_EQ(text.back(), '\n');
}

// A histogram's buckets are cumulative, in seconds, with its sum and count.
TEST(Registry, HistogramsAreCumulativeInSeconds) {
  Registry r(1);
  r.shard(0).observe(Hist::kLoopLag, 30'000);          // 30 us: the first bucket (50 us)
  r.shard(0).observe(Hist::kLoopLag, 50'000);          // on a bound: that bucket
  r.shard(0).observe(Hist::kLoopLag, 2'000'000, 2);    // 2 ms, twice: the 2.5 ms bucket
  r.shard(0).observe(Hist::kLoopLag, 60'000'000'000);  // a minute: only +Inf
  const std::string text = r.prometheus();
  auto bucket = [&](const char* le) {
    return sample(text, "ringchat_loop_lag_seconds_bucket", 0, std::string(",le=\"") + le + "\"");
  };
  EXPECT_EQ(bucket("0.00005"), "2");
  EXPECT_EQ(bucket("0.0001"), "2");
  EXPECT_EQ(bucket("0.001"), "2");
  EXPECT_EQ(bucket("0.0025"), "4");
  EXPECT_EQ(bucket("10"), "4");
  EXPECT_EQ(bucket("+Inf"), "5");
  EXPECT_EQ(sample(text, "ringchat_loop_lag_seconds_count", 0), "5");
  EXPECT_EQ(sample(text, "ringchat_loop_lag_seconds_sum", 0), "60.00408");
  EXPECT_EQ(sample(text, "ringchat_publish_to_send_seconds_count", 0), "0") << "independent";
}

// Counts per turn: the bounds are whole numbers, 0 has its own bucket.
TEST(Registry, SubmissionsPerTurnHaveCountBuckets) {
  Registry r(1);
  r.shard(0).observe(Hist::kSubmissions, 0);
  r.shard(0).observe(Hist::kSubmissions, 3);
  const std::string text = r.prometheus();
  const std::string name = "ringchat_uring_submissions_per_turn_bucket";
  EXPECT_EQ(sample(text, name, 0, R"(,le="0")"), "1");
  EXPECT_EQ(sample(text, name, 0, R"(,le="2")"), "1");
  EXPECT_EQ(sample(text, name, 0, R"(,le="4")"), "2");
  EXPECT_EQ(sample(text, "ringchat_uring_submissions_per_turn_sum", 0), "3");
}

TEST(Registry, CloseCodesHaveTheirOwnSeriesAndTheRestIsOther) {
  Registry r(1);
  r.shard(0).add(close_metric(1001, true));
  r.shard(0).add(close_metric(1001, true));
  r.shard(0).add(close_metric(1000, false));
  r.shard(0).add(close_metric(3000, false));
  r.shard(0).add(close_metric(4999, true));
  const std::string text = r.prometheus();
  const std::string name = "ringchat_ws_closes_total";
  EXPECT_EQ(sample(text, name, 0, R"(,by="server",code="1001")"), "2");
  EXPECT_EQ(sample(text, name, 0, R"(,by="client",code="1001")"), "0");
  EXPECT_EQ(sample(text, name, 0, R"(,by="client",code="1000")"), "1");
  EXPECT_EQ(sample(text, name, 0, R"(,by="client",code="other")"), "1");
  EXPECT_EQ(sample(text, name, 0, R"(,by="server",code="other")"), "1");
  EXPECT_EQ(sample(text, name, 0, R"(,by="server",code="4001")"), "0");
}

TEST(Exposition, SamplesPrintPlainDecimals) {
  std::string out;
  append_family(out, "x_bytes", "gauge", "help text");
  append_sample(out, "x_bytes", "", 1234567890123.0);
  append_sample(out, "x_bytes", R"(a="1")", 0.25);
  EXPECT_EQ(out,
            "# HELP x_bytes help text\n# TYPE x_bytes gauge\nx_bytes 1234567890123\n"
            "x_bytes{a=\"1\"} 0.25\n");
}

TEST(Exposition, ProcessMetricsAreThere) {
  std::string out;
  append_process_metrics(out);
  for (const char* name : {"process_cpu_seconds_total", "process_resident_memory_bytes",
                           "process_virtual_memory_bytes", "process_open_fds", "process_max_fds",
                           "process_start_time_seconds"}) {
    EXPECT_NE(out.find(std::string("\n") + name + " "), std::string::npos) << name;
  }
  const size_t rss = out.find("\nprocess_resident_memory_bytes ");
  ASSERT_NE(rss, std::string::npos);
  EXPECT_GT(std::stod(out.substr(rss + 31)), 1 << 20) << "a test process holds over 1 MiB";
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
  r.shard(0).set(Metric::kConnsWsRaw, 6);
  const std::string text = r.prometheus();
  EXPECT_EQ(sample(text, "ringchat_io_errors_total", 0), "2");
  EXPECT_EQ(sample(text, "ringchat_slow_consumer_closes_total", 0), "4");
  EXPECT_EQ(sample(text, "ringchat_connections", 0, R"(,transport="ws_raw")"), "6");
  EXPECT_EQ(sample(text, "ringchat_connections", 0, R"(,transport="sse")"), "0");
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
