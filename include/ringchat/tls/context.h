#pragma once
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ringchat/core/result.h"

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
};

// The default suites, fastest first on a CPU without AES instructions (as
// Debian's wolfSSL is built): ChaCha20-Poly1305, then AES-GCM. TLS 1.3
// suites and the TLS 1.2 ECDHE ones; nothing without forward secrecy.
std::string_view default_ciphers();

// A server's TLS settings, made once and shared by every shard: TLS 1.2
// and 1.3 only, its suites in the server's order, ALPN `http/1.1`, its
// certificate and key (checked to match). Immutable once made.
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

 private:
  ServerContext() = default;
  WOLFSSL_CTX* ctx_ = nullptr;
};

}  // namespace ringchat::tls
