// TlsTransport against a wolfSSL client in memory: no socket, no ring. The
// client's bytes reach decode() in every split (one byte at a time, odd
// sizes, all at once), and what prepare_send() offers goes back to the
// client in partial sends.
#include "ringchat/tls/transport.h"

// clang-format off
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
// clang-format on

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "../tls/test_certs.h"
#include "ringchat/net/conn.h"
#include "ringchat/net/shared_buf.h"

namespace ringchat::tls {
namespace {

using net::Conn;
using net::ConnState;
using obs::Metric;
using testing::TestCert;

std::span<std::byte> bytes_of(std::string& s) {
  return {reinterpret_cast<std::byte*>(s.data()), s.size()};
}

// A wolfSSL client whose I/O is two strings.
class Client {
 public:
  enum class Version { kTls12, kTls13 };
  Client(const std::string& ca, Version v, WOLFSSL_SESSION* resume = nullptr,
         const std::string& sni = "localhost") {
    ctx_ = wolfSSL_CTX_new(v == Version::kTls12 ? wolfTLSv1_2_client_method()
                                                : wolfTLSv1_3_client_method());
    EXPECT_EQ(wolfSSL_CTX_load_verify_locations(ctx_, ca.c_str(), nullptr), WOLFSSL_SUCCESS);
    wolfSSL_CTX_set_verify(ctx_, WOLFSSL_VERIFY_PEER, nullptr);
    ssl_ = wolfSSL_new(ctx_);
    wolfSSL_SSLSetIORecv(ssl_, recv);
    wolfSSL_SSLSetIOSend(ssl_, send);
    wolfSSL_SetIOReadCtx(ssl_, this);
    wolfSSL_SetIOWriteCtx(ssl_, this);
    if (!sni.empty()) {
      wolfSSL_UseSNI(ssl_, WOLFSSL_SNI_HOST_NAME, sni.data(), static_cast<uint16_t>(sni.size()));
    }
    if (resume) wolfSSL_set_session(ssl_, resume);
  }
  ~Client() {
    wolfSSL_free(ssl_);
    wolfSSL_CTX_free(ctx_);
  }
  // Advances the handshake; true once it is done.
  bool connect() { return wolfSSL_connect(ssl_) == WOLFSSL_SUCCESS; }
  void write(std::string_view s) {
    ASSERT_EQ(wolfSSL_write(ssl_, s.data(), static_cast<int>(s.size())),
              static_cast<int>(s.size()));
  }
  // Every plaintext byte readable now; *err gets the last error.
  std::string read(int* err = nullptr) {
    std::string got;
    char buf[4096];
    for (;;) {
      const int n = wolfSSL_read(ssl_, buf, sizeof(buf));
      if (n > 0) {
        got.append(buf, static_cast<size_t>(n));
        continue;
      }
      if (err) *err = wolfSSL_get_error(ssl_, n);
      return got;
    }
  }
  WOLFSSL* ssl() { return ssl_; }

  std::string to_server;    // what the client wrote
  std::string from_server;  // what the server sent, unread

 private:
  static int recv(WOLFSSL*, char* buf, int size, void* self) {
    auto& c = *static_cast<Client*>(self);
    if (c.from_server.empty()) return WOLFSSL_CBIO_ERR_WANT_READ;
    const size_t n = std::min(c.from_server.size(), static_cast<size_t>(size));
    std::memcpy(buf, c.from_server.data(), n);
    c.from_server.erase(0, n);
    return static_cast<int>(n);
  }
  static int send(WOLFSSL*, char* buf, int size, void* self) {
    static_cast<Client*>(self)->to_server.append(buf, static_cast<size_t>(size));
    return size;
  }
  WOLFSSL_CTX* ctx_ = nullptr;
  WOLFSSL* ssl_ = nullptr;
};

class TlsTransportTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { cert_ = new TestCert(TestCert::make()); }
  static void TearDownTestSuite() { delete cert_; }
  void SetUp() override {
    ASSERT_FALSE(cert_->cert.empty()) << "openssl could not make a certificate";
    auto ctx = ServerContext::create({.certs = {{cert_->cert, cert_->key}}, .ciphers = {}});
    ASSERT_TRUE(ctx) << ctx.error();
    context_ = *ctx;
    slot_ = std::make_unique<ContextSlot>(context_);
    transport_ = std::make_unique<TlsTransport>(*slot_, metrics_);
  }
  void TearDown() override {
    for (auto& c : conns_) {
      c->sendq.reset();
      transport_->release(*c);
    }
  }
  Conn& open() {
    conns_.push_back(std::make_unique<Conn>());
    Conn& c = *conns_.back();
    c.state = ConnState::kOpen;
    transport_->open(c);
    return c;
  }
  // The client's bytes to the server in pieces of `piece` bytes; returns
  // the plaintext, and whether the server closed.
  std::string deliver(Conn& c, Client& client, size_t piece, bool* closed = nullptr) {
    std::string wire = std::exchange(client.to_server, {});
    std::string plain;
    for (size_t at = 0; at < wire.size(); at += piece) {
      std::string part = wire.substr(at, piece);
      const net::Decoded d = transport_->decode(c, bytes_of(part));
      plain.append(reinterpret_cast<const char*>(d.data.data()), d.data.size());
      if (d.closed) {
        if (closed) *closed = true;
        break;
      }
    }
    return plain;
  }
  // Everything the server has to send, in sends of at most `piece` bytes.
  size_t flush(Conn& c, Client& client, size_t piece = SIZE_MAX) {
    size_t sends = 0;
    while (const msghdr* m = transport_->prepare_send(c)) {
      size_t n = 0;
      for (size_t i = 0; i < m->msg_iovlen; ++i) {
        const size_t take = std::min(m->msg_iov[i].iov_len, piece - n);
        client.from_server.append(static_cast<const char*>(m->msg_iov[i].iov_base), take);
        n += take;
        if (n == piece) break;
      }
      transport_->sent(c, n);
      ++sends;
    }
    return sends;
  }
  void handshake(Conn& c, Client& client, size_t piece) {
    for (int round = 0; round < 10 && !client.connect(); ++round) {
      deliver(c, client, piece);
      flush(c, client, piece);
    }
    ASSERT_TRUE(client.connect());
    // TLS 1.3: the client's Finished; the server's tickets come after it.
    deliver(c, client, piece);
    flush(c, client);
    client.read();
  }
  void queue(Conn& c, std::string_view s) {
    if (!c.sendq) c.sendq = std::make_unique<net::SendQueue>();
    c.sendq->push(net::LocalBuf::create(net::SharedBuf::copy_of(s), 1));
  }

  static TestCert* cert_;
  obs::ShardMetrics metrics_;
  std::shared_ptr<const ServerContext> context_;
  std::unique_ptr<ContextSlot> slot_;
  std::unique_ptr<TlsTransport> transport_;
  std::vector<std::unique_ptr<Conn>> conns_;
};
TestCert* TlsTransportTest::cert_ = nullptr;

TEST_F(TlsTransportTest, HandshakeAndDataBothWaysAtEverySplit) {
  for (Client::Version v : {Client::Version::kTls12, Client::Version::kTls13}) {
    for (size_t piece :
         {size_t{1}, size_t{2}, size_t{3}, size_t{7}, size_t{100}, size_t{1000}, SIZE_MAX}) {
      SCOPED_TRACE(::testing::Message() << "TLS 1." << (v == Client::Version::kTls12 ? 2 : 3)
                                        << ", pieces of " << piece);
      Client client(cert_->cert, v);
      Conn& c = open();
      handshake(c, client, piece);
      client.write("hello, ");
      client.write("server");
      EXPECT_EQ(deliver(c, client, piece), "hello, server");
      queue(c, "hello, ");
      queue(c, "client");
      flush(c, client, piece);
      EXPECT_EQ(client.read(), "hello, client");
      EXPECT_EQ(transport_->unsent(c), 0u);
    }
  }
  EXPECT_EQ(metrics_.get(Metric::kTlsFull), 14u);
  EXPECT_EQ(metrics_.get(Metric::kTlsHandshakeFailures), 0u);
}

TEST_F(TlsTransportTest, PlaintextWaitsForTheHandshake) {
  Client client(cert_->cert, Client::Version::kTls13);
  Conn& c = open();
  queue(c, "early answer");
  client.connect();
  deliver(c, client, SIZE_MAX);
  flush(c, client);  // the server's flight only
  EXPECT_EQ(transport_->unsent(c), 12u);
  ASSERT_TRUE(client.connect());
  deliver(c, client, SIZE_MAX);
  flush(c, client);
  EXPECT_EQ(client.read(), "early answer");
}

TEST_F(TlsTransportTest, ABigOutputIsEncryptedAheadOnlyABoundedAmount) {
  Client client(cert_->cert, Client::Version::kTls13);
  Conn& c = open();
  handshake(c, client, SIZE_MAX);
  std::string big;
  for (int i = 0; big.size() < (1 << 20); ++i) big += std::to_string(i) + ",";
  for (size_t at = 0; at < big.size(); at += 1000) queue(c, std::string_view(big).substr(at, 1000));
  const msghdr* m = transport_->prepare_send(c);
  ASSERT_NE(m, nullptr);
  // Encrypted: about kEncryptAhead; the rest is still the shared plaintext.
  EXPECT_LE(m->msg_iov[0].iov_len, TlsTransport::kEncryptAhead + 16384 + 64 * 30);
  EXPECT_GT(c.sendq->backlog_bytes(), big.size() - TlsTransport::kEncryptAhead - 16384);
  EXPECT_GE(transport_->unsent(c), big.size());
  transport_->sent(c, 0);
  // Partial sends of odd sizes: the stream stays whole.
  std::string got;
  while (transport_->unsent(c) > 0) {
    flush(c, client, 9999);
    got += client.read();
  }
  EXPECT_EQ(got, big);
}

TEST_F(TlsTransportTest, PlainHttpOnTheTlsPortGetsA400InClearText) {
  Conn& c = open();
  std::string req = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  const net::Decoded d = transport_->decode(c, bytes_of(req));
  EXPECT_TRUE(d.closed);
  EXPECT_TRUE(d.flush);
  const msghdr* m = transport_->prepare_send(c);
  ASSERT_NE(m, nullptr);
  const std::string answer(static_cast<const char*>(m->msg_iov[0].iov_base), m->msg_iov[0].iov_len);
  EXPECT_EQ(answer.substr(0, 24), "HTTP/1.1 400 Bad Request");
  EXPECT_NE(answer.find("speaks TLS"), std::string::npos);
  EXPECT_EQ(metrics_.get(Metric::kTlsPlainHttp), 1u);
}

TEST_F(TlsTransportTest, GarbageInsteadOfAHelloIsAHandshakeFailure) {
  Conn& c = open();
  // A handshake record holding a ClientHello of four bytes of nonsense.
  std::string junk("\x16\x03\x01\x00\x08\x01\x00\x00\x04zzzz", 13);
  EXPECT_TRUE(transport_->decode(c, bytes_of(junk)).closed);
  std::string binary(64, '\x01');
  Conn& other = open();
  EXPECT_TRUE(transport_->decode(other, bytes_of(binary)).closed);
  EXPECT_EQ(metrics_.get(Metric::kTlsHandshakeFailures), 2u);
}

TEST_F(TlsTransportTest, ACorruptRecordClosesAfterAnAlert) {
  Client client(cert_->cert, Client::Version::kTls13);
  Conn& c = open();
  handshake(c, client, SIZE_MAX);
  client.write("a record whose tag will not verify");
  client.to_server[client.to_server.size() - 3] ^= 0x55;
  bool closed = false;
  EXPECT_EQ(deliver(c, client, SIZE_MAX, &closed), "");
  EXPECT_TRUE(closed);
  EXPECT_EQ(metrics_.get(Metric::kTlsRecordFailures), 1u);
  flush(c, client);
  int err = 0;
  client.read(&err);
  EXPECT_NE(err, WOLFSSL_ERROR_WANT_READ) << "the client was told (an alert)";
}

TEST_F(TlsTransportTest, ClosingSendsCloseNotifyAfterTheLastBytes) {
  Client client(cert_->cert, Client::Version::kTls13);
  Conn& c = open();
  handshake(c, client, SIZE_MAX);
  queue(c, "goodbye");
  c.state = ConnState::kClosing;
  flush(c, client);
  int err = 0;
  EXPECT_EQ(client.read(&err), "goodbye");
  EXPECT_EQ(err, WOLFSSL_ERROR_ZERO_RETURN);
  // The client's close_notify ends the connection from its side too.
  Conn& other = open();
  Client second(cert_->cert, Client::Version::kTls12);
  handshake(other, second, SIZE_MAX);
  wolfSSL_shutdown(second.ssl());
  bool closed = false;
  deliver(other, second, SIZE_MAX, &closed);
  EXPECT_TRUE(closed);
}

TEST_F(TlsTransportTest, CiphertextCountsInTheShardsBudgetUntilSentAndAnIdleConnectionHoldsNone) {
  net::SendBudget budget;
  transport_->attach(budget);
  Client client(cert_->cert, Client::Version::kTls13);
  Conn& c = open();
  handshake(c, client, SIZE_MAX);
  EXPECT_EQ(budget.held_bytes, 0u);
  EXPECT_GT(budget.peak_bytes, 0u) << "the handshake's flight counted";
  queue(c, std::string(50000, 'x'));
  const msghdr* m = transport_->prepare_send(c);
  ASSERT_NE(m, nullptr);
  EXPECT_GT(budget.held_bytes, 50000u) << "the ciphertext of the send in flight";
  client.from_server.append(static_cast<const char*>(m->msg_iov[0].iov_base), 1000);
  transport_->sent(c, 1000);
  EXPECT_EQ(budget.held_bytes, m->msg_iov[0].iov_len - 1000);
  flush(c, client);
  EXPECT_TRUE(client.read() == std::string(50000, 'x'));
  EXPECT_EQ(budget.held_bytes, 0u);
  EXPECT_EQ(transport_->unsent(c), 0u);
  EXPECT_EQ(transport_->prepare_send(c), nullptr);
  // Released with ciphertext unsent (the peer vanished): it is given back.
  queue(c, std::string(3000, 'y'));
  ASSERT_NE(transport_->prepare_send(c), nullptr);
  EXPECT_GT(budget.held_bytes, 3000u);
  c.sendq.reset();
  transport_->release(c);
  conns_.pop_back();
  EXPECT_EQ(budget.held_bytes, 0u);
}

TEST_F(TlsTransportTest, AClientResumesWithItsTicketOrTheSessionCacheUntilTheKeyIsGone) {
  for (Client::Version v : {Client::Version::kTls12, Client::Version::kTls13}) {
    SCOPED_TRACE(v == Client::Version::kTls12 ? "TLS 1.2" : "TLS 1.3");
    WOLFSSL_SESSION* session = nullptr;
    {
      Client first(cert_->cert, v);
      handshake(open(), first, SIZE_MAX);
      session = wolfSSL_get1_session(first.ssl());
      ASSERT_NE(session, nullptr);
    }
    const uint64_t resumed = metrics_.get(Metric::kTlsResumed);
    {
      Client again(cert_->cert, v, session);
      handshake(open(), again, SIZE_MAX);
      EXPECT_TRUE(wolfSSL_session_reused(again.ssl()));
    }
    EXPECT_EQ(metrics_.get(Metric::kTlsResumed), resumed + 1);
    wolfSSL_SESSION_free(session);
  }
  // Two rotations later a TLS 1.3 ticket opens no more: a full handshake.
  WOLFSSL_SESSION* session = nullptr;
  {
    Client first(cert_->cert, Client::Version::kTls13);
    handshake(open(), first, SIZE_MAX);
    session = wolfSSL_get1_session(first.ssl());
  }
  context_->tickets().rotate();
  context_->tickets().rotate();
  const uint64_t full = metrics_.get(Metric::kTlsFull);
  {
    Client late(cert_->cert, Client::Version::kTls13, session);
    handshake(open(), late, SIZE_MAX);
    EXPECT_FALSE(wolfSSL_session_reused(late.ssl()));
  }
  EXPECT_EQ(metrics_.get(Metric::kTlsFull), full + 1);
  wolfSSL_SESSION_free(session);
}

TEST_F(TlsTransportTest, SniPicksTheCertificateOfTheNameAndTheFirstIsTheDefault) {
  const TestCert other = TestCert::make("rsa", "chat.example.org");
  const TestCert wildcard = TestCert::make("ec", "*.example.net");
  ASSERT_FALSE(other.cert.empty());
  ASSERT_FALSE(wildcard.cert.empty());
  auto ctx = ServerContext::create(
      {.certs = {{cert_->cert, cert_->key}, {other.cert, other.key}, {wildcard.cert, wildcard.key}},
       .ciphers = {}});
  ASSERT_TRUE(ctx) << ctx.error();
  ContextSlot slot(*ctx);
  TlsTransport transport(slot, metrics_);
  struct Case {
    std::string sni;
    const std::string& ca;  // the certificate the client trusts: only that one will do
  };
  const Case cases[] = {{"chat.example.org", other.cert},
                        {"a.example.net", wildcard.cert},
                        {"localhost", cert_->cert},
                        {"", cert_->cert},
                        {"unknown.example.com", cert_->cert}};
  for (const Case& k : cases) {
    for (Client::Version v : {Client::Version::kTls12, Client::Version::kTls13}) {
      SCOPED_TRACE(k.sni + (v == Client::Version::kTls12 ? " TLS 1.2" : " TLS 1.3"));
      Client client(k.ca, v, nullptr, k.sni);
      Conn c;
      c.state = ConnState::kOpen;
      transport.open(c);
      for (int round = 0; round < 10 && !client.connect(); ++round) {
        std::string wire = std::exchange(client.to_server, {});
        transport.decode(c, bytes_of(wire));
        while (const msghdr* m = transport.prepare_send(c)) {
          client.from_server.append(static_cast<const char*>(m->msg_iov[0].iov_base),
                                    m->msg_iov[0].iov_len);
          transport.sent(c, m->msg_iov[0].iov_len);
        }
      }
      EXPECT_TRUE(client.connect()) << "the certificate served is not the one of the name";
      transport.release(c);
    }
  }
}

TEST_F(TlsTransportTest, AReloadServesNewConnectionsAndOpenOnesKeepTheirs) {
  Client before(cert_->cert, Client::Version::kTls13);
  Conn& old_conn = open();
  handshake(old_conn, before, SIZE_MAX);
  const TestCert renewed = TestCert::make();
  auto ctx = ServerContext::create({.certs = {{renewed.cert, renewed.key}}, .ciphers = {}},
                                   context_->shared_tickets());
  ASSERT_TRUE(ctx) << ctx.error();
  slot_->set(*ctx);
  context_.reset();  // the slot and the open connection hold the old one now
  Client after(renewed.cert, Client::Version::kTls13);
  handshake(open(), after, SIZE_MAX);
  Client stale(cert_->cert, Client::Version::kTls13);
  Conn& refused = open();
  for (int round = 0; round < 3; ++round) {
    stale.connect();
    deliver(refused, stale, SIZE_MAX);
    flush(refused, stale);
  }
  EXPECT_FALSE(stale.connect()) << "a new connection still got the old certificate";
  // The connection made before goes on.
  before.write("still here");
  EXPECT_EQ(deliver(old_conn, before, SIZE_MAX), "still here");
  queue(old_conn, "and answered");
  flush(old_conn, before);
  EXPECT_EQ(before.read(), "and answered");
}

}  // namespace
}  // namespace ringchat::tls
