// Lossless resume under churn: while a publisher keeps publishing, clients
// of every transport (raw WebSocket, JSON WebSocket, SSE) read a few
// messages, drop the connection (a reset, nothing said), and come back with
// their position. Each must end with every seq of its room exactly once, in
// order, with the payload published at that seq.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <atomic>
#include <chrono>
#include <random>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "sse_parser.h"
#include "ws_client.h"

namespace ringchat::testing {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kMessages = 400;  // per room, under --history (1000): always recovered
constexpr int kRooms = 2;
constexpr auto kLimit = std::chrono::seconds(60);

// What one subscriber saw, connection after connection.
struct Seen {
  std::vector<uint64_t> seqs;
  std::vector<std::string> payloads;
  int connections = 0;
  int not_recovered = 0;
  std::string error;
};

std::string header(const std::string& resp, const std::string& name) {
  std::smatch m;
  if (!std::regex_search(resp, m, std::regex(name + ": ([^\r]*)\r\n"))) return {};
  return m[1];
}

enum class Transport { kRaw, kJson, kSse };

class Subscriber {
 public:
  Subscriber(uint16_t port, Transport t, std::string room, std::string epoch, uint32_t seed)
      : port_(port), t_(t), room_(std::move(room)), epoch_(std::move(epoch)), rng_(seed) {}

  // Connects, reads a few messages, resets; again, until it has `total`.
  Seen run(int total) {
    const auto deadline = Clock::now() + kLimit;
    while (last_ < static_cast<uint64_t>(total) && seen_.error.empty()) {
      if (Clock::now() > deadline) {
        seen_.error = "out of time at seq " + std::to_string(last_);
        break;
      }
      const int want = 1 + static_cast<int>(rng_() % 40);
      ++seen_.connections;
      switch (t_) {
        case Transport::kRaw:
          raw(want);
          break;
        case Transport::kJson:
          json(want);
          break;
        case Transport::kSse:
          sse(want);
          break;
      }
    }
    return seen_;
  }

 private:
  std::string position() const { return cat(epoch_, ":", std::to_string(last_)); }
  void got(uint64_t seq, std::string payload) {
    seen_.seqs.push_back(seq);
    seen_.payloads.push_back(std::move(payload));
    last_ = seq;
  }

  void raw(int want) {
    Client c(port_);
    std::string resp;
    if (c.upgrade(cat("/ws/", room_, "?since=", position()), &resp) != 101) {
      seen_.error = "raw upgrade: " + resp.substr(0, 80);
      return;
    }
    if (header(resp, "X-Ringchat-Recovered") != "true") ++seen_.not_recovered;
    uint64_t seq = std::stoull(header(resp, "X-Ringchat-First"));
    for (int i = 0; i < want; ++i) {
      auto m = c.recv_data(500);
      if (!m) return;  // the publisher may be done
      got(seq++, m->payload);
    }
    c.reset_now();
  }

  void json(int want) {
    Client c(port_);
    if (c.upgrade("/ws") != 101) {
      seen_.error = "json upgrade";
      return;
    }
    c.send_text(cat(R"({"type":"join","room":")", room_, R"(","since":")", position(), R"("})"));
    simdjson::dom::parser parser;
    for (int i = 0; i <= want; ++i) {  // `joined` first
      auto m = c.recv_data(500);
      if (!m) return;
      simdjson::dom::element e;
      if (parser.parse(m->payload).get(e) != simdjson::SUCCESS) {
        seen_.error = "json: " + m->payload.substr(0, 80);
        return;
      }
      const std::string_view type = e["type"].get_string().value_unsafe();
      if (type == "joined") {
        if (!e["recovered"].get_bool().value_unsafe()) ++seen_.not_recovered;
        continue;
      }
      if (type != "msg") continue;  // presence events
      got(e["seq"].get_uint64().value_unsafe(), std::string(e["data"].get_string().value_unsafe()));
    }
    c.reset_now();
  }

  void sse(int want) {
    Client c(port_);
    c.send_raw(
        cat("GET /sse/", room_, " HTTP/1.1\r\nHost: x\r\nLast-Event-ID: ", position(), "\r\n\r\n"));
    EventParser parser;
    std::string buf;
    bool body = false;
    int n = 0;
    const auto until = Clock::now() + std::chrono::seconds(5);
    while (n < want && Clock::now() < until) {
      std::string in = c.read_some(500);
      if (in.empty()) break;
      if (!body) {
        buf += in;
        const size_t end = buf.find("\r\n\r\n");
        if (end == std::string::npos) continue;
        body = true;
        in = buf.substr(end + 4);
      }
      for (const Event& e : parser.feed(in)) {
        if (e.type == "joined") {
          if (e.data.find(R"("recovered":true)") == std::string::npos) ++seen_.not_recovered;
          continue;
        }
        got(std::stoull(e.id.substr(e.id.find(':') + 1)), e.data);
        ++n;
      }
    }
    c.reset_now();
  }

  uint16_t port_;
  Transport t_;
  std::string room_, epoch_;
  std::mt19937 rng_;
  uint64_t last_ = 0;
  Seen seen_;
};

class ChurnTest : public ::testing::TestWithParam<unsigned> {};

TEST_P(ChurnTest, EveryTransportResumesWithoutGapOrDuplicate) {
  TestServer server(test_config(GetParam()));
  // One message first: the rooms' epochs, which every position starts from.
  std::vector<std::string> rooms, epochs;
  Client api(server.port());
  auto publish = [&](const std::string& room, int i) {
    return api.publish(room, cat(room, "#", std::to_string(i))).epoch;
  };
  for (int r = 0; r < kRooms; ++r) {
    rooms.push_back(cat("churn-", std::to_string(r)));
    epochs.push_back(publish(rooms.back(), 1));
  }
  std::atomic<bool> done{false};
  std::thread publisher([&] {
    for (int i = 2; i <= kMessages; ++i) {
      for (const auto& room : rooms) publish(room, i);
      if (i % 20 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    done = true;
  });
  std::vector<Seen> seen(kRooms * 3);
  std::vector<std::thread> subs;
  for (int r = 0; r < kRooms; ++r) {
    for (int t = 0; t < 3; ++t) {
      const size_t i = static_cast<size_t>(r * 3 + t);
      subs.emplace_back([&, r, t, i] {
        Subscriber s(server.port(), static_cast<Transport>(t), rooms[r], epochs[r],
                     static_cast<uint32_t>(GetParam() * 100 + i));
        seen[i] = s.run(kMessages);
      });
    }
  }
  publisher.join();
  for (auto& s : subs) s.join();
  EXPECT_TRUE(done);
  const char* names[] = {"raw", "json", "sse"};
  for (size_t i = 0; i < seen.size(); ++i) {
    const Seen& s = seen[i];
    const std::string who = cat(names[i % 3], " in ", rooms[i / 3]);
    EXPECT_EQ(s.error, "") << who;
    EXPECT_EQ(s.not_recovered, 0) << who;
    EXPECT_GT(s.connections, 5) << who << ": churn means many connections";
    ASSERT_EQ(s.seqs.size(), static_cast<size_t>(kMessages)) << who;
    for (size_t k = 0; k < s.seqs.size(); ++k) {
      ASSERT_EQ(s.seqs[k], k + 1) << who << ": a gap or a duplicate";
      ASSERT_EQ(s.payloads[k], cat(rooms[i / 3], "#", std::to_string(k + 1))) << who;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Shards, ChurnTest, ::testing::Values(2u, 4u));

}  // namespace
}  // namespace ringchat::testing
