// The output path under pressure (issue 6): clients that never read, that
// flood pings or pipelined requests, that read slowly or vanish mid-send,
// and messages as large as --max-message. Whatever one client does, the
// server survives, bounds what it queues, closes the offender, and every
// client that keeps up gets every message byte-exact, in order.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "ringchat/ws/frame_encoder.h"
#include "ws_client.h"

namespace ringchat::testing {
namespace {

using obs::Metric;
using ws::Opcode;

constexpr int kSmallRcvbuf = 4096;  // the kernel doubles it: ~8 KiB
constexpr size_t kMiB = 1u << 20;
constexpr int kBigWaitMs = 30000;  // a 16 MiB echo under ASan on one CPU

// `count` masked client frames of `size` payload bytes each, back to back.
std::string client_frames(Opcode op, size_t size, int count) {
  std::string out;
  for (int i = 0; i < count; ++i) {
    std::string payload(size, static_cast<char>('a' + i % 26));
    ws::append_client_frame(out, op, ws::as_bytes(payload), 0x01020304u + i);
  }
  return out;
}

// A payload that says where it belongs: "<tag> <index>|" then a pattern
// that differs per index, `size` bytes in all (ASCII, so valid as text).
std::string numbered(std::string_view tag, int index, size_t size) {
  std::string head = std::string(tag) + " " + std::to_string(index) + "|";
  std::string out(size, '\0');
  for (size_t i = 0; i < size; ++i) out[i] = static_cast<char>('a' + (i * 7 + index) % 26);
  out.replace(0, std::min(head.size(), size), head, 0, std::min(head.size(), size));
  return out;
}

std::string get(std::string_view path, std::string_view extra = {}) {
  return "GET " + std::string(path) + " HTTP/1.1\r\nHost: x\r\n" + std::string(extra) + "\r\n";
}

// What the output path counted, for failure messages.
std::string output_counters(const TestServer& server) {
  std::string out;
  auto add = [&](const char* name, Metric m) {
    out += std::string(" ") + name + "=" + std::to_string(server.total(m));
  };
  add("slow_consumer_closes", Metric::kSlowConsumerCloses);
  add("shard_backlog_sheds", Metric::kShardBacklogSheds);
  add("ws_protocol_errors", Metric::kWsProtocolErrors);
  add("ws_idle_closes", Metric::kWsIdleCloses);
  add("input_pauses", Metric::kInputPauses);
  add("send_queued_peak", Metric::kSendQueuedPeak);
  add("handshake_timeouts", Metric::kHandshakeTimeouts);
  add("http_requests", Metric::kHttpRequests);
  return out;
}

std::unique_ptr<Client> join(const TestServer& server, std::string_view room,
                             ClientOptions opts = {}) {
  auto c = std::make_unique<Client>(server.port(), opts);
  EXPECT_EQ(c->upgrade("/ws/" + std::string(room)), 101) << room;
  return c;
}

// A new client in its own room still chats normally.
void expect_alive(const TestServer& server) {
  auto c = join(server, "bystander");
  c->send_text("still here");
  auto m = c->recv_data();
  ASSERT_TRUE(m) << "the server no longer answers";
  EXPECT_EQ(m->payload, "still here");
}

// A closed client gets its close frame only if it reads before the
// lingering close gives up; these clients read only after the flood ends.
constexpr uint32_t kPatientCloseMs = 60000;

// The server sent `c` a close frame with `code` and then closed TCP.
void expect_closed_with(Client& c, uint16_t code) {
  EXPECT_EQ(c.read_until_close(), code)
      << (c.peer_closed() ? "connection ended without that close frame" : "still open");
  c.close_now();
  EXPECT_TRUE(c.wait_eof());
}

// `c` itself still chats: it was not closed after its big echo.
void expect_still_open(Client& c) {
  c.send_text("after");
  auto m = c.recv_data();
  ASSERT_TRUE(m) << "no answer";
  ASSERT_NE(m->op, Opcode::kClose) << "closed with " << m->close_code << ": " << m->payload;
  EXPECT_EQ(m->payload, "after");
}

// The next data message is exactly `want` (compared without printing megabytes).
void expect_message(Client& c, const std::string& want, Opcode op, int timeout_ms = kWaitMs) {
  auto m = c.recv_data(timeout_ms);
  ASSERT_TRUE(m) << "no message (wanted " << want.size() << " bytes)";
  ASSERT_NE(m->op, Opcode::kClose) << "closed with " << m->close_code << ": " << m->payload;
  EXPECT_EQ(m->op, op);
  EXPECT_EQ(m->payload.size(), want.size());
  EXPECT_TRUE(m->payload == want) << "payload differs: " << m->payload.substr(0, 40);
}

// Rounds of `per_round` clients, each alone in a fresh room, sending 1000-byte
// binary messages as fast as they can and never reading. Each is closed (a
// slow consumer, 1008, paused a whole ping interval; or idle, 1001); the
// server survives and serves a bystander.
void run_lone_flooders(unsigned shards, int rounds, int per_round) {
  auto cfg = test_config(shards);
  cfg.ping_interval_ms = 300;
  cfg.close_timeout_ms = kPatientCloseMs;
  TestServer server(cfg);
  ASSERT_NE(server.port(), 0);
  const std::string pattern = client_frames(Opcode::kBinary, 1000, 64);
  for (int r = 0; r < rounds; ++r) {
    std::vector<std::unique_ptr<Client>> flooders;
    std::vector<Client*> raw;
    for (int i = 0; i < per_round; ++i) {
      std::string room = "lonely-" + std::to_string(r) + "-" + std::to_string(i);
      flooders.push_back(join(server, room, {.rcvbuf = kSmallRcvbuf}));
      raw.push_back(flooders.back().get());
    }
    // Closed as slow consumers (1008); a flooder the scheduler starved for
    // two ping intervals (both CPUs busy) is closed as idle (1001) first.
    auto closed = [&] {
      return server.total(Metric::kSlowConsumerCloses) + server.total(Metric::kWsIdleCloses);
    };
    const uint64_t want = closed() + per_round;
    flood(raw, {.pattern = pattern, .max_ms = 8000, .max_bytes = 64 * kMiB},
          [&] { return closed() >= want; });
    for (int i = 0; i < kBigWaitMs / 10 && closed() < want; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));  // polling a metric
    }
    ASSERT_GE(closed(), want) << "round " << r << ": flooders not closed;"
                              << output_counters(server);
    for (auto& c : flooders) {
      const uint16_t code = c->read_until_close();
      EXPECT_TRUE(code == 1008 || code == 1001) << "closed with " << code;
      c->close_now();
      EXPECT_TRUE(c->wait_eof());
    }
  }
  expect_alive(server);
}

TEST(OutputPath, LoneFlooderThatNeverReadsIsClosedAndServerSurvivesOnOneShard) {
  run_lone_flooders(1, 2, 4);  // every member on its room's owner shard
}

TEST(OutputPath, LoneFlooderThatNeverReadsIsClosedAndServerSurvivesOnTwoShards) {
  run_lone_flooders(2, 3, 4);
}

TEST(OutputPath, LoneFlooderThatNeverReadsIsClosedAndServerSurvivesOnFourShards) {
  run_lone_flooders(4, 3, 4);
}

TEST(OutputPath, HugeMessageEchoSurvivesTwoShardsOnOneCpu) {
  auto cfg = test_config(2);
  cfg.cpus = {0};
  cfg.max_message = 16 * kMiB;
  TestServer server(cfg);
  for (int i = 0; i < 3; ++i) {
    // A fresh client and room each time: the member lands on the room's
    // owner shard or not, as the kernel and the hash decide.
    auto c = join(server, "huge-" + std::to_string(i));
    const std::string msg = numbered("huge", i, 16 * kMiB);
    c->send_frame(Opcode::kText, msg);
    ASSERT_NO_FATAL_FAILURE(expect_message(*c, msg, Opcode::kText, kBigWaitMs));
    expect_still_open(*c);
  }
  EXPECT_EQ(server.total(Metric::kSlowConsumerCloses), 0u);
  expect_alive(server);
}

TEST(OutputPath, PingFloodThatNeverReadsIsClosed) {
  auto cfg = test_config(2);
  cfg.max_backlog = 1 * kMiB;
  cfg.ping_interval_ms = 300;
  cfg.close_timeout_ms = kPatientCloseMs;
  TestServer server(cfg);
  auto pinger = join(server, "pings", {.rcvbuf = kSmallRcvbuf});
  const std::string pings = client_frames(Opcode::kPing, ws::kMaxControlPayload, 512);
  Client* raw[] = {pinger.get()};
  // Every pong counts against the backlog like any other frame.
  flood(raw, {.pattern = pings, .max_ms = 4000, .max_bytes = 64 * kMiB},
        [&] { return server.total(Metric::kSlowConsumerCloses) >= 1; });
  EXPECT_LE(server.total(Metric::kSendQueuedPeak), cfg.max_backlog + 128 * 1024);
  ASSERT_TRUE(server.wait_metric(Metric::kSlowConsumerCloses, 1))
      << "pongs piled up unbounded;" << output_counters(server);
  expect_closed_with(*pinger, 1008);
  expect_alive(server);
}

TEST(OutputPath, PipelinedRequestsThatNeverReadAreBounded) {
  auto cfg = test_config(1);
  cfg.handshake_timeout_ms = 500;
  TestServer server(cfg);
  size_t answer = 0;
  {
    Client probe(server.port());
    std::string resp;
    ASSERT_EQ(probe.http(get("/metrics", "Connection: close\r\n"), &resp), 200);
    answer = resp.size();
  }
  std::string requests;
  for (int i = 0; i < 100; ++i) requests += get("/metrics");
  Client pipeliner(server.port(), {.rcvbuf = kSmallRcvbuf});
  Client* raw[] = {&pipeliner};
  // It never reads: answers must stop being made, not pile up, and with no
  // request served for a handshake timeout the connection is closed.
  auto res = flood(raw, {.pattern = requests, .max_ms = 6000, .max_bytes = 512 * 1024});
  EXPECT_TRUE(server.wait_metric(Metric::kHandshakeTimeouts, 1))
      << "pipeliner never timed out;" << output_counters(server);
  EXPECT_GE(server.total(Metric::kInputPauses), 1u) << "requests parsed while answers unsent";
  EXPECT_LE(server.total(Metric::kSendQueuedPeak), 64 * 1024 + answer + 32 * 1024);
  // The probe's request is served too; with backpressure most of the
  // pipeliner's stay unparsed in the kernel's buffers.
  EXPECT_LT(server.total(Metric::kHttpRequests), 1 + res[0].bytes / get("/metrics").size())
      << "every request sent was answered although no answer was read";
  Client other(server.port());
  EXPECT_EQ(other.http(get("/healthz", "Connection: close\r\n")), 200);
}

TEST(OutputPath, ReaderThatKeepsUpIsNotClosedForABurst) {
  auto cfg = test_config(2);
  cfg.max_backlog = 2 * kMiB;
  // Output drains slower than input arrives: the server must slow the
  // publisher down (backpressure) rather than let its own echoes pile up.
  cfg.sndbuf = 65536;
  TestServer server(cfg);
  auto c = join(server, "burst");
  std::vector<std::string> sent;
  for (int i = 0; i < 10; ++i) sent.push_back(numbered("burst", i, 1 * kMiB));
  std::vector<std::optional<WsMessage>> got;
  // Reads its own echoes on a second thread while this one publishes.
  std::thread reader([&] {
    for (int i = 0; i < 10; ++i) {
      got.push_back(c->recv_data(kBigWaitMs));
      if (!got.back() || got.back()->op == Opcode::kClose) return;
    }
  });
  for (const std::string& m : sent) c->send_frame(Opcode::kBinary, m);
  reader.join();
  ASSERT_FALSE(got.empty());
  const auto& last = got.back();
  ASSERT_EQ(got.size(), sent.size())
      << "echoes stopped after " << got.size() - 1 << ": "
      << (!last ? "nothing more"
                : "closed " + std::to_string(last->close_code) + " " + last->payload)
      << ";" << output_counters(server);
  for (size_t i = 0; i < sent.size(); ++i) {
    ASSERT_TRUE(got[i]) << "message " << i << " missing";
    ASSERT_NE(got[i]->op, Opcode::kClose) << "closed with " << got[i]->close_code;
    EXPECT_TRUE(got[i]->payload == sent[i]) << "message " << i << " differs";
  }
  EXPECT_EQ(server.total(Metric::kSlowConsumerCloses), 0u);
}

TEST(OutputPath, OneMessageAsLargeAsMaxMessageEchoesWholeWithTheDefaultBacklog) {
  auto cfg = test_config(1);
  cfg.max_message = 16 * kMiB;  // twice the default --send-backlog
  TestServer server(cfg);
  auto c = join(server, "whole");
  const std::string msg = numbered("whole", 0, 16 * kMiB);
  c->send_frame(Opcode::kBinary, msg);
  ASSERT_NO_FATAL_FAILURE(expect_message(*c, msg, Opcode::kBinary, kBigWaitMs));
  expect_still_open(*c);
  EXPECT_EQ(server.total(Metric::kSlowConsumerCloses), 0u);
}

TEST(OutputPath, ManyQueuedFramesGoOutOverSeveralSends) {
  auto cfg = test_config(1);
  cfg.sndbuf = 4096;  // the kernel holds little: the frames wait in the send queue
  TestServer server(cfg);
  auto reader = join(server, "many", {.rcvbuf = kSmallRcvbuf});
  auto publisher = join(server, "many");
  constexpr int kMessages = 3000;  // > net::SendQueue::kMaxIov and > IOV_MAX (1024)
  std::string burst;
  for (int i = 0; i < kMessages; ++i) {
    ws::append_client_frame(burst, Opcode::kText, ws::as_bytes(numbered("m", i, 100)), 7u + i);
  }
  publisher->send_raw(burst);
  // Once the publisher has its own echoes, every frame is queued to the
  // reader too (same shard, same fan-out); the reader has read nothing yet.
  for (int i = 0; i < kMessages; ++i) {
    ASSERT_NO_FATAL_FAILURE(expect_message(*publisher, numbered("m", i, 100), Opcode::kText));
  }
  for (int i = 0; i < kMessages; ++i) {
    ASSERT_NO_FATAL_FAILURE(expect_message(*reader, numbered("m", i, 100), Opcode::kText));
  }
}

TEST(OutputPath, ReaderThatVanishesMidSendCostsOnlyItself) {
  auto cfg = test_config(2);
  cfg.sndbuf = 4096;  // nearly every send to a slow reader is partial
  TestServer server(cfg);
  auto publisher = join(server, "vanish");
  std::vector<std::unique_ptr<Client>> readers;
  for (int i = 0; i < 2; ++i) readers.push_back(join(server, "vanish"));
  std::vector<std::unique_ptr<Client>> vanishers;
  for (int i = 0; i < 4; ++i) vanishers.push_back(join(server, "vanish", {.rcvbuf = kSmallRcvbuf}));
  constexpr int kMessages = 16;
  for (int i = 0; i < kMessages; ++i) {
    const std::string msg = numbered("v", i, 200 * 1024);
    publisher->send_frame(Opcode::kBinary, msg);
    if (i % 3 == 2 && i / 3 < 4) {
      // Part of a frame read, the rest in flight: then a reset.
      Client& v = *vanishers[static_cast<size_t>(i / 3)];
      EXPECT_FALSE(v.read_some().empty());
      v.reset_now();
    }
    ASSERT_NO_FATAL_FAILURE(expect_message(*publisher, msg, Opcode::kBinary));
    for (auto& r : readers) ASSERT_NO_FATAL_FAILURE(expect_message(*r, msg, Opcode::kBinary));
  }
  EXPECT_TRUE(server.wait_metric(Metric::kConnectionsClosed, 4));
  expect_alive(server);
}

// Over --shard-backlog the shard closes its biggest consumer first, and
// only as many as it takes: a smaller one keeps its message.
TEST(OutputPath, ShardOverItsBacklogShedsTheBiggestConsumerFirst) {
  auto cfg = test_config(1);
  cfg.max_backlog = 64 * kMiB;  // no single client is a slow consumer here
  cfg.max_shard_backlog = 2 * kMiB;
  cfg.sndbuf = 4096;  // the kernel holds little: the frames wait in the send queues
  cfg.echo = false;
  TestServer server(cfg);
  auto small_reader = join(server, "shed-small", {.rcvbuf = kSmallRcvbuf});
  auto big_reader = join(server, "shed-big", {.rcvbuf = kSmallRcvbuf});
  auto small_publisher = join(server, "shed-small");
  auto big_publisher = join(server, "shed-big");
  const std::string small_msg = numbered("small", 0, kMiB / 2);
  small_publisher->send_frame(Opcode::kBinary, small_msg);
  ASSERT_TRUE(server.wait_metric(Metric::kWsMessagesIn, 1));
  for (int i = 0; i < 4; ++i) {
    big_publisher->send_frame(Opcode::kBinary, numbered("big", i, kMiB / 2));
  }
  ASSERT_TRUE(server.wait_metric(Metric::kShardBacklogSheds, 1)) << output_counters(server);
  expect_closed_with(*big_reader, 1008);
  ASSERT_NO_FATAL_FAILURE(expect_message(*small_reader, small_msg, Opcode::kBinary));
  small_publisher->send_text("after");
  ASSERT_NO_FATAL_FAILURE(expect_message(*small_reader, "after", Opcode::kText));
  EXPECT_EQ(server.total(Metric::kShardBacklogSheds), 1u);
  EXPECT_EQ(server.total(Metric::kSlowConsumerCloses), 0u);
  EXPECT_LE(server.total(Metric::kSendQueuedPeak), cfg.max_shard_backlog + cfg.max_message + kMiB);
}

// Until the server has queued the room's first message to its members,
// `reader` sends unsolicited pongs (RFC 6455 §5.5.3), so that a slow
// server (ASan, a busy CPU) cannot find it idle before the test begins.
bool keep_alive_until_delivered(const TestServer& server, Client& reader) {
  for (int i = 0; i < kBigWaitMs / 20; ++i) {
    reader.send_frame(Opcode::kPong, "");
    if (server.wait_metric(Metric::kWsFramesOut, 1, 20)) return true;
  }
  return false;
}

// Server pings queued behind one message bigger than --send-backlog do not
// make a reader that keeps up a slow consumer.
TEST(OutputPath, PingsBehindABigMessageDoNotCloseAReaderThatKeepsUp) {
  auto cfg = test_config(1);
  cfg.max_backlog = kMiB;
  cfg.max_message = 4 * kMiB;
  // Long enough that even a slow server queues the message before it finds
  // the reader idle (it sends nothing after its handshake).
  cfg.ping_interval_ms = 1000;
  cfg.sndbuf = 4096;  // the kernel holds little: the big frame waits in the queue
  cfg.echo = false;
  TestServer server(cfg);
  auto reader = join(server, "pinged", {.rcvbuf = kSmallRcvbuf});
  auto publisher = join(server, "pinged");
  const std::string msg = numbered("big", 0, 4 * kMiB);
  publisher->send_frame(Opcode::kBinary, msg);
  ASSERT_TRUE(server.wait_metric(Metric::kWsFramesOut, 1, kBigWaitMs));
  // Not a synchronisation: the reader takes its time (more than a ping
  // interval) before it starts, so pings are queued behind the big frame.
  std::this_thread::sleep_for(std::chrono::milliseconds(cfg.ping_interval_ms * 3 / 2));
  ASSERT_NO_FATAL_FAILURE(expect_message(*reader, msg, Opcode::kBinary, kBigWaitMs));
  // It never answered a ping, so an idle close (1001) may follow; 1008 may not.
  const uint16_t code = reader->read_until_close();
  EXPECT_NE(code, 1008) << output_counters(server);
  EXPECT_EQ(server.total(Metric::kSlowConsumerCloses), 0u) << output_counters(server);
}

// A reader that takes many ping intervals to read one big message cannot
// answer the pings queued behind it; reading is its sign of life, so it is
// not closed as idle.
TEST(OutputPath, SlowReaderOfABigMessageIsNotClosedAsIdle) {
  auto cfg = test_config(1);
  cfg.ping_interval_ms = 100;
  cfg.sndbuf = 4096;
  cfg.echo = false;
  TestServer server(cfg);
  auto reader = join(server, "slow", {.rcvbuf = kSmallRcvbuf});
  auto publisher = join(server, "slow");
  const std::string msg = numbered("slow", 0, kMiB);
  publisher->send_frame(Opcode::kBinary, msg);
  ASSERT_TRUE(keep_alive_until_delivered(server, *reader));
  publisher->reset_now();  // it would be idle; only the reader is judged here
  // Reads a little at a time (pacing, not synchronising): about a second,
  // ten ping intervals, for the whole message.
  ws::FrameParser parser(ws::Role::kClient, 2 * kMiB);
  std::string wire;
  std::optional<ws::Event> first;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kBigWaitMs);
  while (!first && std::chrono::steady_clock::now() < deadline) {
    std::string more = reader->read_some(kWaitMs);
    ASSERT_FALSE(more.empty()) << "connection ended;" << output_counters(server);
    wire += more;
    std::span<std::byte> in{reinterpret_cast<std::byte*>(wire.data()), wire.size()};
    // Pings sent before the message was queued may come first.
    for (auto r = parser.next(in); !first; r = parser.next(in)) {
      ASSERT_TRUE(r.ok());
      if (r->kind == ws::Event::Kind::kNeedMore) break;
      if (r->kind == ws::Event::Kind::kMessage || r->kind == ws::Event::Kind::kClose) first = *r;
    }
    wire.erase(0, wire.size() - in.size());
    std::this_thread::sleep_for(std::chrono::milliseconds(8));
  }
  ASSERT_TRUE(first) << "no message before the deadline";
  EXPECT_EQ(first->kind, ws::Event::Kind::kMessage) << "closed before the message was read";
  EXPECT_EQ(first->payload.size(), msg.size());
  EXPECT_EQ(server.total(Metric::kWsIdleCloses), 0u) << output_counters(server);
}

}  // namespace
}  // namespace ringchat::testing
