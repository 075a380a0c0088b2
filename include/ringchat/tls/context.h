#pragma once
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ringchat/core/result.h"
#include "ringchat/tls/tickets.h"

struct WOLFSSL_CTX;
struct WOLFSSL;

namespace ringchat::tls {

// A certificate chain and its private key, PEM files.
struct CertFiles {
  std::string cert;
  std::string key;
};

struct ContextConfig {
  std::vector<CertFiles> certs;  // REQUIRES: at least one
  // wolfSSL/OpenSSL cipher-suite list; empty: default_ciphers().
  std::string ciphers;
  // A new session-ticket key this often (TicketKeys).
  uint64_t ticket_rotate_ms = 12 * 3600 * 1000;
};

// The default suites, fastest first on a CPU without AES instructions (as
// Debian's wolfSSL is built): ChaCha20-Poly1305, then AES-GCM. TLS 1.3
// suites and the TLS 1.2 ECDHE ones; nothing without forward secrecy.
std::string_view default_ciphers();

// A server's TLS settings, made once and shared by every shard: TLS 1.2
// and 1.3 only, its suites in the server's order, ALPN `http/1.1`, its
// certificate and key (checked to match), session tickets sealed with
// TicketKeys (and wolfSSL's session cache for TLS 1.2 clients without
// tickets). Immutable once made, but for the ticket keys' rotation.
// Thread: any (wolfSSL guards a context's reference count itself).
class ServerContext {
 public:
  // Reads and checks the files; the error says which file and why.
  static Result<std::shared_ptr<const ServerContext>, std::string> create(const ContextConfig& cfg);
  ~ServerContext();
  ServerContext(const ServerContext&) = delete;
  ServerContext& operator=(const ServerContext&) = delete;

  // A new server-side connection object, or null when out of memory.
  WOLFSSL* new_ssl() const;
  // The session-ticket keys (shared by every connection of this context).
  TicketKeys& tickets() const { return *tickets_; }

 private:
  ServerContext() = default;
  WOLFSSL_CTX* ctx_ = nullptr;
  std::unique_ptr<TicketKeys> tickets_;
};

}  // namespace ringchat::tls
