#pragma once
#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace ringchat::obs {

// Every counter and gauge of a shard. The names (with help text) live in one
// table in metrics.cc; add a value here and a row there.
enum class Metric : uint16_t {
  kConnectionsAccepted,
  kConnectionsClosed,
  kConnectionsRejected,  // accept failed: descriptor table full
  kConnectionsOpen,      // gauge
  kWebSocketsOpen,       // gauge
  kSseStreamsOpen,       // gauge
  kHttpRequests,
  kHttpErrors,  // any 4xx/5xx answered
  kHandshakeTimeouts,
  kWsHandshakes,
  kWsMessagesIn,
  kWsBytesIn,
  kWsFramesOut,  // frames queued to connections (deliveries)
  kWsBytesOut,
  kWsProtocolErrors,  // closed with 1002
  kWsInvalidUtf8,     // closed with 1007
  kWsTooBig,          // closed with 1009
  kWsIdleCloses,
  kJsonErrors,          // JSON socket ops answered with an `error`
  kSlowConsumerCloses,  // closed with 1008: send backlog over the limit
  kShardBacklogSheds,   // closed with 1008: the shard's unsent bytes over --shard-backlog
  kSendQueuedBytes,     // gauge: bytes queued to this shard's connections, unsent
  kSendQueuedPeak,      // gauge: the highest kSendQueuedBytes seen at the end of a turn
  kInputPauses,         // reads paused because a connection's answers were unsent
  kRoomsOwned,          // gauge
  kPublishes,           // messages sequenced by this shard as room owner
  kHttpPublishes,       // POST /rooms/{room}/messages answered 201
  kMailboxIn,           // cross-shard messages received
  kRecvNoBuffers,       // multishot recv ended by -ENOBUFS
  kStaleCompletions,    // completion for a slot already reused
  kIoErrors,            // unexpected -errno from the kernel
  // Limits hit (ringchat_limit_hits_total{kind=...}), each by its flag.
  kLimitMaxConns,    // --max-conns: refused with 503
  kLimitConnsPerIp,  // --max-conns-per-ip: refused with 429
  kLimitConnRate,    // --conn-rate: refused with 429
  kLimitPubRate,     // --pub-rate: a publish refused
  kLimitHeader,      // --max-header, --max-header-fields: 431
  kLimitBody,        // --max-message of an HTTP body: 413
  // Requests refused for their credentials (ringchat_auth_failures_total{kind=...}).
  kAuthMissingToken,  // no token, and no --allow-anonymous
  kAuthTooLarge,      // the token's failure (auth::Failure) ...
  kAuthMalformed,
  kAuthBadAlg,
  kAuthBadSignature,
  kAuthBadClaims,
  kAuthExpired,
  kAuthNotYetValid,
  kAuthWrongIssuer,
  kAuthWrongAudience,
  kAuthOrigin,     // a browser Origin not in --origins
  kAuthForbidden,  // a valid identity asking for a room its claims do not grant
  // TLS handshakes done (ringchat_tls_handshakes_total{kind=...}).
  kTlsFull,     // a full handshake
  kTlsResumed,  // resumed from a ticket or the session cache
  // TLS connections closed for what they sent (ringchat_tls_failures_total{kind=...}).
  kTlsPlainHttp,          // a plaintext HTTP request on the TLS port (answered 400 in clear)
  kTlsHandshakeFailures,  // not a handshake wolfSSL would finish
  kTlsRecordFailures,     // a bad record after the handshake, renegotiation
  kCount
};

// One shard's metrics. Written only by that shard (relaxed load + store, no
// read-modify-write); read by any thread for /metrics.
// Thread: writer: owner shard; readers: any.
class ShardMetrics {
 public:
  void add(Metric m, uint64_t n = 1) {
    auto& v = values_[static_cast<size_t>(m)];
    v.store(v.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  void set(Metric m, uint64_t v) {
    values_[static_cast<size_t>(m)].store(v, std::memory_order_relaxed);
  }
  void sub(Metric m, uint64_t n = 1) { add(m, static_cast<uint64_t>(-static_cast<int64_t>(n))); }
  uint64_t get(Metric m) const {
    return values_[static_cast<size_t>(m)].load(std::memory_order_relaxed);
  }

 private:
  std::array<std::atomic<uint64_t>, static_cast<size_t>(Metric::kCount)> values_{};
};

// All shards' metrics. Thread: any; the set of shards is fixed at startup.
class Registry {
 public:
  explicit Registry(unsigned shards);
  ShardMetrics& shard(unsigned i) { return *shards_[i]; }
  uint64_t total(Metric m) const;
  // Prometheus text exposition format 0.0.4, one series per shard.
  std::string prometheus() const;

 private:
  std::vector<std::unique_ptr<ShardMetrics>> shards_;
};

}  // namespace ringchat::obs
