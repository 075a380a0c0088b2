#include "report.h"

#include <gtest/gtest.h>
#include <simdjson.h>

namespace ringchat::ringload {
namespace {

RunReport sample_report() {
  RunReport r;
  PhaseReport p;
  p.name = "steady";
  p.start_s = 0.5;
  p.duration_s = 2;
  p.stats.sent = 100;
  p.stats.reconnects = 3;
  p.stats.order_violations = 1;
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
  r.timeline.push_back(Sample{1.0, "steady", 50, 100, 1000, 2000, 3000, 10, 0, 4, 2, 1});
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
  EXPECT_DOUBLE_EQ(phase["start_s"].get_double().value(), 0.5);
  EXPECT_EQ(phase["reconnects"].get_uint64().value(), 3u);
  EXPECT_EQ(phase["order_violations"].get_uint64().value(), 1u);
  EXPECT_DOUBLE_EQ(doc["timeline"].at(0)["errors_per_s"].get_double().value(), 4.0);
  EXPECT_DOUBLE_EQ(doc["timeline"].at(0)["reconnects_per_s"].get_double().value(), 2.0);
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

RunReport rolling_report() {
  RunReport r = sample_report();
  r.order.gaps = 0;
  RollingReport& ro = r.rolling;
  ro.enabled = true;
  ro.clients = 2;
  ro.until_s = 0.45;
  ro.events.pids = {11, 12, 13};
  ro.events.term_s = 0.2;
  ro.curve.on_open(10'000'000, false);
  ro.curve.on_open(20'000'000, false);
  ro.curve.on_drop(210'000'000);
  ro.curve.on_open(320'000'000, true);
  ro.reconnect = summarize(ro.curve, 200'000'000, 450'000'000, 2);
  ro.curve.extend(5);
  ro.loss.epoch_changes = 1;
  ro.loss.told = 4;
  ro.publish.unacked = 3;
  return r;
}

TEST(Report, RollingJsonHasTheCurveAndTheLossesAndPasses) {
  Scenario s;
  const RunReport r = rolling_report();
  EXPECT_TRUE(r.failures().empty());
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  const std::string json = report_json(r, s);
  ASSERT_EQ(parser.parse(json).get(doc), simdjson::SUCCESS) << json;
  simdjson::dom::element ro = doc["rolling"];
  EXPECT_EQ(ro["servers"]["pids"].at(2).get_int64().value(), 13);
  EXPECT_NEAR(ro["reconnect"]["full_reconnect_s"].get_double().value(), 0.2, 1e-9);
  EXPECT_EQ(ro["reconnect"]["reconnected"].get_uint64().value(), 1u);
  simdjson::dom::array connected = ro["curve"]["connected"].get_array().value();
  ASSERT_EQ(connected.size(), 5u);  // buckets 0..4: up to until_s
  EXPECT_EQ(connected.at(2).get_int64().value(), 1);
  EXPECT_EQ(connected.at(3).get_int64().value(), 2);
  EXPECT_EQ(ro["curve"]["reconnects"].at(3).get_uint64().value(), 1u);
  EXPECT_EQ(ro["messages"]["lost_silently"].get_uint64().value(), 0u);
  EXPECT_EQ(ro["messages"]["epoch_changes"].get_uint64().value(), 1u);
  EXPECT_EQ(ro["messages"]["told_lost"].get_uint64().value(), 4u);
  EXPECT_EQ(ro["publishes"]["unacked"].get_uint64().value(), 3u);
}

TEST(Report, RollingFailsWithoutSigtermOrWithClientsMissing) {
  RunReport r = rolling_report();
  r.rolling.reconnect.full_reconnect_s = -1;
  ASSERT_EQ(r.failures().size(), 1u);
  EXPECT_EQ(r.failures()[0], "rolling: clients still missing when the phases ended");
  r.rolling.events.term_s = -1;
  r.rolling.events.problem = "the replacement did not listen within 10 s";
  EXPECT_EQ(r.failures().size(), 2u);
}

TEST(Report, NoRollingSectionWithoutRollingServer) {
  Scenario s;
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  ASSERT_EQ(parser.parse(report_json(sample_report(), s)).get(doc), simdjson::SUCCESS);
  EXPECT_EQ(doc["rolling"].error(), simdjson::NO_SUCH_FIELD);
}

size_t count(const std::string& text, std::string_view what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST(ReportHtml, HasThePhaseTableTheChartDataAndTheCollapsedJson) {
  Scenario s;
  const std::string page = report_html(sample_report(), s);
  EXPECT_TRUE(page.starts_with("<!doctype html>"));
  EXPECT_NE(page.find("<table id='phase-summary'>"), std::string::npos);
  EXPECT_NE(page.find("<td>steady</td>"), std::string::npos);
  EXPECT_NE(page.find("<th>p99.9</th>"), std::string::npos);
  EXPECT_NE(page.find("{\"label\":\"steady\",\"from\":0.5,\"to\":2.5}"), std::string::npos) << page;
  EXPECT_NE(page.find("<details id='report-json'><summary>"), std::string::npos);
  EXPECT_NE(page.find("\n  &quot;phases&quot;: [\n"), std::string::npos);
  EXPECT_NE(page.find("RingCharts"), std::string::npos);
  EXPECT_EQ(page.find(" src="), std::string::npos);
  EXPECT_EQ(count(page, "<script"), 3u);
  EXPECT_EQ(count(page, "</script>"), 3u);
}

TEST(ReportHtml, TextFromTheRunCannotCloseAnElement) {
  Scenario s;
  s.url = "ws://h/</script><u>";
  RunReport r = sample_report();
  r.warnings.push_back("</script><em>");
  r.phases[0].name = "</script>";
  r.phases[0].stats.errors["<u>"] = 1;
  const std::string page = report_html(r, s);
  EXPECT_EQ(count(page, "</script>"), 3u);
  EXPECT_EQ(page.find("<u>"), std::string::npos);
  EXPECT_EQ(page.find("<em>"), std::string::npos);
  EXPECT_NE(page.find("&lt;/script&gt;&lt;em&gt;"), std::string::npos);
  EXPECT_NE(page.find("\\u003c/script>"), std::string::npos);
}

}  // namespace
}  // namespace ringchat::ringload
