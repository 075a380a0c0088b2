#pragma once
#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "ringchat/net/transport.h"
#include "ringchat/obs/metrics.h"
#include "ringchat/tls/context.h"

namespace ringchat::tls {

// TLS as a connection's transport, through wolfSSL's custom I/O callbacks:
// ciphertext the socket delivered is handed to wolfSSL from the shard's
// buffer ring (it keeps a partial record itself), and what wolfSSL writes —
// handshake messages, alerts, records — is gathered per connection and goes
// out with the table's one send per connection per turn. No socket call,
// no thread of its own.
//
// Output: plaintext waits in the connection's send queue (shared buffers)
// until the table prepares a send; then at most kEncryptAhead bytes of it
// are encrypted, in records of up to 16 KiB (small messages queued
// together share a record), into a buffer of the connection's own that
// exists only while it holds ciphertext and counts in the connection's
// backlog and the shard's budget. Until the handshake is done, plaintext
// waits.
//
// Bad input — not TLS (a plaintext HTTP request gets a short 400 in clear
// text), a broken handshake or record, renegotiation — closes the
// connection after wolfSSL's alert; each is counted by kind.
// Thread: owner shard only.
class TlsTransport final : public net::Transport {
 public:
  static constexpr size_t kEncryptAhead = 64 << 10;

  // New connections use the slot's context (checked at each accept);
  // `slot` outlives the transport.
  TlsTransport(const ContextSlot& slot, obs::ShardMetrics& metrics);
  ~TlsTransport() override;

  void attach(net::SendBudget& budget) override { budget_ = &budget; }
  void open(net::Conn& c) override;
  void release(net::Conn& c) override;
  net::Decoded decode(net::Conn& c, std::span<std::byte> wire) override;
  const msghdr* prepare_send(net::Conn& c) override;
  void sent(net::Conn& c, size_t n) override;
  size_t unsent(const net::Conn& c) const override;

  // Per-connection state (public for wolfSSL's callbacks, in the .cc).
  struct Session;

 private:
  Session* find(const net::Conn& c) const;
  // Charges the ciphertext wolfSSL wrote since `before` bytes were held.
  void charge(Session& s, size_t before);
  net::Decoded decode(net::Conn& c, Session& s, std::span<std::byte> wire);
  void encrypt(net::Conn& c, Session& s);
  net::Decoded fail(const net::Conn& c, Session& s, obs::Metric kind);

  const ContextSlot& slot_;
  std::shared_ptr<const ServerContext> ctx_;  // the slot's, as of generation_
  uint64_t generation_ = 0;
  obs::ShardMetrics& metrics_;
  net::SendBudget* budget_ = nullptr;  // the shard's: ciphertext counts in it
  std::unordered_map<const net::Conn*, std::unique_ptr<Session>> sessions_;
  std::vector<std::byte> plain_;   // decrypted input, until the next decode()
  std::vector<std::byte> gather_;  // plaintext gathered into one record
};

}  // namespace ringchat::tls
