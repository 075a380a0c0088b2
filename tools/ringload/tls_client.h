#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "ringchat/core/result.h"
#include "scenario.h"

struct WOLFSSL_CTX;
struct WOLFSSL;
struct WOLFSSL_SESSION;

namespace ringchat::ringload {

// ringload's client-side TLS settings (wolfSSL), made once per run and shared
// by every worker: TLS 1.2 and 1.3 (or one of them), session tickets on,
// ALPN http/1.1. With a CA file the server's chain and name are verified;
// without one nothing is, and verifies() says so for the report.
// Thread: any; immutable after create() (wolfSSL guards the context itself).
class TlsClientContext {
 public:
  // `ca_file`: PEM bundle to verify against, or empty for no verification.
  static Result<std::unique_ptr<TlsClientContext>, std::string> create(const std::string& ca_file,
                                                                       TlsVersion version);
  ~TlsClientContext();
  TlsClientContext(const TlsClientContext&) = delete;
  TlsClientContext& operator=(const TlsClientContext&) = delete;

  bool verifies() const { return verify_; }
  WOLFSSL_CTX* ctx() const { return ctx_; }

 private:
  TlsClientContext() = default;
  WOLFSSL_CTX* ctx_ = nullptr;
  bool verify_ = false;
};

// A session kept for resumption (wolfSSL_get1_session); owns one reference.
struct TlsSessionFree {
  void operator()(WOLFSSL_SESSION* s) const;
};
using TlsSession = std::unique_ptr<WOLFSSL_SESSION, TlsSessionFree>;

enum class TlsStatus : uint8_t {
  kOk,      // go on (the handshake may still be running)
  kClosed,  // the server's close_notify came
  kError,   // a failed handshake or a bad record: error() says which
};

// One client connection's TLS, driven only by bytes: wolfSSL's custom I/O
// callbacks read ciphertext from what feed() hands in and append what it
// writes to output(). It never calls the kernel, so an io_uring loop owns all
// the I/O: received ciphertext goes to feed(), output() goes out as a send.
// Thread: owned by one connection, on its worker.
class TlsClient {
 public:
  // `host`: SNI and, when the context verifies, the name checked against
  // the certificate (skipped for an IP literal: see tls_client.cc).
  // `resume`: a session to offer (may be null). Check ok() after.
  TlsClient(const TlsClientContext& ctx, const std::string& host, WOLFSSL_SESSION* resume);
  ~TlsClient();
  TlsClient(const TlsClient&) = delete;
  TlsClient& operator=(const TlsClient&) = delete;

  bool ok() const { return ssl_ != nullptr; }
  // Writes the ClientHello to output().
  TlsStatus start();
  // Takes received ciphertext; drives the handshake and appends the
  // plaintext of every whole record to `plain`. A partial record stays
  // inside wolfSSL until the rest comes. Any bytes the handshake makes
  // (client Finished, alerts) land in output().
  TlsStatus feed(std::span<const std::byte> in, std::string& plain);
  // Encrypts `plain` into output() (records of at most 16 KiB).
  // REQUIRES: established().
  bool write(std::string_view plain);
  // Appends a close_notify alert to output().
  void close_notify();
  // Ciphertext to send; the caller takes it (swap or clear).
  std::string& output() { return out_; }

  bool established() const { return established_; }
  bool resumed() const;
  // TLS 1.3 (a session ticket comes after the handshake).
  bool tls13() const;
  // A session ticket has arrived (TLS 1.3 NewSessionTicket, or TLS 1.2's).
  bool has_ticket() const { return ticket_; }
  // established() and the session can be resumed: TLS 1.2 at once (ticket
  // or session id), TLS 1.3 once its ticket came.
  bool resumable() const { return established_ && (ticket_ || !tls13()); }
  TlsSession session() const;
  std::string version() const;
  std::string cipher() const;
  // The last failure, as wolfSSL words with '_' for spaces (e.g.
  // "ASN_no_signer_error_to_confirm_failure").
  const std::string& error() const { return error_; }

 private:
  static int on_recv(WOLFSSL*, char* buf, int size, void* self);
  static int on_send(WOLFSSL*, char* buf, int size, void* self);
  static int on_ticket(WOLFSSL*, const unsigned char*, int, void* self);
  TlsStatus failed(int ret);

  WOLFSSL* ssl_ = nullptr;
  std::span<const std::byte> in_;  // during feed(): what wolfSSL has not read yet
  std::string out_;
  std::string error_;
  bool established_ = false;
  bool ticket_ = false;
};

// Frees wolfCrypt's per-thread ECC cache; each worker thread calls it as it
// ends (the cache outlives the thread otherwise, and LeakSanitizer says so).
void release_tls_thread_caches();

}  // namespace ringchat::ringload
