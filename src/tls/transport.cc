// TLS through wolfSSL's custom I/O callbacks: ciphertext in from the
// buffer ring, ciphertext out through the table's sends.
#include "ringchat/tls/transport.h"

// clang-format off
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
// clang-format on

#include <algorithm>
#include <cstring>
#include <string_view>

#include "io.h"
#include "ringchat/core/check.h"
#include "ringchat/obs/log.h"

namespace ringchat::tls {

using net::Conn;
using net::ConnState;
using net::Decoded;
using obs::Metric;

namespace {

constexpr size_t kMaxRecord = 16384;  // plaintext bytes of a TLS record

// Sent to a client that speaks plain HTTP to the TLS port, in clear text.
constexpr std::string_view kPlainHttpAnswer =
    "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: 45\r\n"
    "Connection: close\r\n\r\nThis port speaks TLS: use https:// or wss://\n";

}  // namespace

struct TlsTransport::Session {
  IoBuffers io;                                  // wolfSSL's I/O context
  std::shared_ptr<const ServerContext> context;  // what the handshake may use
  WOLFSSL* ssl = nullptr;
  std::string sending;       // ciphertext of the send in flight
  size_t sent = 0;           // bytes of `sending` the socket took
  bool seen = false;         // the first bytes have come
  bool established = false;  // the handshake is done
  bool goodbye = false;      // close_notify is written
  iovec iov{};
  msghdr msg{};

  ~Session() {
    if (ssl) wolfSSL_free(ssl);
  }
};

int io_recv(WOLFSSL*, char* buf, int size, void* buffers) {
  IoBuffers& b = *static_cast<IoBuffers*>(buffers);
  if (b.in.empty()) return WOLFSSL_CBIO_ERR_WANT_READ;
  const size_t n = std::min(b.in.size(), static_cast<size_t>(size));
  std::memcpy(buf, b.in.data(), n);
  b.in = b.in.subspan(n);
  return static_cast<int>(n);
}

int io_send(WOLFSSL*, char* buf, int size, void* buffers) {
  static_cast<IoBuffers*>(buffers)->out.append(buf, static_cast<size_t>(size));
  return size;
}

TlsTransport::TlsTransport(const ContextSlot& slot, obs::ShardMetrics& metrics)
    : slot_(slot), ctx_(slot.get()), generation_(slot.generation()), metrics_(metrics) {}

TlsTransport::~TlsTransport() = default;

TlsTransport::Session* TlsTransport::find(const Conn& c) const {
  auto it = sessions_.find(&c);
  RC_CHECK(it != sessions_.end());
  return it->second.get();
}

void TlsTransport::open(Conn& c) {
  if (slot_.generation() != generation_) {  // reloaded
    generation_ = slot_.generation();
    ctx_ = slot_.get();
  }
  auto s = std::make_unique<Session>();
  s->context = ctx_;
  s->ssl = ctx_->new_ssl();
  if (s->ssl) {
    wolfSSL_SetIOReadCtx(s->ssl, &s->io);
    wolfSSL_SetIOWriteCtx(s->ssl, &s->io);
  }
  sessions_[&c] = std::move(s);
}

void TlsTransport::release(Conn& c) {
  auto it = sessions_.find(&c);
  RC_CHECK(it != sessions_.end());
  const Session& s = *it->second;
  if (budget_) budget_->free(s.io.out.size() + s.sending.size() - s.sent);
  sessions_.erase(it);
}

void TlsTransport::charge(Session& s, size_t before) {
  if (budget_ && s.io.out.size() > before) budget_->hold(s.io.out.size() - before);
}

Decoded TlsTransport::fail(const Conn& c, Session& s, Metric kind) {
  metrics_.add(kind);
  char text[WOLFSSL_MAX_ERROR_SZ] = "a plaintext HTTP request";
  if (kind != Metric::kTlsPlainHttp && s.ssl) {
    wolfSSL_ERR_error_string_n(static_cast<unsigned long>(wolfSSL_get_error(s.ssl, 0)), text,
                               sizeof(text));
  }
  RC_WARN_LIMITED("TLS connection from %s closed: %s", c.peer.to_string().c_str(), text);
  s.io.in = {};
  return {{}, !s.io.out.empty(), true};
}

Decoded TlsTransport::decode(Conn& c, std::span<std::byte> wire) {
  Session& s = *find(c);
  const size_t before = s.io.out.size();
  const Decoded d = decode(c, s, wire);
  charge(s, before);
  return d;
}

Decoded TlsTransport::decode(Conn& c, Session& s, std::span<std::byte> wire) {
  if (!s.seen) {
    s.seen = true;
    // A TLS connection starts with a handshake record (0x16); a request
    // line starts with a method's capital letter.
    const auto first = static_cast<unsigned char>(wire[0]);
    if (first >= 'A' && first <= 'Z') {
      s.io.out.assign(kPlainHttpAnswer);
      return fail(c, s, Metric::kTlsPlainHttp);
    }
  }
  if (!s.ssl) return fail(c, s, Metric::kTlsHandshakeFailures);
  s.io.in = wire;
  if (!s.established) {
    const int r = wolfSSL_accept(s.ssl);
    if (r != WOLFSSL_SUCCESS) {
      const int err = wolfSSL_get_error(s.ssl, r);
      if (err == WOLFSSL_ERROR_WANT_READ || err == WOLFSSL_ERROR_WANT_WRITE) {
        return {{}, !s.io.out.empty()};
      }
      return fail(c, s, Metric::kTlsHandshakeFailures);
    }
    s.established = true;
    metrics_.add(wolfSSL_session_reused(s.ssl) ? Metric::kTlsResumed : Metric::kTlsFull);
  }
  // Every whole record the bytes complete; wolfSSL keeps a partial one.
  size_t len = 0;
  bool closed = false;
  for (;;) {
    if (plain_.size() < len + kMaxRecord) plain_.resize(len + kMaxRecord);
    const int n = wolfSSL_read(s.ssl, plain_.data() + len, static_cast<int>(kMaxRecord));
    if (n > 0) {
      len += static_cast<size_t>(n);
      continue;
    }
    const int err = wolfSSL_get_error(s.ssl, n);
    if (err == WOLFSSL_ERROR_WANT_READ) break;
    if (err != WOLFSSL_ERROR_ZERO_RETURN) return fail(c, s, Metric::kTlsRecordFailures);
    closed = true;  // the peer's close_notify
    break;
  }
  return {{plain_.data(), len}, !s.io.out.empty(), closed};
}

void TlsTransport::encrypt(Conn& c, Session& s) {
  // Up to kEncryptAhead: the rest stays in the queue, shared, until this
  // much has reached the socket.
  while (s.io.out.size() < kEncryptAhead && c.sendq && !c.sendq->empty()) {
    const msghdr* m = c.sendq->prepare();
    gather_.clear();
    for (size_t i = 0; i < m->msg_iovlen && gather_.size() < kMaxRecord; ++i) {
      const auto* base = static_cast<const std::byte*>(m->msg_iov[i].iov_base);
      const size_t take = std::min(m->msg_iov[i].iov_len, kMaxRecord - gather_.size());
      gather_.insert(gather_.end(), base, base + take);
    }
    c.sendq->complete(gather_.size());
    if (gather_.empty()) continue;  // empty buffers, now released
    const int r = wolfSSL_write(s.ssl, gather_.data(), static_cast<int>(gather_.size()));
    // The send callback takes everything: a short write is wolfSSL's own
    // failure, and the stream cannot go on.
    RC_CHECK(r == static_cast<int>(gather_.size()));
  }
}

const msghdr* TlsTransport::prepare_send(Conn& c) {
  Session& s = *find(c);
  if (s.sent == s.sending.size()) {
    const size_t before = s.io.out.size();
    if (s.established) encrypt(c, s);
    const bool drained = !c.sendq || c.sendq->empty();
    if (c.state == ConnState::kClosing && s.established && !s.goodbye && drained) {
      wolfSSL_shutdown(s.ssl);  // close_notify; the peer's is not awaited
      s.goodbye = true;
    }
    charge(s, before);
    s.sending = std::move(s.io.out);
    s.io.out = std::string();
    s.sent = 0;
  }
  if (s.sending.empty()) return nullptr;
  s.iov = {s.sending.data() + s.sent, s.sending.size() - s.sent};
  s.msg = msghdr{};
  s.msg.msg_iov = &s.iov;
  s.msg.msg_iovlen = 1;
  return &s.msg;
}

void TlsTransport::sent(Conn& c, size_t n) {
  Session& s = *find(c);
  s.sent += n;
  RC_CHECK(s.sent <= s.sending.size());
  if (budget_) budget_->free(n);
  if (s.sent == s.sending.size()) {
    s.sending = std::string();  // an idle connection holds no ciphertext
    s.sent = 0;
  }
}

size_t TlsTransport::unsent(const Conn& c) const {
  const Session& s = *find(c);
  return (c.sendq ? c.sendq->backlog_bytes() : 0) + s.io.out.size() + (s.sending.size() - s.sent);
}

}  // namespace ringchat::tls
