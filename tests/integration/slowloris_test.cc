// Slowloris: hundreds of connections that trickle a request a byte at a time
// never finish it; --handshake-timeout closes each of them on time, however
// busy they keep the shard, and a client in a room is served meanwhile.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "ws_client.h"

namespace ringchat::testing {
namespace {

using Clock = std::chrono::steady_clock;

TEST(Slowloris, TricklingRequestsAreClosedAtTheHandshakeDeadlineAndOthersAreServed) {
  constexpr int kConns = 300;
  constexpr int kTimeoutMs = 1500;
  auto cfg = test_config(2);
  cfg.handshake_timeout_ms = kTimeoutMs;
  TestServer server(cfg);
  Client member(server.port());
  ASSERT_EQ(member.upgrade("/ws/slow-room"), 101);

  std::vector<std::unique_ptr<Client>> slow;
  for (int i = 0; i < kConns; ++i) {
    slow.push_back(std::make_unique<Client>(server.port()));
    ASSERT_GE(slow.back()->fd(), 0) << i;
  }
  const std::string request = "GET /healthz HTTP/1.1\r\nHost: slow\r\nX-Pad: aaaaaaaaaaaaaaaaaaaa";
  const auto start = Clock::now();
  // One byte per connection every 100 ms, until the deadline plus a margin:
  // never the end of the head.
  int served = 0;
  bool checked_early = false;
  for (size_t pos = 0; Clock::now() - start < std::chrono::milliseconds(kTimeoutMs + 1000); ++pos) {
    if (!checked_early && Clock::now() - start >= std::chrono::milliseconds(kTimeoutMs / 2)) {
      // Half-way to the deadline every one of them is still open.
      checked_early = true;
      int open = 0;
      for (auto& c : slow) open += c->wait_eof(0) ? 0 : 1;
      EXPECT_EQ(open, kConns) << "tricklers closed before their deadline";
    }
    const char byte = request[pos % request.size()];
    for (auto& c : slow) {
      if (!c->peer_closed()) c->send_raw(std::string_view(&byte, 1));
    }
    // The room keeps working while the shards are being trickled at.
    member.send_text("still served " + std::to_string(pos));
    auto m = member.recv_data(1000);
    ASSERT_TRUE(m.has_value()) << "the member's echo did not come back at byte " << pos;
    ++served;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_GE(served, 10);
  // Every trickler is gone by now (its deadline passed a second ago).
  int closed = 0;
  for (auto& c : slow) closed += c->wait_eof(500) ? 1 : 0;
  EXPECT_EQ(closed, kConns);
  EXPECT_GE(server.total(obs::Metric::kHandshakeTimeouts), static_cast<uint64_t>(kConns));
}

}  // namespace
}  // namespace ringchat::testing
