#include "tls_client.h"

// clang-format off
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
// clang-format on

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "ringchat/tls/context.h"

namespace ringchat::ringload {
namespace {

// A self-signed EC P-256 certificate for `name` (CN and subjectAltName),
// made with the openssl command line at test time, never checked in.
struct Cert {
  std::string dir, cert, key;
  explicit Cert(const std::string& name) {
    char tmpl[] = "/tmp/ringload-cert-XXXXXX";
    if (!mkdtemp(tmpl)) return;
    dir = tmpl;
    const std::string cmd =
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 "
        "-subj /CN=" +
        name + " -addext subjectAltName=DNS:" + name + ",IP:127.0.0.1 -keyout " + dir +
        "/key.pem -out " + dir + "/cert.pem >/dev/null 2>&1";
    if (std::system(cmd.c_str()) != 0) return;
    cert = dir + "/cert.pem";
    key = dir + "/key.pem";
  }
  ~Cert() {
    if (!dir.empty()) std::filesystem::remove_all(dir);
  }
};

// The server end of one connection: ringchat's own ServerContext (its
// suites, ALPN and session tickets) over in-memory buffers.
struct MemServer {
  WOLFSSL* ssl;
  std::string in;  // ciphertext from the client, not yet read
  std::string out;
  bool established = false;

  explicit MemServer(const tls::ServerContext& ctx) : ssl(ctx.new_ssl()) {
    wolfSSL_SSLSetIORecv(ssl, [](WOLFSSL*, char* buf, int size, void* self) {
      auto& s = *static_cast<MemServer*>(self);
      if (s.in.empty()) return static_cast<int>(WOLFSSL_CBIO_ERR_WANT_READ);
      const size_t n = std::min(s.in.size(), static_cast<size_t>(size));
      s.in.copy(buf, n);
      s.in.erase(0, n);
      return static_cast<int>(n);
    });
    wolfSSL_SSLSetIOSend(ssl, [](WOLFSSL*, char* buf, int size, void* self) {
      static_cast<MemServer*>(self)->out.append(buf, static_cast<size_t>(size));
      return size;
    });
    wolfSSL_SetIOReadCtx(ssl, this);
    wolfSSL_SetIOWriteCtx(ssl, this);
  }
  ~MemServer() { wolfSSL_free(ssl); }
  // Accepts, then reads whatever plaintext came. False on a TLS error.
  bool step(std::string& plain) {
    if (!established) {
      if (wolfSSL_accept(ssl) != WOLFSSL_SUCCESS) {
        const int err = wolfSSL_get_error(ssl, 0);
        return err == WOLFSSL_ERROR_WANT_READ || err == WOLFSSL_ERROR_WANT_WRITE;
      }
      established = true;
    }
    char buf[16384];
    for (;;) {
      const int n = wolfSSL_read(ssl, buf, sizeof buf);
      if (n > 0) {
        plain.append(buf, static_cast<size_t>(n));
        continue;
      }
      const int err = wolfSSL_get_error(ssl, n);
      return err == WOLFSSL_ERROR_WANT_READ || err == WOLFSSL_ERROR_ZERO_RETURN;
    }
  }
  void write(std::string_view s) {
    ASSERT_EQ(wolfSSL_write(ssl, s.data(), static_cast<int>(s.size())), static_cast<int>(s.size()));
  }
};

std::span<const std::byte> bytes(std::string_view s) { return std::as_bytes(std::span(s)); }

class TlsClientTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    cert_ = new Cert("localhost");
    other_ = new Cert("localhost");
    auto ctx = tls::ServerContext::create({.certs = {{cert_->cert, cert_->key}}, .ciphers = {}});
    ASSERT_TRUE(ctx.ok()) << ctx.error();
    server_ctx_ = new std::shared_ptr<const tls::ServerContext>(*ctx);
  }
  static void TearDownTestSuite() {
    delete server_ctx_;
    delete other_;
    delete cert_;
  }
  void SetUp() override {
    if (cert_->cert.empty() || other_->cert.empty()) GTEST_SKIP() << "openssl req failed";
  }
  static std::unique_ptr<TlsClientContext> client_ctx(const std::string& ca = "",
                                                      TlsVersion v = TlsVersion::kAuto) {
    auto c = TlsClientContext::create(ca, v);
    EXPECT_TRUE(c.ok()) << c.error();
    return c.ok() ? std::move(*c) : nullptr;
  }
  // Runs the handshake to its end over memory; the server's bytes reach
  // the client in whole flights. Returns the client's last status.
  static TlsStatus handshake(TlsClient& c, MemServer& s, std::string& plain) {
    TlsStatus st = c.start();
    for (int i = 0; i < 10 && st == TlsStatus::kOk; ++i) {
      s.in += c.output();
      c.output().clear();
      if (!s.step(plain)) return TlsStatus::kError;
      const std::string flight = std::move(s.out);
      s.out.clear();
      if (c.established() && c.resumable() && flight.empty()) break;
      st = c.feed(bytes(flight), plain);
    }
    return st;
  }
  static Cert* cert_;
  static Cert* other_;
  static std::shared_ptr<const tls::ServerContext>* server_ctx_;
};
Cert* TlsClientTest::cert_ = nullptr;
Cert* TlsClientTest::other_ = nullptr;
std::shared_ptr<const tls::ServerContext>* TlsClientTest::server_ctx_ = nullptr;

TEST_F(TlsClientTest, HandshakesAndCarriesDataBothWays) {
  auto ctx = client_ctx(cert_->cert);
  TlsClient c(*ctx, "localhost", nullptr);
  MemServer s(**server_ctx_);
  std::string plain;
  ASSERT_EQ(handshake(c, s, plain), TlsStatus::kOk) << c.error();
  ASSERT_TRUE(c.established());
  EXPECT_FALSE(c.resumed());
  EXPECT_TRUE(c.tls13());
  EXPECT_TRUE(c.has_ticket());  // TLS 1.3: the NewSessionTicket came
  EXPECT_EQ(c.cipher(), "TLS13-CHACHA20-POLY1305-SHA256");
  ASSERT_TRUE(c.write("GET / HTTP/1.1\r\n\r\n"));
  s.in += c.output();
  c.output().clear();
  std::string got;
  ASSERT_TRUE(s.step(got));
  EXPECT_EQ(got, "GET / HTTP/1.1\r\n\r\n");
  s.write("HTTP/1.1 101 Switching Protocols\r\n\r\n");
  ASSERT_EQ(c.feed(bytes(s.out), plain), TlsStatus::kOk);
  EXPECT_EQ(plain, "HTTP/1.1 101 Switching Protocols\r\n\r\n");
}

// The server's records cut anywhere: a partial record stays inside wolfSSL,
// and the plaintext comes out whole and in order once the rest arrives.
TEST_F(TlsClientTest, RecordsSplitAtEveryOffsetGiveTheSamePlaintext) {
  auto ctx = client_ctx();
  const std::string a(40, 'a'), b(300, 'b');
  for (size_t cut = 0;; ++cut) {
    TlsClient c(*ctx, "localhost", nullptr);
    MemServer s(**server_ctx_);
    std::string plain;
    ASSERT_EQ(handshake(c, s, plain), TlsStatus::kOk);
    s.write(a);
    s.write(b);  // two records
    const std::string wire = std::move(s.out);
    if (cut > wire.size()) break;
    ASSERT_EQ(c.feed(bytes(wire).first(cut), plain), TlsStatus::kOk) << cut;
    ASSERT_EQ(c.feed(bytes(wire).subspan(cut), plain), TlsStatus::kOk) << cut;
    ASSERT_EQ(plain, a + b) << "cut at " << cut;
  }
}

// The server's handshake flight (ServerHello to Finished, then the ticket)
// cut at every offset, and fed one byte at a time.
TEST_F(TlsClientTest, HandshakeFlightSplitAtEveryOffsetCompletes) {
  auto ctx = client_ctx(cert_->cert);
  for (size_t cut = 0;; ++cut) {
    TlsClient c(*ctx, "localhost", nullptr);
    MemServer s(**server_ctx_);
    std::string plain;
    ASSERT_EQ(c.start(), TlsStatus::kOk);
    s.in = std::move(c.output());
    c.output().clear();
    ASSERT_TRUE(s.step(plain));
    const std::string flight = std::move(s.out);
    if (cut > flight.size()) break;
    ASSERT_EQ(c.feed(bytes(flight).first(cut), plain), TlsStatus::kOk) << cut;
    ASSERT_EQ(c.feed(bytes(flight).subspan(cut), plain), TlsStatus::kOk) << cut;
    ASSERT_TRUE(c.established()) << cut;
    s.in = std::move(c.output());  // the client's Finished
    ASSERT_TRUE(s.step(plain));
    ASSERT_TRUE(s.established);
    const std::string ticket = std::move(s.out);
    for (size_t i = 0; i < ticket.size(); ++i)
      ASSERT_EQ(c.feed(bytes(ticket).subspan(i, 1), plain), TlsStatus::kOk);
    EXPECT_TRUE(c.has_ticket()) << cut;
    EXPECT_TRUE(plain.empty());
  }
}

TEST_F(TlsClientTest, ResumesWithThePreviousSession) {
  for (TlsVersion v : {TlsVersion::k13, TlsVersion::k12}) {
    auto ctx = client_ctx(cert_->cert, v);
    TlsSession saved;
    for (int round = 0; round < 3; ++round) {
      TlsClient c(*ctx, "localhost", saved.get());
      MemServer s(**server_ctx_);
      std::string plain;
      ASSERT_EQ(handshake(c, s, plain), TlsStatus::kOk) << c.error();
      ASSERT_TRUE(c.resumable());
      EXPECT_EQ(c.tls13(), v == TlsVersion::k13);
      EXPECT_EQ(c.resumed(), round > 0) << "round " << round;
      EXPECT_EQ(wolfSSL_session_reused(s.ssl) == 1, round > 0);
      saved = c.session();
      ASSERT_TRUE(saved);
    }
  }
}

TEST_F(TlsClientTest, RefusesACertificateTheCaDidNotSign) {
  auto ctx = client_ctx(other_->cert);
  TlsClient c(*ctx, "localhost", nullptr);
  MemServer s(**server_ctx_);
  std::string plain;
  EXPECT_EQ(handshake(c, s, plain), TlsStatus::kError);
  EXPECT_FALSE(c.established());
  EXPECT_FALSE(c.error().empty());
}

TEST_F(TlsClientTest, RefusesTheWrongName) {
  auto ctx = client_ctx(cert_->cert);
  TlsClient c(*ctx, "example.org", nullptr);
  MemServer s(**server_ctx_);
  std::string plain;
  EXPECT_EQ(handshake(c, s, plain), TlsStatus::kError);
}

TEST_F(TlsClientTest, WithoutACaAnyCertificateIsTakenAndSaidSo) {
  auto ctx = client_ctx();
  EXPECT_FALSE(ctx->verifies());
  EXPECT_TRUE(client_ctx(cert_->cert)->verifies());
  TlsClient c(*ctx, "example.org", nullptr);
  MemServer s(**server_ctx_);
  std::string plain;
  EXPECT_EQ(handshake(c, s, plain), TlsStatus::kOk);
  EXPECT_TRUE(c.established());
}

TEST_F(TlsClientTest, RejectsAMissingCaFile) {
  EXPECT_FALSE(TlsClientContext::create("/nonexistent/ca.pem", TlsVersion::kAuto).ok());
}

TEST_F(TlsClientTest, GarbageFromTheServerIsAnError) {
  auto ctx = client_ctx();
  TlsClient c(*ctx, "localhost", nullptr);
  std::string plain;
  ASSERT_EQ(c.start(), TlsStatus::kOk);
  EXPECT_FALSE(c.output().empty());  // the ClientHello
  EXPECT_EQ(c.feed(bytes("HTTP/1.1 400 Bad Request\r\n\r\n"), plain), TlsStatus::kError);
  EXPECT_FALSE(c.error().empty());
}

TEST_F(TlsClientTest, ServerCloseNotifyEndsTheStream) {
  auto ctx = client_ctx();
  TlsClient c(*ctx, "localhost", nullptr);
  MemServer s(**server_ctx_);
  std::string plain;
  ASSERT_EQ(handshake(c, s, plain), TlsStatus::kOk);
  s.write("last words");
  wolfSSL_shutdown(s.ssl);
  EXPECT_EQ(c.feed(bytes(s.out), plain), TlsStatus::kClosed);
  EXPECT_EQ(plain, "last words");
}

TEST_F(TlsClientTest, CloseNotifyReachesTheServer) {
  auto ctx = client_ctx();
  TlsClient c(*ctx, "localhost", nullptr);
  MemServer s(**server_ctx_);
  std::string plain;
  ASSERT_EQ(handshake(c, s, plain), TlsStatus::kOk);
  c.close_notify();
  s.in += c.output();
  char buf[16];
  EXPECT_EQ(wolfSSL_read(s.ssl, buf, sizeof buf), 0);
  EXPECT_EQ(wolfSSL_get_error(s.ssl, 0), WOLFSSL_ERROR_ZERO_RETURN);
}

TEST_F(TlsClientTest, LargeWritesBecomeSeveralRecords) {
  auto ctx = client_ctx();
  TlsClient c(*ctx, "localhost", nullptr);
  MemServer s(**server_ctx_);
  std::string plain;
  ASSERT_EQ(handshake(c, s, plain), TlsStatus::kOk);
  std::string big(40000, 'z');
  for (size_t i = 0; i < big.size(); i += 7) big[i] = static_cast<char>('a' + i % 26);
  ASSERT_TRUE(c.write(big));
  s.in += c.output();
  std::string got;
  ASSERT_TRUE(s.step(got));
  EXPECT_EQ(got, big);
}

}  // namespace
}  // namespace ringchat::ringload
