#pragma once
// A small blocking WebSocket client for integration tests: real sockets on
// 127.0.0.1, every wait bounded by a deadline.
#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ringchat/app/server.h"
#include "ringchat/ws/close_code.h"
#include "ringchat/ws/frame_parser.h"

struct WOLFSSL;

namespace ringchat::testing {

inline constexpr int kWaitMs = 5000;

// Concatenates strings (GCC 12 warns wrongly about `"literal" + std::string`).
template <typename... Parts>
std::string cat(const Parts&... parts) {
  std::string out;
  (out.append(parts), ...);
  return out;
}

// A server on 127.0.0.1 and an ephemeral port, stopped and joined on destruction.
class TestServer {
 public:
  explicit TestServer(chat::ShardConfig cfg);
  ~TestServer();
  uint16_t port() const { return port_; }
  uint16_t tls_port() const { return server_->tls_port(); }
  const obs::Registry& metrics() const { return server_->metrics(); }
  uint64_t total(obs::Metric m) const { return metrics().total(m); }
  // Polls a metric until it reaches `at_least` or the deadline passes.
  bool wait_metric(obs::Metric m, uint64_t at_least, int timeout_ms = kWaitMs) const;
  // Asks the shards to drain, as SIGTERM does, and returns at once; stop()
  // then waits for them.
  void drain() { server_->stop(); }
  void stop();

 private:
  std::unique_ptr<app::Server> server_;
  uint16_t port_ = 0;
  bool stopped_ = false;
};

chat::ShardConfig test_config(unsigned shards);

// Where a publish landed in its room.
struct Published {
  std::string epoch;  // 16 hex digits
  uint64_t seq = 0;
  std::string position() const { return cat(epoch, ":", std::to_string(seq)); }
};

struct WsMessage {
  ws::Opcode op = ws::Opcode::kContinuation;
  std::string payload;
  uint16_t close_code = 0;  // for kClose
};

// Over TLS: with RINGCHAT_TEST_TLS=1 in the environment every TestServer
// listens on a TLS port only (a certificate made at start with the openssl
// command line), port() is that port, and every Client speaks TLS to it
// (wolfSSL, trusting that certificate), so the same tests run over TLS.
bool tls_mode();

// Socket options a client sets before it connects.
struct ClientOptions {
  int rcvbuf = 0;         // SO_RCVBUF; 0: the kernel's default (autotuning)
  bool tls = tls_mode();  // speak TLS (trusting tls_test_context()'s certificate)
};

// The TLS context TestServers use in tls_mode() (and tests of TLS itself),
// made on first use.
std::shared_ptr<const tls::ServerContext> tls_test_context();

class Client {
 public:
  // Connects (fd() < 0 on failure).
  explicit Client(uint16_t port, ClientOptions opts = {});
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  int fd() const { return fd_; }
  bool send_raw(std::string_view bytes);
  // Writes what the socket takes now without waiting: bytes written, or -1
  // with errno (EAGAIN: full).
  ssize_t write_some(std::string_view bytes);
  // Reads until `n` bytes arrived or the peer closed or the deadline passed.
  std::string read_some(int timeout_ms = kWaitMs);
  // True once a read saw the server's FIN or a reset.
  bool peer_closed() const { return peer_closed_; }
  // Sends the request and reads one response (head + Content-Length body).
  // Returns the status code, 0 when nothing parseable came back.
  int http(std::string_view request, std::string* response = nullptr);
  // POST /rooms/{room}/messages with `body`; a test failure unless it is
  // answered 201 with where the message landed.
  Published publish(std::string_view room, std::string_view body,
                    std::string_view content_type = "text/plain");
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
  // Reads and drops messages until a close frame arrives; returns its code,
  // or 0 when the connection ended or the deadline passed without one.
  uint16_t read_until_close(int timeout_ms = kWaitMs);
  // Half-closes our side and waits for the server's FIN.
  void close_now();
  // Closes with SO_LINGER 0: the server sees a reset, whatever was in flight.
  void reset_now();

 private:
  // One read of what is there now (TLS: one record's plaintext): bytes
  // read, 0 when the peer closed, -1 when nothing came before `timeout_ms`.
  ssize_t read_once(char* buf, size_t size, int timeout_ms);

  int fd_ = -1;
  WOLFSSL* ssl_ = nullptr;  // in tls_mode()
  bool peer_closed_ = false;
  std::string buf_;  // bytes read but not yet parsed
  ws::FrameParser parser_{ws::Role::kClient, 64u << 20};
};

// Writes `pattern` over and over (whole frames or requests, so the stream
// stays well formed) to every client at once without reading anything, as
// fast as their sockets take it. Each client stops at `max_bytes` or when the
// server is gone; all stop at `max_ms` or as soon as `done()` returns true.
struct Flood {
  std::string_view pattern;
  int max_ms;
  uint64_t max_bytes;  // per client
};
struct FloodResult {
  uint64_t bytes = 0;
  bool peer_gone = false;  // a send failed or the socket reported a reset
};
std::vector<FloodResult> flood(std::span<Client* const> clients, const Flood& how,
                               const std::function<bool()>& done = {});

}  // namespace ringchat::testing
