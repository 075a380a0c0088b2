#include "ws_client.h"

// clang-format off
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
// clang-format on

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <regex>
#include <thread>

#include "../tls/test_certs.h"
#include "ringchat/auth/verifier.h"
#include "ringchat/tls/context.h"
#include "ringchat/ws/frame_encoder.h"

namespace ringchat::testing {

namespace {
using Clock = std::chrono::steady_clock;

int ms_left(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() < 0 ? 0 : static_cast<int>(left.count());
}
}  // namespace

bool tls_mode() {
  static const bool on = [] {
    const char* v = std::getenv("RINGCHAT_TEST_TLS");
    return v && std::string_view(v) == "1";
  }();
  return on;
}

namespace {

// The certificate, the server's context and the clients' context of a
// tls_mode() run, made on first use and kept for the process.
struct TlsFixture {
  TestCert cert = TestCert::make();
  std::shared_ptr<const tls::ServerContext> server;
  WOLFSSL_CTX* client = nullptr;

  TlsFixture() {
    auto ctx = tls::ServerContext::create({.certs = {{cert.cert, cert.key}}, .ciphers = {}});
    if (!ctx) {
      ADD_FAILURE() << "TLS test context: " << ctx.error();
      return;
    }
    server = *ctx;
    client = wolfSSL_CTX_new(wolfSSLv23_client_method());
    wolfSSL_CTX_load_verify_locations(client, cert.cert.c_str(), nullptr);
    wolfSSL_CTX_set_verify(client, WOLFSSL_VERIFY_PEER, nullptr);
    // write_some() is a non-blocking write: partial writes, as send() makes.
    wolfSSL_CTX_set_mode(client, SSL_MODE_ENABLE_PARTIAL_WRITE);
  }
  static TlsFixture& get() {
    static TlsFixture f;
    return f;
  }
};

}  // namespace

std::shared_ptr<const tls::ServerContext> tls_test_context() { return TlsFixture::get().server; }

chat::ShardConfig test_config(unsigned shards) {
  chat::ShardConfig cfg;
  cfg.bind = "127.0.0.1";
  cfg.port = 0;
  cfg.shards = shards;
  cfg.max_connections_per_shard = 4096;
  cfg.drain_timeout_ms = 3000;
  cfg.pub_rate = 0;  // tests publish as fast as they like; the limits' own tests set theirs
  return cfg;
}

TestServer::TestServer(chat::ShardConfig cfg) {
  if (tls_mode()) {
    cfg.tls = TlsFixture::get().server;
    cfg.tls_port = 0;
    cfg.plain = false;
  }
  server_ = std::make_unique<app::Server>(cfg);
  auto port = server_->start();
  if (port) port_ = tls_mode() ? server_->tls_port() : *port;
}

TestServer::~TestServer() { stop(); }

void TestServer::stop() {
  if (stopped_) return;
  stopped_ = true;
  server_->stop();
  server_->wait();
}

bool TestServer::wait_metric(obs::Metric m, uint64_t at_least, int timeout_ms) const {
  auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  while (total(m) < at_least) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));  // polling, not synchronising
  }
  return true;
}

Client::Client(uint16_t port, ClientOptions opts) {
  fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  // Before connect(): the window scale is agreed in the handshake.
  if (opts.rcvbuf > 0) setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &opts.rcvbuf, sizeof(opts.rcvbuf));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd_);
    fd_ = -1;
    return;
  }
  int one = 1;
  setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  if (!opts.tls) return;
  // The handshake blocks (bounded), then the socket turns non-blocking:
  // every later wait is a poll with a deadline.
  timeval tv{kWaitMs / 1000, 0};
  setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  ssl_ = wolfSSL_new(TlsFixture::get().client);
  wolfSSL_set_fd(ssl_, fd_);
  wolfSSL_SetIOWriteFlags(ssl_, MSG_NOSIGNAL);  // a reset is an error, not SIGPIPE
  if (wolfSSL_connect(ssl_) != WOLFSSL_SUCCESS) {
    ADD_FAILURE() << "TLS handshake failed";
    peer_closed_ = true;
  }
  fcntl(fd_, F_SETFL, fcntl(fd_, F_GETFL) | O_NONBLOCK);
}

Client::~Client() {
  if (ssl_) {
    wolfSSL_free(ssl_);
    // wolfCrypt's ECC cache is per thread, and test threads end without
    // freeing it (shards free theirs as they stop).
    auth::release_thread_caches();
  }
  if (fd_ >= 0) close(fd_);
}

ssize_t Client::write_some(std::string_view bytes) {
  if (!ssl_) return send(fd_, bytes.data(), bytes.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  const int n = wolfSSL_write(ssl_, bytes.data(), static_cast<int>(bytes.size()));
  if (n > 0) return n;
  const int err = wolfSSL_get_error(ssl_, n);
  errno = err == WOLFSSL_ERROR_WANT_WRITE || err == WOLFSSL_ERROR_WANT_READ ? EAGAIN : EPIPE;
  return -1;
}

bool Client::send_raw(std::string_view bytes) {
  while (!bytes.empty()) {
    if (!ssl_) {
      ssize_t n = send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    const ssize_t n = write_some(bytes);
    if (n > 0) {
      bytes.remove_prefix(static_cast<size_t>(n));
    } else if (errno != EAGAIN) {
      return false;
    } else {
      pollfd p{fd_, POLLOUT, 0};
      if (poll(&p, 1, kWaitMs) <= 0) return false;
    }
  }
  return true;
}

ssize_t Client::read_once(char* buf, size_t size, int timeout_ms) {
  auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    if (!ssl_ || wolfSSL_pending(ssl_) == 0) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, ms_left(deadline)) <= 0) return -1;
    }
    if (!ssl_) {
      const ssize_t n = ::recv(fd_, buf, size, 0);
      return n < 0 ? 0 : n;  // a reset ends it as a FIN does
    }
    const int n = wolfSSL_read(ssl_, buf, static_cast<int>(size));
    if (n > 0) return n;
    if (wolfSSL_get_error(ssl_, n) != WOLFSSL_ERROR_WANT_READ) return 0;
    if (ms_left(deadline) == 0) return -1;  // part of a record came
  }
}

std::string Client::read_some(int timeout_ms) {
  char tmp[65536];
  const ssize_t n = read_once(tmp, sizeof(tmp), timeout_ms);
  if (n == 0) peer_closed_ = true;
  return n > 0 ? std::string(tmp, static_cast<size_t>(n)) : std::string();
}

int Client::http(std::string_view request, std::string* response) {
  if (!send_raw(request)) return 0;
  auto deadline = Clock::now() + std::chrono::milliseconds(kWaitMs);
  std::string got = std::move(buf_);
  buf_.clear();
  size_t head_end;
  while ((head_end = got.find("\r\n\r\n")) == std::string::npos) {
    std::string more = read_some(ms_left(deadline));
    if (more.empty()) return 0;
    got += more;
  }
  size_t body = 0;
  auto cl = got.find("Content-Length: ");
  if (cl != std::string::npos && cl < head_end) body = std::stoul(got.substr(cl + 16));
  while (got.size() < head_end + 4 + body) {
    std::string more = read_some(ms_left(deadline));
    if (more.empty()) break;
    got += more;
  }
  const size_t total = std::min(got.size(), head_end + 4 + body);
  buf_ = got.substr(total);
  got.resize(total);
  if (response) *response = got;
  if (got.compare(0, 9, "HTTP/1.1 ") != 0) return 0;
  return std::stoi(got.substr(9, 3));
}

Published Client::publish(std::string_view room, std::string_view body,
                          std::string_view content_type) {
  std::string resp;
  const int status = http(
      cat("POST /rooms/", room, "/messages HTTP/1.1\r\nHost: x\r\n", "Content-Type: ", content_type,
          "\r\nContent-Length: ", std::to_string(body.size()), "\r\n\r\n", body),
      &resp);
  std::smatch m;
  if (status != 201 ||
      !std::regex_search(resp, m, std::regex(R"re("epoch":"([0-9a-f]{16})","seq":(\d+))re"))) {
    ADD_FAILURE() << "publish to " << room << ": " << resp;
    return {};
  }
  return {m[1], std::stoull(m[2])};
}

int Client::upgrade(std::string_view path, std::string* response) {
  std::string req = "GET " + std::string(path) +
                    " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                    "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                    "Sec-WebSocket-Version: 13\r\n\r\n";
  return http(req, response);
}

void Client::send_frame(ws::Opcode op, std::string_view payload, bool fin) {
  std::string out;
  ws::append_client_frame(out, op, ws::as_bytes(payload), 0x12345678u, fin);
  send_raw(out);
}

std::optional<WsMessage> Client::recv(int timeout_ms) {
  auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    std::span<std::byte> in(reinterpret_cast<std::byte*>(buf_.data()), buf_.size());
    auto r = parser_.next(in);
    const size_t used = buf_.size() - in.size();
    if (!r) return std::nullopt;
    if (r->kind != ws::Event::Kind::kNeedMore) {
      WsMessage m;
      m.payload = std::string(ws::as_string_view(r->payload));
      switch (r->kind) {
        case ws::Event::Kind::kMessage:
          m.op = r->opcode;
          break;
        case ws::Event::Kind::kPing:
          m.op = ws::Opcode::kPing;
          break;
        case ws::Event::Kind::kPong:
          m.op = ws::Opcode::kPong;
          break;
        default:
          m.op = ws::Opcode::kClose;
          m.close_code = r->close_code;
          m.payload = std::string(r->close_reason);
      }
      buf_.erase(0, used);
      return m;
    }
    buf_.clear();  // the parser kept what it needs
    std::string more = read_some(ms_left(deadline));
    if (more.empty()) return std::nullopt;
    buf_ = std::move(more);
  }
}

std::optional<WsMessage> Client::recv_data(int timeout_ms) {
  for (;;) {
    auto m = recv(timeout_ms);
    if (!m || (m->op != ws::Opcode::kPing && m->op != ws::Opcode::kPong)) return m;
  }
}

bool Client::wait_eof(int timeout_ms) {
  auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  char tmp[4096];
  for (;;) {
    const ssize_t n = read_once(tmp, sizeof(tmp), ms_left(deadline));
    if (n < 0) return false;
    if (n == 0) return true;
  }
}

uint16_t Client::read_until_close(int timeout_ms) {
  auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    auto m = recv(ms_left(deadline));
    if (!m) return 0;
    if (m->op == ws::Opcode::kClose) return m->close_code;
  }
}

void Client::close_now() { shutdown(fd_, SHUT_WR); }

void Client::reset_now() {
  linger lg{1, 0};
  setsockopt(fd_, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
  close(fd_);
  fd_ = -1;
}

namespace {
// One client's share of a flood: where it is in the pattern, what it sent.
struct Flooder {
  Client* client;
  size_t offset = 0;
  FloodResult result;
  bool active(const Flood& how) const { return !result.peer_gone && result.bytes < how.max_bytes; }
};

// Writes until the socket is full, a pass's share is sent, or the peer is
// gone. Returns true when the socket is full (worth a poll for POLLOUT).
bool write_pass(Flooder& f, const Flood& how) {
  constexpr uint64_t kPassBytes = 256 * 1024;  // then the next client's turn
  uint64_t sent = 0;
  while (sent < kPassBytes && f.active(how)) {
    std::string_view rest = how.pattern.substr(f.offset);
    ssize_t n = f.client->write_some(rest);
    if (n > 0) {
      f.offset = (f.offset + static_cast<size_t>(n)) % how.pattern.size();
      f.result.bytes += static_cast<uint64_t>(n);
      sent += static_cast<uint64_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      return true;
    } else {
      f.result.peer_gone = true;  // EPIPE, ECONNRESET: the server closed it
    }
  }
  return false;
}
}  // namespace

std::vector<FloodResult> flood(std::span<Client* const> clients, const Flood& how,
                               const std::function<bool()>& done) {
  auto deadline = Clock::now() + std::chrono::milliseconds(how.max_ms);
  std::vector<Flooder> flooders;
  for (Client* c : clients) flooders.push_back(Flooder{c, 0, {}});
  while (Clock::now() < deadline && !(done && done())) {
    std::vector<pollfd> full;
    std::vector<Flooder*> waiting;
    size_t active = 0;
    for (Flooder& f : flooders) {
      if (!f.active(how)) continue;
      ++active;
      if (write_pass(f, how)) {
        full.push_back(pollfd{f.client->fd(), POLLOUT, 0});
        waiting.push_back(&f);
      }
    }
    if (active == 0) break;
    if (full.size() < active) continue;  // someone can still write
    // Every socket is full: wait briefly for room (or a reset), then recheck done().
    if (poll(full.data(), full.size(), std::min(10, ms_left(deadline))) <= 0) continue;
    for (size_t i = 0; i < full.size(); ++i) {
      if (full[i].revents & (POLLERR | POLLHUP)) waiting[i]->result.peer_gone = true;
    }
  }
  std::vector<FloodResult> out;
  for (const Flooder& f : flooders) out.push_back(f.result);
  return out;
}

}  // namespace ringchat::testing
