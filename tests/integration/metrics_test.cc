// GET /metrics as a scraper sees it: a scripted scenario (connect, publish,
// a slow consumer, a bad frame, a normal close) moves each counter it should
// by what it should, summed over shards; /healthz while the shards turn.
#include <gtest/gtest.h>

#include <chrono>
#include <sstream>
#include <thread>

#include "ringchat/ws/frame_encoder.h"
#include "ws_client.h"

namespace ringchat::testing {
namespace {

using ws::Opcode;

// One scrape: `name{...labels...} value` lines, summed over shards.
class Scrape {
 public:
  explicit Scrape(uint16_t port) {
    Client c(port);
    std::string resp;
    EXPECT_EQ(c.http("GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", &resp), 200);
    std::istringstream in(resp.substr(resp.find("\r\n\r\n") + 4));
    for (std::string line; std::getline(in, line);) {
      if (line.empty() || line[0] == '#') continue;
      const size_t sp = line.rfind(' ');
      lines_.emplace_back(line.substr(0, sp), std::stod(line.substr(sp + 1)));
    }
  }
  // The sum of every series of `name` whose labels include each of `labels`
  // (`kind="x"` and the like).
  double sum(std::string_view name, std::initializer_list<std::string_view> labels = {}) const {
    double total = 0;
    for (const auto& [series, value] : lines_) {
      const bool named = series.compare(0, name.size(), name) == 0 &&
                         (series.size() == name.size() || series[name.size()] == '{');
      if (!named) continue;
      bool all = true;
      for (std::string_view l : labels) all = all && series.find(l) != std::string::npos;
      if (all) total += value;
    }
    return total;
  }

 private:
  std::vector<std::pair<std::string, double>> lines_;
};

std::unique_ptr<Client> member(TestServer& server, std::string_view room, ClientOptions opts = {}) {
  auto c = std::make_unique<Client>(server.port(), opts);
  EXPECT_EQ(c->upgrade(cat("/ws/", room)), 101);
  return c;
}

// Polls scrapes until `ok` holds (the server counts on its own threads).
template <typename Ok>
bool eventually(TestServer& server, Ok ok) {
  for (int i = 0; i < kWaitMs / 20; ++i) {
    if (ok(Scrape(server.port()))) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

TEST(Metrics, AScriptedScenarioMovesEachCounter) {
  auto cfg = test_config(2);
  cfg.max_backlog = 256 << 10;
  TestServer server(cfg);
  const Scrape before(server.port());
  auto delta = [&](const Scrape& after, std::string_view name,
                   std::initializer_list<std::string_view> labels = {}) {
    return after.sum(name, labels) - before.sum(name, labels);
  };

  // Two members; one publishes 10 messages, both get them (echo is on).
  auto a = member(server, "metrics");
  auto b = member(server, "metrics");
  for (int i = 0; i < 10; ++i) a->send_text(cat("m", std::to_string(i)));
  for (Client* c : {a.get(), b.get()}) {
    for (int i = 0; i < 10; ++i) {
      auto m = c->recv_data();
      ASSERT_TRUE(m && m->op == Opcode::kText) << "message " << i;
    }
  }
  // A slow consumer: it does not read while 32 KiB messages are published
  // to its room over HTTP, until it is over its 256 KiB --send-backlog.
  auto slow = member(server, "metrics-slow", {.rcvbuf = 4096});
  int published = 0;
  {
    const std::string big(32 << 10, 'x');
    Client publisher(server.port());
    while (published < 400 && server.total(obs::Metric::kSlowConsumerCloses) == 0) {
      publisher.publish("metrics-slow", big);
      ++published;
    }
  }
  ASSERT_TRUE(server.wait_metric(obs::Metric::kSlowConsumerCloses, 1));
  EXPECT_EQ(slow->read_until_close(), 1008);
  // A bad frame: unmasked, from a client (RFC 6455 §5.1): 1002.
  auto bad = member(server, "metrics");
  bad->send_raw(std::string("\x81\x02hi", 4));
  EXPECT_EQ(bad->read_until_close(), 1002);
  // The slow and the bad are gone: 2 raw sockets left, and nothing else open
  // but this scrape's HTTP connection.
  ASSERT_TRUE(eventually(server, [](const Scrape& s) {
    return s.sum("ringchat_connections", {R"(transport="ws_raw")"}) == 2 &&
           s.sum("ringchat_connections_open") == 3;
  }));

  const Scrape after(server.port());
  EXPECT_EQ(delta(after, "ringchat_ws_handshakes_total"), 4);
  EXPECT_EQ(delta(after, "ringchat_handshake_seconds_count"), 4);
  EXPECT_EQ(delta(after, "ringchat_ws_messages_in_total"), 10) << "the bad frame is no message";
  EXPECT_EQ(delta(after, "ringchat_publishes_total"), 10 + published);
  EXPECT_EQ(delta(after, "ringchat_http_publishes_total"), published);
  // 20 deliveries in "metrics", and those queued to the slow consumer
  // before it was closed (each is a sample).
  EXPECT_GE(delta(after, "ringchat_publish_to_send_seconds_count"), 21);
  EXPECT_LE(delta(after, "ringchat_publish_to_send_seconds_count"), 20 + published);
  EXPECT_EQ(delta(after, "ringchat_ws_frames_out_total"),
            delta(after, "ringchat_publish_to_send_seconds_count"));
  EXPECT_EQ(delta(after, "ringchat_slow_consumer_closes_total"), 1);
  EXPECT_EQ(delta(after, "ringchat_ws_closes_total", {R"(by="server")", R"(code="1008")"}), 1);
  EXPECT_EQ(delta(after, "ringchat_ws_protocol_errors_total"), 1);
  EXPECT_EQ(delta(after, "ringchat_ws_closes_total", {R"(by="server")", R"(code="1002")"}), 1);
  EXPECT_EQ(delta(after, "ringchat_ws_closes_total", {R"(by="client")"}), 0);
  EXPECT_EQ(after.sum("ringchat_connections", {R"(transport="http")"}), 1) << "this scrape";
  EXPECT_EQ(after.sum("ringchat_connections", {R"(transport="sse")"}), 0);
  EXPECT_GE(after.sum("ringchat_rooms_owned"), 2);
  EXPECT_GT(delta(after, "ringchat_loop_turns_total"), 0);
  EXPECT_EQ(after.sum("ringchat_loop_turns_total"),
            after.sum("ringchat_uring_submissions_per_turn_count"));
  EXPECT_GT(after.sum("process_resident_memory_bytes"), 0);

  // A normal close by the client: counted by its code.
  a->send_frame(Opcode::kClose, ws::close_payload(1000, "bye"));
  EXPECT_EQ(a->read_until_close(), 1000);
  EXPECT_TRUE(eventually(server, [&](const Scrape& s) {
    return s.sum("ringchat_ws_closes_total", {R"(by="client")", R"(code="1000")"}) -
               before.sum("ringchat_ws_closes_total", {R"(by="client")", R"(code="1000")"}) ==
           1;
  }));
}

TEST(Metrics, HealthzSaysEveryShardTurns) {
  TestServer server(test_config(4));
  // An idle server too: every loop wakes at least every 100 ms.
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  Client c(server.port());
  std::string resp;
  EXPECT_EQ(c.http("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", &resp), 200) << resp;
  const Scrape s(server.port());
  EXPECT_GE(s.sum("ringchat_loop_lag_seconds_count"), 4 * 5) << "4 shards, 1.5 s, 100 ms probes";
}

}  // namespace
}  // namespace ringchat::testing
