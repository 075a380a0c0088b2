#include "report.h"

#include <gtest/gtest.h>
#include <simdjson.h>

namespace ringchat::ringload {
namespace {

RunReport sample_report() {
  RunReport r;
  PhaseReport p;
  p.name = "steady";
  p.duration_s = 2;
  p.stats.sent = 100;
  p.stats.delivered = 200;
  for (uint64_t v = 1; v <= 100; ++v) p.stats.latency.record(v * 1000);
  p.stats.errors["recv:\"eof\""] = 2;
  p.server_cpu_s = 0.5;
  r.totals = p.stats;
  r.phases.push_back(p);
  r.run_s = 2;
  r.order.gaps = 1;
  r.connections.opened = 10;
  r.server_cpu_s = 0.5;
  r.timeline.push_back(Sample{1.0, "steady", 50, 100, 1000, 2000, 3000, 10});
  return r;
}

TEST(Report, JsonParsesWithTheExpectedFields) {
  Scenario s;
  const std::string json = report_json(sample_report(), s);
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  ASSERT_EQ(parser.parse(json).get(doc), simdjson::SUCCESS) << json;
  simdjson::dom::element phase = doc["phases"].at(0);
  EXPECT_EQ(phase["name"].get_string().value(), "steady");
  EXPECT_EQ(phase["sent"].get_uint64().value(), 100u);
  EXPECT_DOUBLE_EQ(phase["msgs_per_s_delivered"].get_double().value(), 100.0);
  EXPECT_NEAR(phase["latency_us"]["p50"].get_double().value(), 50.0, 1.0);
  EXPECT_NEAR(phase["latency_us"]["p999"].get_double().value(), 100.0, 2.0);
  EXPECT_EQ(phase["errors"]["recv:\"eof\""].get_uint64().value(), 2u);
  EXPECT_DOUBLE_EQ(phase["server_cpu_us_per_delivered"].get_double().value(), 2500.0);
  EXPECT_EQ(doc["order"]["gaps"].get_uint64().value(), 1u);
  EXPECT_FALSE(doc["order"]["ok"].get_bool().value());
  EXPECT_EQ(doc["connections"]["opened"].get_uint64().value(), 10u);
  EXPECT_TRUE(doc["kernel"]["somaxconn"].is_string());
  EXPECT_TRUE(doc["client_cpu_s"].is_number());
  EXPECT_TRUE(doc["server_cpu_s"].is_number());
  EXPECT_EQ(doc["timeline"].at(0)["open"].get_uint64().value(), 10u);
}

TEST(Report, NoServerPidLeavesServerCpuOut) {
  Scenario s;
  RunReport r = sample_report();
  r.server_cpu_s = -1;
  r.phases[0].server_cpu_s = -1;
  const std::string json = report_json(r, s);
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  ASSERT_EQ(parser.parse(json).get(doc), simdjson::SUCCESS);
  EXPECT_EQ(doc["server_cpu_s"].error(), simdjson::NO_SUCH_FIELD);
}

}  // namespace
}  // namespace ringchat::ringload
