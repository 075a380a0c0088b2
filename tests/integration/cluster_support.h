#pragma once
// What the cluster-mode integration tests (cluster_test.cc over one Redis,
// redis_cluster_test.cc over a Redis Cluster) do to their nodes alike.
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "ws_client.h"

namespace ringchat::testing {

// /readyz answers `want` within the deadline (a node is ready once it
// reached Redis).
inline bool ready(const TestServer& node, int want = 200, int timeout_ms = 15000) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < end) {
    Client c(node.port());
    if (c.http("GET /readyz HTTP/1.1\r\nHost: t\r\n\r\n") == want) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

// A raw room member on `node` (path /ws/ROOM...), with its 101.
inline std::unique_ptr<Client> member(const TestServer& node, const std::string& path) {
  auto c = std::make_unique<Client>(node.port());
  std::string resp;
  EXPECT_EQ(c->upgrade(path, &resp), 101) << resp;
  return c;
}

// A JSON socket on `node` that joined `room`.
inline std::unique_ptr<Client> json_member(const TestServer& node, const std::string& room) {
  auto c = std::make_unique<Client>(node.port());
  EXPECT_EQ(c->upgrade("/ws"), 101);
  c->send_text(cat(R"({"type":"join","room":")", room, R"(","id":"j"})"));
  auto m = c->recv_data(10000);
  EXPECT_TRUE(m && m->payload.find(R"("type":"joined")") != std::string::npos);
  return c;
}

// The next `n` data messages of `c` (fewer if it closes or falls silent).
inline std::vector<std::string> read_n(Client& c, size_t n, int timeout_ms = 15000) {
  std::vector<std::string> out;
  while (out.size() < n) {
    auto m = c.recv_data(timeout_ms);
    if (!m || m->op == ws::Opcode::kClose) break;
    out.push_back(m->payload);
  }
  return out;
}

}  // namespace ringchat::testing
