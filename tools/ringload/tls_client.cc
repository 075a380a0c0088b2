// wolfSSL as a client through custom I/O callbacks: ciphertext in from
// feed() (the worker's provided-buffer receives), out through output() (the
// worker's sends). The same seam as the server's src/tls/transport.cc.
#include "tls_client.h"

// clang-format off
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <wolfssl/wolfcrypt/ecc.h>
// clang-format on

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>
#include <mutex>

namespace ringchat::ringload {
namespace {

constexpr size_t kMaxRecord = 16384;  // plaintext bytes of a TLS record
constexpr std::string_view kAlpn = "http/1.1";

std::string words(int code) {
  char text[WOLFSSL_MAX_ERROR_SZ] = {};
  wolfSSL_ERR_error_string_n(static_cast<unsigned long>(code), text, sizeof text);
  std::string out(text);
  // "error:-188:ASN no signer ...": the words only, spaces as '_'.
  if (const size_t colon = out.rfind(':'); out.starts_with("error:") && colon != std::string::npos)
    out.erase(0, colon + 1);
  std::replace(out.begin(), out.end(), ' ', '_');
  if (out.size() > 48) out.resize(48);
  return out.empty() ? std::to_string(code) : out;
}

bool is_ip_literal(const std::string& host) {
  in_addr a4{};
  in6_addr a6{};
  return inet_pton(AF_INET, host.c_str(), &a4) == 1 || inet_pton(AF_INET6, host.c_str(), &a6) == 1;
}

}  // namespace

Result<std::unique_ptr<TlsClientContext>, std::string> TlsClientContext::create(
    const std::string& ca_file, TlsVersion version) {
  static std::once_flag init;
  std::call_once(init, [] { wolfSSL_Init(); });
  std::unique_ptr<TlsClientContext> self(new TlsClientContext());
  WOLFSSL_METHOD* method = version == TlsVersion::k12   ? wolfTLSv1_2_client_method()
                           : version == TlsVersion::k13 ? wolfTLSv1_3_client_method()
                                                        : wolfSSLv23_client_method();
  self->ctx_ = wolfSSL_CTX_new(method);
  WOLFSSL_CTX* ctx = self->ctx_;
  if (!ctx) return Err(std::string("TLS client context: out of memory"));
  if (version == TlsVersion::kAuto && wolfSSL_CTX_SetMinVersion(ctx, WOLFSSL_TLSV1_2) != 1)
    return Err(std::string("TLS client context: cannot require TLS 1.2"));
  if (ca_file.empty()) {
    wolfSSL_CTX_set_verify(ctx, WOLFSSL_VERIFY_NONE, nullptr);
  } else {
    if (int r = wolfSSL_CTX_load_verify_locations(ctx, ca_file.c_str(), nullptr);
        r != WOLFSSL_SUCCESS) {
      return Err("--tls-ca " + ca_file + ": not a PEM certificate bundle (" + words(r) + ")");
    }
    wolfSSL_CTX_set_verify(ctx, WOLFSSL_VERIFY_PEER, nullptr);
    self->verify_ = true;
  }
  // TLS 1.2 tickets too (TLS 1.3 servers send theirs unasked).
  wolfSSL_CTX_UseSessionTicket(ctx);
  return self;
}

TlsClientContext::~TlsClientContext() {
  if (ctx_) wolfSSL_CTX_free(ctx_);
}

void TlsSessionFree::operator()(WOLFSSL_SESSION* s) const { wolfSSL_SESSION_free(s); }

TlsClient::TlsClient(const TlsClientContext& ctx, const std::string& host,
                     WOLFSSL_SESSION* resume) {
  ssl_ = wolfSSL_new(ctx.ctx());
  if (!ssl_) return;
  wolfSSL_SSLSetIORecv(ssl_, on_recv);
  wolfSSL_SSLSetIOSend(ssl_, on_send);
  wolfSSL_SetIOReadCtx(ssl_, this);
  wolfSSL_SetIOWriteCtx(ssl_, this);
  wolfSSL_set_SessionTicket_cb(ssl_, on_ticket, this);
  wolfSSL_UseALPN(ssl_, const_cast<char*>(kAlpn.data()), static_cast<unsigned>(kAlpn.size()),
                  WOLFSSL_ALPN_CONTINUE_ON_MISMATCH);
  // RFC 6066 §3: SNI carries a DNS name, never an address. This wolfSSL
  // matches names only (not IP subjectAltNames), so with an address the
  // chain is verified and the name is not.
  if (!is_ip_literal(host)) {
    wolfSSL_UseSNI(ssl_, WOLFSSL_SNI_HOST_NAME, host.data(), static_cast<uint16_t>(host.size()));
    if (ctx.verifies()) wolfSSL_check_domain_name(ssl_, host.c_str());
  }
  if (resume) wolfSSL_set_session(ssl_, resume);
}

TlsClient::~TlsClient() {
  if (ssl_) wolfSSL_free(ssl_);
}

int TlsClient::on_recv(WOLFSSL*, char* buf, int size, void* self) {
  TlsClient& t = *static_cast<TlsClient*>(self);
  if (t.in_.empty()) return WOLFSSL_CBIO_ERR_WANT_READ;
  const size_t n = std::min(t.in_.size(), static_cast<size_t>(size));
  std::memcpy(buf, t.in_.data(), n);
  t.in_ = t.in_.subspan(n);
  return static_cast<int>(n);
}

int TlsClient::on_send(WOLFSSL*, char* buf, int size, void* self) {
  static_cast<TlsClient*>(self)->out_.append(buf, static_cast<size_t>(size));
  return size;
}

int TlsClient::on_ticket(WOLFSSL*, const unsigned char*, int, void* self) {
  static_cast<TlsClient*>(self)->ticket_ = true;
  return 0;
}

TlsStatus TlsClient::failed(int ret) {
  error_ = words(wolfSSL_get_error(ssl_, ret));
  in_ = {};
  return TlsStatus::kError;
}

TlsStatus TlsClient::start() {
  const int r = wolfSSL_connect(ssl_);
  if (r == WOLFSSL_SUCCESS) return TlsStatus::kOk;  // not before the server answers
  const int err = wolfSSL_get_error(ssl_, r);
  if (err == WOLFSSL_ERROR_WANT_READ || err == WOLFSSL_ERROR_WANT_WRITE) return TlsStatus::kOk;
  return failed(r);
}

TlsStatus TlsClient::feed(std::span<const std::byte> in, std::string& plain) {
  in_ = in;
  if (!established_) {
    const int r = wolfSSL_connect(ssl_);
    if (r != WOLFSSL_SUCCESS) {
      const int err = wolfSSL_get_error(ssl_, r);
      if (err == WOLFSSL_ERROR_WANT_READ || err == WOLFSSL_ERROR_WANT_WRITE) return TlsStatus::kOk;
      return failed(r);
    }
    established_ = true;
  }
  // Every whole record the bytes complete (and post-handshake messages
  // such as a TLS 1.3 NewSessionTicket, which yield no plaintext).
  for (;;) {
    const size_t len = plain.size();
    plain.resize(len + kMaxRecord);
    const int n = wolfSSL_read(ssl_, plain.data() + len, static_cast<int>(kMaxRecord));
    plain.resize(len + static_cast<size_t>(std::max(n, 0)));
    if (n > 0) continue;
    const int err = wolfSSL_get_error(ssl_, n);
    if (err == WOLFSSL_ERROR_WANT_READ) return TlsStatus::kOk;
    if (err == WOLFSSL_ERROR_ZERO_RETURN) return TlsStatus::kClosed;
    return failed(n);
  }
}

bool TlsClient::write(std::string_view plain) {
  // The send callback takes everything, so wolfSSL writes all of it (in
  // records of at most 16 KiB) or fails.
  while (!plain.empty()) {
    const size_t n = std::min(plain.size(), kMaxRecord);
    if (wolfSSL_write(ssl_, plain.data(), static_cast<int>(n)) != static_cast<int>(n)) {
      error_ = words(wolfSSL_get_error(ssl_, 0));
      return false;
    }
    plain.remove_prefix(n);
  }
  return true;
}

void TlsClient::close_notify() {
  if (established_) wolfSSL_shutdown(ssl_);  // the server's answer is not awaited
}

bool TlsClient::resumed() const { return wolfSSL_session_reused(ssl_) == 1; }

bool TlsClient::tls13() const { return wolfSSL_version(ssl_) == TLS1_3_VERSION; }

TlsSession TlsClient::session() const { return TlsSession(wolfSSL_get1_session(ssl_)); }

std::string TlsClient::version() const { return wolfSSL_get_version(ssl_); }

std::string TlsClient::cipher() const {
  const char* name = wolfSSL_get_cipher_name(ssl_);
  return name ? name : "";
}

void release_tls_thread_caches() {
#ifdef FP_ECC
  wc_ecc_fp_free();
#endif
}

}  // namespace ringchat::ringload
