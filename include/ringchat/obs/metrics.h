#pragma once
#include <array>
#include <atomic>
#include <cstdint>
#include <iterator>
#include <memory>
#include <span>
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
  // Connections by the protocol that holds them (ringchat_connections{transport=...}).
  kConnsHttp,      // gauge: HTTP, before any upgrade
  kConnsWsRaw,     // gauge: raw room sockets (GET /ws/{room})
  kConnsWsJson,    // gauge: JSON sockets (GET /ws)
  kConnsSse,       // gauge: SSE streams
  kConnsOverHalf,  // gauge: connections whose unsent bytes are over half --send-backlog
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
  // WebSocket close frames by code (ringchat_ws_closes_total{by=...,code=...}): the
  // server's, then the peer's, each in the order of kCloseCodes below.
  kWsClosesByServer,
  kWsClosesByClient = kWsClosesByServer + 12,  // 12: kCloseCodeSlots
  kHistoryBytes = kWsClosesByClient + 12,      // gauge: memory held by this shard's rooms' history
  kLoopTurns,                                  // loop turns (wake-ups)
  // Cluster mode (--redis): this shard's part as room owner.
  kPublishesRefused,  // publishes the authority did not sequence (down, or no answer)
  kClusterGapFills,   // fetches of messages a broadcast skipped
  kClusterResyncs,    // rooms synced again after the authority came back
  kClusterUp,         // gauge: 1 while this shard's connection to the authority is up
  kCount
};

// The WebSocket close codes counted one by one; any other is "other".
inline constexpr uint16_t kCloseCodes[] = {1000, 1001, 1002, 1003, 1005, 1007,
                                           1008, 1009, 1011, 1013, 4001};
inline constexpr size_t kCloseCodeSlots = std::size(kCloseCodes) + 1;  // + other
static_assert(static_cast<size_t>(Metric::kWsClosesByClient) -
                  static_cast<size_t>(Metric::kWsClosesByServer) ==
              kCloseCodeSlots);
// The Metric that counts close code `code`, sent by the server or the peer.
Metric close_metric(uint16_t code, bool by_server);

// Histograms, each with fixed buckets (metrics.cc has their bounds).
enum class Hist : uint8_t {
  kLoopLag,        // how late a loop turn ran against its timer (ns)
  kPublishToSend,  // owner sequenced a message -> its bytes queued for the send of a member (ns)
  kHandshake,      // accepted -> 101 or the SSE head answered (ns)
  kSubmissions,    // io_uring SQEs submitted per loop turn
  kCount
};
inline constexpr size_t kMaxBuckets = 16;
// The upper bounds of histogram `h`'s finite buckets, ascending, in its
// unit (ns, or a count); Histogram::bucket(bounds.size()) is the +Inf one.
std::span<const uint64_t> hist_bounds(Hist h);

// One histogram of one shard: counts per bucket (not cumulative), the sum
// and the count. Written by its shard only (relaxed load + store), read by
// any thread; a scrape may see a sample in one field and not yet in another.
// Thread: writer: owner shard; readers: any.
class Histogram {
 public:
  // `n` samples of `v` (the histogram's unit: ns, or a count).
  void observe(Hist h, uint64_t v, uint64_t n = 1);
  uint64_t bucket(size_t i) const { return buckets_[i].load(std::memory_order_relaxed); }
  uint64_t sum() const { return sum_.load(std::memory_order_relaxed); }
  uint64_t count() const { return count_.load(std::memory_order_relaxed); }

 private:
  static void bump(std::atomic<uint64_t>& a, uint64_t n) {
    a.store(a.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  std::array<std::atomic<uint64_t>, kMaxBuckets + 1> buckets_{};  // the last: +Inf
  std::atomic<uint64_t> sum_{0}, count_{0};
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
  void observe(Hist h, uint64_t v, uint64_t n = 1) { hist(h).observe(h, v, n); }
  Histogram& hist(Hist h) { return hists_[static_cast<size_t>(h)]; }
  const Histogram& hist(Hist h) const { return hists_[static_cast<size_t>(h)]; }
  // When the shard's loop last turned (monotonic ms), for /healthz.
  void turned(uint64_t now_ms) { last_turn_ms_.store(now_ms, std::memory_order_relaxed); }
  uint64_t last_turn_ms() const { return last_turn_ms_.load(std::memory_order_relaxed); }

 private:
  std::array<std::atomic<uint64_t>, static_cast<size_t>(Metric::kCount)> values_{};
  std::array<Histogram, static_cast<size_t>(Hist::kCount)> hists_{};
  std::atomic<uint64_t> last_turn_ms_{0};
};

// All shards' metrics. Thread: any; the set of shards is fixed at startup.
class Registry {
 public:
  explicit Registry(unsigned shards);
  ShardMetrics& shard(unsigned i) { return *shards_[i]; }
  const ShardMetrics& shard(unsigned i) const { return *shards_[i]; }
  unsigned shards() const { return static_cast<unsigned>(shards_.size()); }
  uint64_t total(Metric m) const;
  // Prometheus text exposition format 0.0.4, one series per shard: every
  // Metric and Hist, appended to `out`.
  void prometheus(std::string& out) const;
  std::string prometheus() const {
    std::string out;
    prometheus(out);
    return out;
  }

 private:
  std::vector<std::unique_ptr<ShardMetrics>> shards_;
};

// Writing the exposition format for what the Registry does not hold (the
// mailboxes, the process): a family's HELP and TYPE lines, then its
// samples; `labels` is empty or `a="x",b="y"` (values already escaped).
void append_family(std::string& out, const char* name, const char* type, const char* help);
void append_sample(std::string& out, const char* name, const std::string& labels, double v);

// The process collector's usual families (process_cpu_seconds_total,
// process_resident_memory_bytes, process_virtual_memory_bytes,
// process_open_fds, process_max_fds, process_start_time_seconds), read
// from /proc and getrusage when called. Thread: any.
void append_process_metrics(std::string& out);

}  // namespace ringchat::obs
