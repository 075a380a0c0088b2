#pragma once
// A small blocking WebSocket client for integration tests: real sockets on
// 127.0.0.1, every wait bounded by a deadline.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "ringchat/app/server.h"
#include "ringchat/ws/close_code.h"
#include "ringchat/ws/frame_parser.h"

namespace ringchat::testing {

inline constexpr int kWaitMs = 5000;

// A server on 127.0.0.1 and an ephemeral port, stopped and joined on destruction.
class TestServer {
 public:
  explicit TestServer(chat::ShardConfig cfg);
  ~TestServer();
  uint16_t port() const { return port_; }
  const obs::Registry& metrics() const { return server_->metrics(); }
  uint64_t total(obs::Metric m) const { return metrics().total(m); }
  // Polls a metric until it reaches `at_least` or the deadline passes.
  bool wait_metric(obs::Metric m, uint64_t at_least, int timeout_ms = kWaitMs) const;
  void stop();

 private:
  std::unique_ptr<app::Server> server_;
  uint16_t port_ = 0;
  bool stopped_ = false;
};

chat::ShardConfig test_config(unsigned shards);

struct WsMessage {
  ws::Opcode op = ws::Opcode::kContinuation;
  std::string payload;
  uint16_t close_code = 0;  // for kClose
};

class Client {
 public:
  explicit Client(uint16_t port);  // connects (fd() < 0 on failure)
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  int fd() const { return fd_; }
  bool send_raw(std::string_view bytes);
  // Reads until `n` bytes arrived or the peer closed or the deadline passed.
  std::string read_some(int timeout_ms = kWaitMs);
  // Sends the request and reads one response (head + Content-Length body).
  // Returns the status code, 0 when nothing parseable came back.
  int http(std::string_view request, std::string* response = nullptr);
  // Opening handshake on `path`; returns the HTTP status (101 on success).
  int upgrade(std::string_view path, std::string* response = nullptr);

  void send_frame(ws::Opcode op, std::string_view payload, bool fin = true);
  void send_text(std::string_view s) { send_frame(ws::Opcode::kText, s); }
  // Next message or control frame (pings are returned too).
  std::optional<WsMessage> recv(int timeout_ms = kWaitMs);
  // Like recv() but skips pings and pongs.
  std::optional<WsMessage> recv_data(int timeout_ms = kWaitMs);
  // True when the server closed the TCP connection before the deadline.
  bool wait_eof(int timeout_ms = kWaitMs);
  // Half-closes our side and waits for the server's FIN.
  void close_now();

 private:
  int fd_ = -1;
  std::string buf_;  // bytes read but not yet parsed
  ws::FrameParser parser_{ws::Role::kClient, 64u << 20};
};

}  // namespace ringchat::testing
