#include "report_summary.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <cmath>

namespace ringchat::ringload {
namespace {

PhaseReport phase(std::string name, double start_s, double duration_s, uint64_t sent) {
  PhaseReport p;
  p.name = std::move(name);
  p.start_s = start_s;
  p.duration_s = duration_s;
  p.stats.sent = sent;
  p.stats.delivered = 2 * sent;
  return p;
}

// Two phases after a 0.5 s connect stage, then 0.25 s of drain.
RunReport two_phases() {
  RunReport r;
  r.phases.push_back(phase("ramp", 0.5, 1, 10));
  r.phases.push_back(phase("steady", 1.5, 2, 100));
  for (uint64_t v = 1; v <= 1000; ++v) r.phases[1].stats.latency.record(v * 1000);
  r.phases[1].stats.errors["a"] = 2;
  r.phases[1].stats.errors["b"] = 3;
  r.phases[1].stats.reconnects = 4;
  r.phases[1].stats.order_violations = 1;
  r.phases[1].server_cpu_s = 0.4;
  for (const PhaseReport& p : r.phases) r.totals.merge(p.stats);
  r.run_s = 3.75;
  r.order.gaps = 2;
  r.order.reorders = 1;
  return r;
}

TEST(PhaseRows, OneRowPerPhaseThenTheTotal) {
  const auto rows = phase_rows(two_phases());
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].name, "ramp");
  EXPECT_EQ(rows[1].name, "steady");
  EXPECT_EQ(rows[2].name, "total");
  EXPECT_DOUBLE_EQ(rows[1].start_s, 1.5);
  EXPECT_DOUBLE_EQ(rows[2].duration_s, 3.75);
  EXPECT_EQ(rows[2].sent, 110u);
}

TEST(PhaseRows, RatesAreOverThePhasesOwnDuration) {
  const auto rows = phase_rows(two_phases());
  EXPECT_DOUBLE_EQ(rows[0].sent_per_s, 10.0);
  EXPECT_DOUBLE_EQ(rows[1].sent_per_s, 50.0);
  EXPECT_DOUBLE_EQ(rows[1].delivered_per_s, 100.0);
}

TEST(PhaseRows, ErrorsOfEveryKindAreSummed) {
  const auto rows = phase_rows(two_phases());
  EXPECT_EQ(rows[0].errors, 0u);
  EXPECT_EQ(rows[1].errors, 5u);
  EXPECT_EQ(rows[1].reconnects, 4u);
  EXPECT_EQ(rows[2].errors, 5u);
}

TEST(PhaseRows, PercentilesComeFromThePhasesHistogram) {
  const auto rows = phase_rows(two_phases());
  EXPECT_EQ(rows[0].latency.count, 0u);
  EXPECT_EQ(rows[1].latency.count, 1000u);
  EXPECT_NEAR(rows[1].latency.p50_us, 500, 5);
  EXPECT_NEAR(rows[1].latency.p90_us, 900, 9);
  EXPECT_NEAR(rows[1].latency.p95_us, 950, 9);
  EXPECT_NEAR(rows[1].latency.p99_us, 990, 9);
  EXPECT_NEAR(rows[1].latency.p999_us, 999, 9);
  EXPECT_DOUBLE_EQ(rows[1].latency.max_us, 1000);
}

TEST(PhaseRows, TotalOrderViolationsAreTheRunsFinalCounts) {
  const auto rows = phase_rows(two_phases());
  EXPECT_EQ(rows[1].order_violations, 1u);
  EXPECT_EQ(rows[2].order_violations, 3u);
}

TEST(PhaseRows, ServerCpuPerDeliveredOnlyWithAServerPid) {
  const auto rows = phase_rows(two_phases());
  EXPECT_LT(rows[0].server_cpu_us_per_delivered, 0);
  EXPECT_DOUBLE_EQ(rows[1].server_cpu_us_per_delivered, 0.4 * 1e6 / 200);
  EXPECT_LT(rows[2].server_cpu_us_per_delivered, 0);
}

TEST(PhaseBands, ConnectEachPhaseThenDrain) {
  const auto bands = phase_bands(two_phases());
  ASSERT_EQ(bands.size(), 4u);
  EXPECT_EQ(bands[0].label, "connect");
  EXPECT_DOUBLE_EQ(bands[0].from_s, 0);
  EXPECT_DOUBLE_EQ(bands[0].to_s, 0.5);
  EXPECT_EQ(bands[1].label, "ramp");
  EXPECT_DOUBLE_EQ(bands[1].to_s, 1.5);
  EXPECT_EQ(bands[2].label, "steady");
  EXPECT_DOUBLE_EQ(bands[2].from_s, 1.5);
  EXPECT_DOUBLE_EQ(bands[2].to_s, 3.5);
  EXPECT_EQ(bands[3].label, "drain");
  EXPECT_DOUBLE_EQ(bands[3].to_s, 3.75);
}

TEST(PhaseBands, NoConnectBandWhenTheFirstPhaseStartsAtOnce) {
  RunReport r = two_phases();
  r.phases[0].start_s = 0;
  r.run_s = 3.5;
  const auto bands = phase_bands(r);
  ASSERT_EQ(bands.size(), 2u);
  EXPECT_EQ(bands[0].label, "ramp");
  EXPECT_EQ(bands[1].label, "steady");
}

TEST(LatencyBins, EmptyHistogramHasNone) { EXPECT_TRUE(latency_bins(Histogram{}, 10).empty()); }

TEST(LatencyBins, EveryValueIsInOneBinAndBinsAreLogSpaced) {
  Histogram h;
  for (uint64_t v = 1; v <= 5000; ++v) h.record(v * 997);  // ~1 us to ~5 ms
  const auto bins = latency_bins(h, 10);
  uint64_t total = 0;
  for (size_t k = 0; k < bins.size(); ++k) {
    total += bins[k].count;
    EXPECT_NEAR(bins[k].hi_us / bins[k].lo_us, std::pow(10.0, 0.1), 1e-9);
    if (k) {
      EXPECT_DOUBLE_EQ(bins[k].lo_us, bins[k - 1].hi_us);
    }
  }
  EXPECT_EQ(total, h.count());
  EXPECT_LE(bins.front().lo_us, 0.997);
  EXPECT_GT(bins.back().hi_us, 4985.0);
  EXPECT_EQ(bins.size(), 38u);  // 10^0 .. 10^3.8 us
}

TEST(LatencyBins, OneValueMakesOneBinAroundIt) {
  Histogram h;
  for (int i = 0; i < 3; ++i) h.record(250'000);
  const auto bins = latency_bins(h, 10);
  ASSERT_EQ(bins.size(), 1u);
  EXPECT_EQ(bins[0].count, 3u);
  EXPECT_LE(bins[0].lo_us, 250.0);
  EXPECT_GT(bins[0].hi_us, 250.0);
}

TEST(PercentileCurve, RisesFromMinToMaxAndStopsWhereTheCountEnds) {
  Histogram h;
  for (uint64_t v = 1; v <= 1000; ++v) h.record(v * 1000);
  const auto curve = percentile_curve(h);
  ASSERT_GE(curve.size(), 3u);
  EXPECT_DOUBLE_EQ(curve.front().first, 0);
  EXPECT_DOUBLE_EQ(curve.front().second, 1);
  EXPECT_DOUBLE_EQ(curve.back().first, 100);
  EXPECT_DOUBLE_EQ(curve.back().second, 1000);
  for (size_t i = 1; i < curve.size(); ++i) {
    EXPECT_GT(curve[i].first, curve[i - 1].first);
    EXPECT_GE(curve[i].second, curve[i - 1].second);
  }
  // 1000 values resolve p99.9 but not p99.95.
  EXPECT_DOUBLE_EQ(curve[curve.size() - 2].first, 99.9);
}

TEST(PercentileCurve, EmptyHistogramHasNoPoints) { EXPECT_TRUE(percentile_curve({}).empty()); }

TEST(Format, CountsGetThousandsSeparators) {
  EXPECT_EQ(format_count(0), "0");
  EXPECT_EQ(format_count(999), "999");
  EXPECT_EQ(format_count(1000), "1,000");
  EXPECT_EQ(format_count(1234567), "1,234,567");
}

TEST(Format, RatesAreWholeUnlessSmall) {
  EXPECT_EQ(format_rate(2614.3), "2,614/s");
  EXPECT_EQ(format_rate(2.25), "2.2/s");
  EXPECT_EQ(format_rate(0), "0/s");
}

TEST(Format, LatencyPicksUsMsOrSecondsWithThreeDigits) {
  EXPECT_EQ(format_us(0), "0");
  EXPECT_EQ(format_us(0.5), "0.50 us");
  EXPECT_EQ(format_us(238.6), "239 us");
  EXPECT_EQ(format_us(999.4), "999 us");
  EXPECT_EQ(format_us(999.6), "1.00 ms");
  EXPECT_EQ(format_us(66322.4), "66.3 ms");
  EXPECT_EQ(format_us(1234567), "1.23 s");
}

TEST(Format, BytesUseBinaryUnits) {
  EXPECT_EQ(format_bytes(512), "512 B");
  EXPECT_EQ(format_bytes(1536), "1.50 KiB");
  EXPECT_EQ(format_bytes(9814016), "9.36 MiB");
  EXPECT_EQ(format_bytes(uint64_t{3} << 30), "3.00 GiB");
}

TEST(Format, SecondsBecomeMinutesPastOne) {
  EXPECT_EQ(format_seconds(0.25), "250 ms");
  EXPECT_EQ(format_seconds(4.4), "4.40 s");
  EXPECT_EQ(format_seconds(95), "1m35s");
  EXPECT_EQ(format_seconds(3725), "1h2m5s");
}

TEST(PrettyJson, IndentsAndStillParsesToTheSameDocument) {
  const std::string compact = R"({"a":[1,2,{"b":"x,{y}:\"z\""}],"c":{},"d":[],"e":{"f":true}})";
  const std::string pretty = pretty_json(compact);
  EXPECT_EQ(pretty,
            "{\n  \"a\": [\n    1,\n    2,\n    {\n      \"b\": \"x,{y}:\\\"z\\\"\"\n    }\n  ],\n"
            "  \"c\": {},\n  \"d\": [],\n  \"e\": {\n    \"f\": true\n  }\n}\n");
  simdjson::dom::parser parser;
  simdjson::dom::element a, b;
  ASSERT_EQ(parser.parse(compact).get(a), simdjson::SUCCESS);
  const std::string a_text = simdjson::minify(a);
  ASSERT_EQ(parser.parse(pretty).get(b), simdjson::SUCCESS);
  EXPECT_EQ(simdjson::minify(b), a_text);
}

TEST(PrettyJson, TheWholeReportStaysValid) {
  Scenario s;
  const std::string pretty = pretty_json(report_json(two_phases(), s));
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  ASSERT_EQ(parser.parse(pretty).get(doc), simdjson::SUCCESS);
  EXPECT_EQ(doc["phases"].at(1)["name"].get_string().value(), "steady");
  EXPECT_NE(pretty.find("\n  \"phases\": [\n"), std::string::npos);
}

}  // namespace
}  // namespace ringchat::ringload
