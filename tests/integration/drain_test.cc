// The drain (SIGTERM; here TestServer::drain(), the same request): goodbyes
// paced over the window, each with a reconnect hint in the documented
// formats (docs/PROTOCOL.md, "Draining"), connections working until their
// turn, HTTP requests under way answered with Connection: close, nothing
// new accepted, and the end once every shard is done.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "ringchat/chat/room_name.h"
#include "ws_client.h"

namespace ringchat::testing {
namespace {

using Clock = std::chrono::steady_clock;
using ws::Opcode;

int64_t ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(b - a).count();
}

// The largest hint the server may give: the drain timeout, plus a jitter
// window of the drain timeout (at least a second).
uint64_t max_retry_ms(uint64_t drain_ms) { return drain_ms + std::max<uint64_t>(drain_ms, 1000); }

// The N of a close reason `draining; retry_ms=N`, or -1.
int64_t retry_of_reason(const std::string& reason) {
  std::smatch m;
  if (!std::regex_match(reason, m, std::regex(R"(draining; retry_ms=(\d+))"))) return -1;
  return std::stoll(m[1]);
}

chat::ShardConfig drain_config(unsigned shards, uint32_t drain_ms) {
  chat::ShardConfig cfg = test_config(shards);
  cfg.drain_timeout_ms = drain_ms;
  return cfg;
}

// What one room socket saw during the drain.
struct Seen {
  Clock::time_point closed{};
  uint16_t code = 0;
  std::string reason;
  std::vector<std::string> got;  // the room's messages, in order
  struct Sent {
    std::string text;
    Clock::time_point at;
  };
  std::vector<Sent> sent;
};

// Until its close frame (or `deadline`): publishes "<id>:<n>" every
// `every_ms` and reads the room.
void publish_and_read(Client& c, int id, int every_ms, Clock::time_point deadline, Seen& s) {
  auto next_pub = Clock::now();
  for (int n = 0; Clock::now() < deadline;) {
    if (Clock::now() >= next_pub) {
      s.sent.push_back({cat(std::to_string(id), ":", std::to_string(n++)), Clock::now()});
      c.send_text(s.sent.back().text);
      next_pub += std::chrono::milliseconds(every_ms);
    }
    auto m =
        c.recv_data(static_cast<int>(std::max<int64_t>(1, ms_between(Clock::now(), next_pub))));
    if (!m) {
      if (c.peer_closed()) return;
      continue;
    }
    if (m->op == Opcode::kClose) {
      s.closed = Clock::now();
      s.code = m->close_code;
      s.reason = m->payload;
      c.close_now();  // the closing handshake's end: the server need not wait
      return;
    }
    s.got.push_back(m->payload);
  }
}

TEST(Drain, PacesGoodbyesOverTheWindowWithAHintAndDeliversUntilEachTurn) {
  constexpr int kClients = 40;
  constexpr uint32_t kDrainMs = 3000;
  TestServer server(drain_config(2, kDrainMs));
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.push_back(std::make_unique<Client>(server.port()));
    ASSERT_EQ(clients.back()->upgrade("/ws/drain"), 101);
  }
  std::vector<Seen> seen(kClients);
  const auto start = Clock::now();
  server.drain();
  const auto deadline = start + std::chrono::milliseconds(kDrainMs + 10'000);
  std::vector<std::thread> threads;
  for (int i = 0; i < kClients; ++i) {
    threads.emplace_back(
        [&, i] { publish_and_read(*clients[i], i, 100, deadline, seen[static_cast<size_t>(i)]); });
  }
  for (auto& t : threads) t.join();
  server.stop();
  // Within the drain timeout, plus slack for a loaded machine.
  EXPECT_LT(ms_between(start, Clock::now()), kDrainMs + 3000);

  auto first = Clock::time_point::max(), last = Clock::time_point::min();
  const Seen* longest = &seen[0];
  for (const Seen& s : seen) {
    ASSERT_EQ(s.code, 1001) << s.reason;
    const int64_t retry = retry_of_reason(s.reason);
    ASSERT_GE(retry, 0) << "close reason: " << s.reason;
    EXPECT_LE(static_cast<uint64_t>(retry), max_retry_ms(kDrainMs));
    // It comes back after the drain timeout, counted from the drain's start
    // (the server's clock counts whole ms).
    EXPECT_GE(ms_between(start, s.closed) + retry, int64_t{kDrainMs} - 2) << s.reason;
    first = std::min(first, s.closed);
    last = std::max(last, s.closed);
    if (s.got.size() > longest->got.size()) longest = &s;
  }
  // Spread over the window (80% of the timeout), not all at once.
  EXPECT_GE(ms_between(first, last), int64_t{kDrainMs} * 8 / 10 / 3);
  // Every socket saw the room's one sequence up to its close: a prefix of
  // what the last one saw. And that one saw messages sent after the first
  // goodbyes.
  for (const Seen& s : seen) {
    ASSERT_LE(s.got.size(), longest->got.size());
    EXPECT_TRUE(std::equal(s.got.begin(), s.got.end(), longest->got.begin()));
  }
  int after_first_close = 0;
  for (const Seen& s : seen) {
    for (const Seen::Sent& m : s.sent) {
      if (m.at > first &&
          std::find(longest->got.begin(), longest->got.end(), m.text) != longest->got.end()) {
        ++after_first_close;
      }
    }
  }
  EXPECT_GT(after_first_close, 0);
}

TEST(Drain, WithNoTimeoutEveryGoodbyeGoesAtOnceAndStillArrives) {
  TestServer server(drain_config(2, 0));
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < 40; ++i) {
    clients.push_back(std::make_unique<Client>(server.port()));
    ASSERT_EQ(clients.back()->upgrade("/ws/now"), 101);
  }
  server.drain();
  for (auto& c : clients) {
    auto m = c->recv_data();
    ASSERT_TRUE(m) << "no close frame";
    ASSERT_EQ(m->op, Opcode::kClose);
    EXPECT_EQ(m->close_code, 1001);
    const int64_t retry = retry_of_reason(m->payload);
    EXPECT_GE(retry, 0) << m->payload;
    EXPECT_LT(retry, 1000) << m->payload;  // jitter over at least a second
  }
}

// A JSON socket's messages ({"type":...}), for tests that read a few fields.
// A top-level string (quotes kept) or number field of a flat envelope. Plain
// string search: the late clients below parse hundreds of messages a second,
// which a std::regex per call cannot keep up with in a sanitizer build.
std::string field(const std::string& json, const std::string& key) {
  const std::string tag = cat("\"", key, "\":");
  const size_t at = json.find(tag);
  if (at == std::string::npos) return {};
  const size_t from = at + tag.size();
  if (from < json.size() && json[from] == '"') {
    const size_t end = json.find('"', from + 1);
    return end == std::string::npos ? std::string() : json.substr(from, end + 1 - from);
  }
  size_t end = from;
  while (end < json.size() && json[end] >= '0' && json[end] <= '9') ++end;
  return json.substr(from, end - from);
}

TEST(Drain, JsonSocketGetsTheDrainingEnvelopeThenTheCloseFrame) {
  TestServer server(drain_config(2, 3000));
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < 3; ++i) {
    clients.push_back(std::make_unique<Client>(server.port()));
    ASSERT_EQ(clients.back()->upgrade("/ws"), 101);
    clients.back()->send_text(R"({"type":"join","room":"j","id":"x"})");
    auto joined = clients.back()->recv_data();
    ASSERT_TRUE(joined && field(joined->payload, "type") == R"("joined")");
  }
  server.drain();
  for (auto& c : clients) {
    // Presence events (the others' leaves) may come first.
    auto m = c->recv_data();
    while (m && m->op == Opcode::kText && field(m->payload, "type") != R"("draining")") {
      m = c->recv_data();
    }
    ASSERT_TRUE(m);
    ASSERT_EQ(m->op, Opcode::kText);
    std::smatch got;
    ASSERT_TRUE(
        std::regex_match(m->payload, got, std::regex(R"(\{"type":"draining","retry_ms":(\d+)\})")))
        << m->payload;
    auto close = c->recv_data();
    ASSERT_TRUE(close);
    ASSERT_EQ(close->op, Opcode::kClose);
    EXPECT_EQ(close->close_code, 1001);
    // One hint, said twice.
    EXPECT_EQ(close->payload, cat("draining; retry_ms=", got[1].str()));
    EXPECT_LE(std::stoull(got[1]), max_retry_ms(3000));
  }
}

TEST(Drain, SseStreamEndsWithRetryAndADrainingEvent) {
  TestServer server(drain_config(1, 3000));
  Client c(server.port());
  c.send_raw("GET /sse/s HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n");
  std::string stream;
  while (stream.find("event: joined") == std::string::npos) {
    std::string more = c.read_some();
    ASSERT_FALSE(more.empty()) << stream;
    stream += more;
  }
  server.drain();
  while (!c.peer_closed()) {
    std::string more = c.read_some();
    if (more.empty() && !c.peer_closed()) FAIL() << "no end of stream: " << stream;
    stream += more;
  }
  std::smatch m;
  ASSERT_TRUE(std::regex_search(
      stream, m,
      std::regex("\n\nretry: (\\d+)\n\nevent: draining\ndata: \\{\"retry_ms\":(\\d+)\\}\n\n$")))
      << stream;
  EXPECT_EQ(m[1], m[2]);
  EXPECT_LE(std::stoull(m[1]), max_retry_ms(3000));
}

// Connects until the listener is gone (the drain has begun), or the deadline.
bool refused_soon(uint16_t port) {
  const auto deadline = Clock::now() + std::chrono::milliseconds(kWaitMs);
  while (Clock::now() < deadline) {
    Client probe(port, ClientOptions{.rcvbuf = 0, .tls = false});  // a TCP connect is enough
    if (probe.fd() < 0) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // polling, not synchronising
  }
  return false;
}

TEST(Drain, AnswersHttpRequestsUnderWayWithConnectionCloseAndClosesIdleOnes) {
  // One shard: a request on `sync` answered means the bytes sent before it
  // on the other connections were read.
  TestServer server(drain_config(1, 3000));
  Client idle(server.port()), readyz(server.port()), upgrade(server.port()), sync(server.port());
  ASSERT_EQ(idle.http("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"), 200);
  ASSERT_TRUE(readyz.send_raw("GET /readyz HTTP/1.1\r\nHost: x\r\n"));
  ASSERT_TRUE(upgrade.send_raw(
      "GET /ws/late HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"));
  ASSERT_EQ(sync.http("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"), 200);

  server.drain();
  ASSERT_TRUE(refused_soon(server.port())) << "still accepting";
  // Between requests: closed, nothing said.
  EXPECT_TRUE(idle.wait_eof());
  // Under way: answered (not ready), and closed after.
  std::string resp;
  ASSERT_EQ(readyz.http("\r\n", &resp), 503);
  EXPECT_NE(resp.find("Connection: close\r\n"), std::string::npos) << resp;
  EXPECT_NE(resp.find("draining"), std::string::npos) << resp;
  EXPECT_TRUE(readyz.wait_eof());
  // An upgrade under way is refused: it would be closed again at once.
  ASSERT_EQ(upgrade.http("\r\n", &resp), 503);
  EXPECT_NE(resp.find("\"code\":\"draining\""), std::string::npos) << resp;
  EXPECT_NE(resp.find("Retry-After: "), std::string::npos) << resp;
  EXPECT_NE(resp.find("Connection: close\r\n"), std::string::npos) << resp;
  EXPECT_TRUE(upgrade.wait_eof());
}

TEST(Drain, EndsOnceEveryShardsConnectionsAreGone) {
  // A long drain timeout, one socket: the drain ends when it is closed, on
  // both shards (one of them has no connection at all).
  constexpr uint32_t kDrainMs = 60'000;
  TestServer server(drain_config(2, kDrainMs));
  Client c(server.port());
  ASSERT_EQ(c.upgrade("/ws/one"), 101);
  const auto start = Clock::now();
  server.drain();
  EXPECT_EQ(c.read_until_close(), 1001);
  c.close_now();
  server.stop();
  EXPECT_LT(ms_between(start, Clock::now()), kDrainMs / 2);
}

// The shard a JSON socket is on: the SHARD of the `from` ("SHARD-SLOT-GEN")
// of its own message in `room`; -1 on failure.
int shard_of(Client& c, const std::string& room) {
  c.send_text(cat(R"({"type":"join","room":")", room, R"("})"));
  c.send_text(cat(R"({"type":"pub","room":")", room, R"(","data":"whoami"})"));
  for (;;) {
    auto m = c.recv_data();
    if (!m) return -1;
    std::smatch got;
    if (std::regex_search(m->payload, got, std::regex(R"re("from":"(\d+)-)re"))) {
      return std::stoi(got[1]);
    }
  }
}

TEST(Drain, RoomsOfAShardWithNoConnectionLeftServeTheOthersUntilTheyAreDone) {
  // Every socket on shard 0, their room owned by shard 1, which has no
  // connection once the drain begins: it must go on sequencing the room
  // while shard 0's sockets wait their turn.
  constexpr uint32_t kDrainMs = 3000;
  constexpr size_t kClients = 16;  // two batches: at once, and half the window later
  TestServer server(drain_config(2, kDrainMs));
  std::string room;
  for (int i = 0; room.empty(); ++i) {
    std::string name = cat("owned-", std::to_string(i));
    if (chat::shard_for(chat::room_hash(name), 2) == 1) room = name;
  }
  std::vector<std::unique_ptr<Client>> clients;
  for (int tries = 0; clients.size() < kClients && tries < 400; ++tries) {
    auto c = std::make_unique<Client>(server.port());
    ASSERT_EQ(c->upgrade("/ws"), 101);
    const int shard = shard_of(*c, room);
    ASSERT_GE(shard, 0);
    if (shard == 0) {
      clients.push_back(std::move(c));
    } else {
      c->close_now();
    }
  }
  ASSERT_EQ(clients.size(), kClients) << "the kernel put too few connections on shard 0";

  struct Log {
    std::vector<std::pair<int, Clock::time_point>> sent;  // pub id, when
    std::vector<int> acked;
    Clock::time_point bye{};
  };
  std::vector<Log> logs(kClients);
  const auto start = Clock::now();
  server.drain();
  std::vector<std::thread> threads;
  for (size_t i = 0; i < kClients; ++i) {
    threads.emplace_back([&, i] {
      Client& c = *clients[i];
      Log& log = logs[i];
      const auto deadline = start + std::chrono::milliseconds(kDrainMs + 10'000);
      auto next_pub = Clock::now();
      for (int n = 1; Clock::now() < deadline;) {
        if (Clock::now() >= next_pub) {
          c.send_text(cat(R"({"type":"pub","room":")", room, R"(","data":1,"id":)",
                          std::to_string(n), "}"));
          log.sent.emplace_back(n++, Clock::now());
          next_pub += std::chrono::milliseconds(100);
        }
        auto m =
            c.recv_data(static_cast<int>(std::max<int64_t>(1, ms_between(Clock::now(), next_pub))));
        if (!m) {
          if (c.peer_closed()) return;
          continue;
        }
        if (m->op == Opcode::kClose) return c.close_now();
        if (field(m->payload, "type") == R"("draining")") log.bye = Clock::now();
        if (field(m->payload, "type") == R"("ack")")
          log.acked.push_back(std::stoi(field(m->payload, "id")));
      }
    });
  }
  for (auto& t : threads) t.join();
  server.stop();
  // The late half published for a while during the drain: every pub sent in
  // the first 500 ms of it was sequenced by shard 1 and acked.
  size_t late = 0;
  for (const Log& log : logs) {
    ASSERT_NE(log.bye, Clock::time_point{}) << "no draining envelope";
    if (ms_between(start, log.bye) < 800) continue;
    ++late;
    for (const auto& [id, at] : log.sent) {
      if (ms_between(start, at) > 500) break;
      EXPECT_NE(std::find(log.acked.begin(), log.acked.end(), id), log.acked.end())
          << "pub " << id << " sent " << ms_between(start, at) << " ms into the drain";
    }
  }
  EXPECT_GE(late, 1u);
}

}  // namespace
}  // namespace ringchat::testing
