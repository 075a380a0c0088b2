#pragma once
#include <atomic>
#include <memory>
#include <mutex>
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
  // REQUIRES: at least one. The first is the default; a client whose SNI
  // names another's host (its subjectAltName or CN, `*.` wildcards
  // included) gets that one.
  std::vector<CertFiles> certs;
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
// certificates and keys (each checked to match), SNI among them, session
// tickets sealed with TicketKeys (and wolfSSL's session cache for TLS 1.2
// clients without tickets). Immutable once made, but for the ticket keys'
// rotation. A reload makes a new one from the files, keeping the ticket
// keys (`tickets`), so that tickets issued before it still resume.
// Thread: any (wolfSSL guards a context's reference count itself).
class ServerContext {
 public:
  // Reads and checks the files; the error says which file and why.
  // `tickets`: the keys to keep (a reload); null: new ones.
  static Result<std::shared_ptr<const ServerContext>, std::string> create(
      const ContextConfig& cfg, std::shared_ptr<TicketKeys> tickets = nullptr);
  ~ServerContext();
  ServerContext(const ServerContext&) = delete;
  ServerContext& operator=(const ServerContext&) = delete;

  // A new server-side connection object, or null when out of memory. Its
  // handshake may use this context until it is done: keep it alive as long.
  WOLFSSL* new_ssl() const;
  // The session-ticket keys (shared by every connection of this context).
  TicketKeys& tickets() const { return *tickets_; }
  const std::shared_ptr<TicketKeys>& shared_tickets() const { return tickets_; }

 private:
  struct Cert;
  ServerContext() = default;
  static int pick_certificate(WOLFSSL* ssl, int* alert, void* self);

  std::vector<Cert> certs_;  // certs_[0] makes every connection
  std::shared_ptr<TicketKeys> tickets_;
};

// The context new connections get: the one made at start until a reload
// (SIGHUP) puts another. Connections keep the one they were made with.
// Thread: any (a mutex for the pointer; the generation is an atomic, so
// that a shard checks for a change at each accept without the lock).
class ContextSlot {
 public:
  explicit ContextSlot(std::shared_ptr<const ServerContext> ctx) : ctx_(std::move(ctx)) {}
  void set(std::shared_ptr<const ServerContext> ctx) {
    std::lock_guard lock(mu_);
    ctx_ = std::move(ctx);
    generation_.fetch_add(1, std::memory_order_release);
  }
  uint64_t generation() const { return generation_.load(std::memory_order_acquire); }
  std::shared_ptr<const ServerContext> get() const {
    std::lock_guard lock(mu_);
    return ctx_;
  }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const ServerContext> ctx_;
  std::atomic<uint64_t> generation_{0};
};

}  // namespace ringchat::tls
