#include "scenario.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <random>
#include <vector>

namespace ringchat::ringload {
namespace {

Result<Scenario, std::string> parse(std::vector<const char*> args) {
  args.insert(args.begin(), "ringload");
  return parse_args(static_cast<int>(args.size()), args.data());
}

TEST(Scenario, DefaultsAreValid) {
  auto s = parse({});
  ASSERT_TRUE(s.ok()) << s.error();
  EXPECT_EQ(s->mode, Mode::kEcho);
  ASSERT_EQ(s->phases().size(), 1u);
  EXPECT_EQ(s->phases()[0].name, "steady");
}

TEST(Scenario, ParsesFlags) {
  auto s = parse({"--mode",
                  "rate",
                  "-c",
                  "500",
                  "--rooms=10",
                  "--rate",
                  "2.5",
                  "--cpus",
                  "0,1,1",
                  "--src-ips",
                  "127.0.0.1,127.0.0.2",
                  "--ramp",
                  "3",
                  "--spike",
                  "2",
                  "--spike-mult",
                  "4",
                  "--room-dist",
                  "zipf",
                  "--duration",
                  "7"});
  ASSERT_TRUE(s.ok()) << s.error();
  EXPECT_EQ(s->mode, Mode::kRate);
  EXPECT_EQ(s->connections, 500u);
  EXPECT_EQ(s->rooms, 10u);
  EXPECT_DOUBLE_EQ(s->rate, 2.5);
  EXPECT_EQ(s->cpus, (std::vector<int>{0, 1, 1}));
  EXPECT_EQ(s->src_ips.size(), 2u);
  EXPECT_EQ(s->room_dist, RoomDist::kZipf);
  const auto phases = s->phases();
  ASSERT_EQ(phases.size(), 3u);
  EXPECT_EQ(phases[0].kind, PhaseKind::kRamp);
  EXPECT_DOUBLE_EQ(phases[1].duration_s, 7);
  EXPECT_DOUBLE_EQ(phases[2].rate_mult, 4);
  EXPECT_DOUBLE_EQ(s->effective_connect_rate(), 500.0 / 3.0);
}

TEST(Scenario, Ports) {
  auto s = parse({"--ports", "9000,9001,9002"});
  ASSERT_TRUE(s.ok()) << s.error();
  EXPECT_EQ(s->ports, (std::vector<uint16_t>{9000, 9001, 9002}));
  EXPECT_TRUE(parse({}).value().ports.empty());
  EXPECT_FALSE(parse({"--ports", "0"}).ok());
  EXPECT_FALSE(parse({"--ports", "9000,70000"}).ok());
  EXPECT_FALSE(parse({"--ports", "90x"}).ok());
  Scenario j;
  ASSERT_TRUE(apply_json(j, R"({"ports":"9000,9001"})").ok());
  EXPECT_EQ(j.ports, (std::vector<uint16_t>{9000, 9001}));
}

TEST(Scenario, SocketIo) {
  auto s = parse({"--protocol", "socketio", "--url", "ws://127.0.0.1:3000/socket.io/"});
  ASSERT_TRUE(s.ok()) << s.error();
  EXPECT_EQ(s->protocol, Protocol::kSocketIo);
  EXPECT_EQ(to_string(s->protocol), "socketio");
  // No positions to resume from.
  EXPECT_FALSE(parse({"--protocol", "socketio", "--churn", "0.1"}).ok());
  EXPECT_FALSE(parse({"--protocol", "socketio", "--since", "0000000000000001:5"}).ok());
  EXPECT_FALSE(parse({"--protocol", "socketio", "--rolling-server", "/bin/ringchat"}).ok());
}

TEST(Scenario, RejectsUnknownMode) { EXPECT_FALSE(parse({"--mode", "storm"}).ok()); }
TEST(Scenario, RejectsNonNumber) { EXPECT_FALSE(parse({"-c", "12x"}).ok()); }
TEST(Scenario, RejectsZeroConnections) { EXPECT_FALSE(parse({"-c", "0"}).ok()); }
TEST(Scenario, RejectsUnknownFlag) { EXPECT_FALSE(parse({"--bogus", "1"}).ok()); }
TEST(Scenario, RejectsWss) { EXPECT_FALSE(parse({"--url", "wss://h/ws/"}).ok()); }
TEST(Scenario, RejectsAllPhasesEmpty) { EXPECT_FALSE(parse({"--steady", "0"}).ok()); }
TEST(Scenario, RejectsNegativeDuration) { EXPECT_FALSE(parse({"--steady", "-1"}).ok()); }
TEST(Scenario, RejectsSizeMaxBelowSize) {
  EXPECT_FALSE(parse({"--size", "100", "--size-max", "50"}).ok());
}

TEST(Scenario, ParsesUrl) {
  auto t = parse_url("ws://10.0.0.1:9000/ws/");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->host, "10.0.0.1");
  EXPECT_EQ(t->port, 9000);
  EXPECT_EQ(t->path, "/ws/");
  EXPECT_FALSE(parse_url("ws://h:0/").ok());
  EXPECT_FALSE(parse_url("ws://h:70000/").ok());
  EXPECT_TRUE(parse_url("http://h/sse/").ok());      // SSE streams and publishers
  EXPECT_TRUE(parse_url("https://h/")->tls_scheme);  // used only with --tls (below)
  EXPECT_FALSE(parse_url("ftp://h/").ok());
  EXPECT_FALSE(parse_url("ws://:80/").ok());
}

TEST(Scenario, TlsUrlsTakeTheirDefaultPort) {
  EXPECT_EQ(parse_url("wss://h/ws/")->port, 443);
  EXPECT_EQ(parse_url("https://h:8443/sse/")->port, 8443);
  EXPECT_FALSE(parse_url("ws://h/")->tls_scheme);
}

TEST(Scenario, ParsesTlsFlags) {
  auto s = parse({"--url", "wss://localhost:8443/ws/", "--tls", "--tls-ca", "ca.pem",
                  "--tls-resume", "--tls-version", "1.2"});
  ASSERT_TRUE(s.ok()) << s.error();
  EXPECT_TRUE(s->tls);
  EXPECT_EQ(s->tls_ca, "ca.pem");
  EXPECT_TRUE(s->tls_resume);
  EXPECT_EQ(s->tls_version, TlsVersion::k12);
  EXPECT_FALSE(parse({}).value().tls);
}

TEST(Scenario, TlsOverAPlainSchemeUrl) {
  auto s = parse({"--url", "ws://127.0.0.1:8443/ws/", "--tls"});
  ASSERT_TRUE(s.ok()) << s.error();
  EXPECT_TRUE(s->tls);
}

TEST(Scenario, RejectsHttpsWithoutTls) {
  EXPECT_FALSE(parse({"--url", "https://h/sse/", "--protocol", "sse"}).ok());
}

TEST(Scenario, RejectsTlsOptionsWithoutTls) {
  EXPECT_FALSE(parse({"--tls-ca", "ca.pem"}).ok());
  EXPECT_FALSE(parse({"--tls-resume"}).ok());
  EXPECT_FALSE(parse({"--tls-version", "1.3"}).ok());
}

TEST(Scenario, RejectsUnknownTlsVersion) {
  EXPECT_FALSE(parse({"--tls", "--tls-version", "1.1"}).ok());
}

TEST(Scenario, ParsesHandshakeMode) {
  auto s = parse({"--mode", "handshake", "--tls", "--handshakes", "500", "-c", "8"});
  ASSERT_TRUE(s.ok()) << s.error();
  EXPECT_EQ(s->mode, Mode::kHandshake);
  EXPECT_EQ(s->handshakes, 500u);
  EXPECT_TRUE(parse({"--mode", "handshake"}).ok());  // plain: connect and close
}

TEST(Scenario, RejectsHandshakesOutsideHandshakeMode) {
  EXPECT_FALSE(parse({"--handshakes", "10"}).ok());
  EXPECT_FALSE(parse({"--mode", "handshake", "--protocol", "json"}).ok());
}

TEST(Scenario, JsonTakesTlsAsABoolean) {
  Scenario s;
  ASSERT_TRUE(apply_json(s, R"({"tls": true, "tls_resume": true, "mode": "handshake"})").ok());
  EXPECT_TRUE(s.tls);
  EXPECT_TRUE(s.tls_resume);
  EXPECT_FALSE(apply_json(s, R"({"tls": "maybe"})").ok());
}

TEST(Scenario, AppliesJsonDocument) {
  Scenario s;
  auto r = apply_json(s, R"({"mode":"fanout","connections":1000,"senders":10,"cpus":[1,1],
      "room_prefix":"big","zipf-s":1.2,
      "phases":[{"kind":"ramp","duration_s":5},{"name":"burst","kind":"spike","duration_s":2,"rate_mult":8}]})");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(s.mode, Mode::kFanout);
  EXPECT_EQ(s.connections, 1000u);
  EXPECT_EQ(s.senders, 10u);
  EXPECT_EQ(s.cpus, (std::vector<int>{1, 1}));
  EXPECT_EQ(s.room_prefix, "big");
  EXPECT_DOUBLE_EQ(s.zipf_s, 1.2);
  const auto phases = s.phases();
  ASSERT_EQ(phases.size(), 2u);
  EXPECT_EQ(phases[1].name, "burst");
  EXPECT_DOUBLE_EQ(phases[1].rate_mult, 8);
}

TEST(Scenario, RollingFlags) {
  auto s = parse({"--rolling-server", "/bin/ringchat", "--rolling-args", "--threads 1 --pub-rate 0",
                  "--rolling-at", "2.5", "--rolling-log", "/tmp/x", "--steady", "5"});
  ASSERT_TRUE(s.ok()) << s.error();
  EXPECT_TRUE(s->rolling());
  EXPECT_EQ(s->rolling_server, "/bin/ringchat");
  EXPECT_EQ(s->rolling_args, "--threads 1 --pub-rate 0");
  EXPECT_DOUBLE_EQ(s->rolling_at_s, 2.5);
  EXPECT_EQ(s->rolling_log, "/tmp/x");
  EXPECT_FALSE(parse({}).value().rolling());
}

TEST(Scenario, RollingRejects) {
  const char* srv = "/bin/ringchat";
  EXPECT_FALSE(parse({"--rolling-server", srv, "--rolling-at", "10", "--steady", "10"}).ok());
  EXPECT_FALSE(parse({"--rolling-server", srv, "--mode", "handshake"}).ok());
  EXPECT_FALSE(parse({"--rolling-server", srv, "--since", "0000000000000001:5"}).ok());
  EXPECT_FALSE(parse({"--rolling-server", srv, "--server-pid", "42"}).ok());
  EXPECT_FALSE(parse({"--rolling-server", srv, "--ports", "9000,9001"}).ok());
  EXPECT_FALSE(parse({"--rolling-args", "--threads 1"}).ok());  // without --rolling-server
  EXPECT_FALSE(parse({"--rolling-log", "/tmp/x"}).ok());
}

TEST(Scenario, JsonRejectsUnknownKey) {
  Scenario s;
  EXPECT_FALSE(apply_json(s, R"({"conections":5})").ok());
}
TEST(Scenario, JsonRejectsMalformedDocument) {
  Scenario s;
  EXPECT_FALSE(apply_json(s, R"({"mode":)").ok());
}
TEST(Scenario, JsonRejectsBadPhaseKind) {
  Scenario s;
  EXPECT_FALSE(apply_json(s, R"({"phases":[{"kind":"nap","duration_s":1}]})").ok());
}
TEST(Scenario, JsonRejectsPhaseWithoutDuration) {
  Scenario s;
  EXPECT_FALSE(apply_json(s, R"({"phases":[{"kind":"steady"}]})").ok());
}
TEST(Scenario, JsonRejectsObjectValue) {
  Scenario s;
  EXPECT_FALSE(apply_json(s, R"({"mode":{"a":1}})").ok());
}

TEST(Scenario, FlagsOverrideScenarioFile) {
  const std::string path = ::testing::TempDir() + "ringload_scenario.json";
  std::ofstream(path) << R"({"mode":"idle","connections":77,"steady":3})";
  auto s = parse({"--scenario", path.c_str(), "-c", "88"});
  std::remove(path.c_str());
  ASSERT_TRUE(s.ok()) << s.error();
  EXPECT_EQ(s->mode, Mode::kIdle);
  EXPECT_EQ(s->connections, 88u);
  EXPECT_DOUBLE_EQ(s->steady_s, 3);
}

TEST(Scenario, MissingScenarioFileIsAnError) {
  EXPECT_FALSE(parse({"--scenario", "/nonexistent/x.json"}).ok());
}

}  // namespace
}  // namespace ringchat::ringload

namespace ringchat::ringload {
namespace {

TEST(Scenario, RandomJsonNeverCrashesAndKeepsValidOptions) {
  std::mt19937 rng(3);
  const std::string pieces[] = {"{",        "}",        "[",        "]",          ",",        ":",
                                "\"mode\"", "\"rate\"", "\"cpus\"", "\"phases\"", "\"echo\"", "1",
                                "-2",       "1e400",    "\"x\"",    "null",       "true"};
  for (int i = 0; i < 5000; ++i) {
    std::string s;
    const int n = static_cast<int>(rng() % 14);
    for (int k = 0; k < n; ++k) s += pieces[rng() % std::size(pieces)];
    Scenario sc;
    if (apply_json(sc, s).ok()) {
      EXPECT_GE(sc.rate, 0.0) << s;
      EXPECT_FALSE(sc.cpus.empty()) << s;
    }
  }
}

}  // namespace
}  // namespace ringchat::ringload
