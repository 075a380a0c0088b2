#include "ringchat/obs/metrics.h"

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <cstring>

namespace ringchat::obs {

namespace {

struct Info {
  const char* name;
  const char* type;
  const char* help;
  const char* labels = nullptr;  // besides `shard`; rows of one name are adjacent
};

#define CLOSE(by, code, help) \
  { "ringchat_ws_closes_total", "counter", help, "by=\"" by "\",code=\"" code "\"" }
#define CLOSES(by, help)                                                                          \
  CLOSE(by, "1000", help), CLOSE(by, "1001", ""), CLOSE(by, "1002", ""), CLOSE(by, "1003", ""),   \
      CLOSE(by, "1005", ""), CLOSE(by, "1007", ""), CLOSE(by, "1008", ""), CLOSE(by, "1009", ""), \
      CLOSE(by, "1011", ""), CLOSE(by, "1013", ""), CLOSE(by, "4001", ""), CLOSE(by, "other", "")

// One row per Metric, in enum order.
constexpr Info kInfo[] = {
    {"ringchat_connections_accepted_total", "counter", "TCP connections accepted"},
    {"ringchat_connections_closed_total", "counter", "TCP connections closed"},
    {"ringchat_connections_rejected_total", "counter", "Accepts refused: descriptor table full"},
    {"ringchat_connections_open", "gauge", "Open TCP connections"},
    {"ringchat_connections", "gauge", "Open connections by the protocol that holds them",
     R"(transport="http")"},
    {"ringchat_connections", "gauge", "", R"(transport="ws_raw")"},
    {"ringchat_connections", "gauge", "", R"(transport="ws_json")"},
    {"ringchat_connections", "gauge", "", R"(transport="sse")"},
    {"ringchat_send_backlog_over_half", "gauge",
     "Connections whose unsent bytes are over half of --send-backlog"},
    {"ringchat_http_requests_total", "counter", "HTTP requests parsed"},
    {"ringchat_http_errors_total", "counter", "HTTP requests answered with 4xx or 5xx"},
    {"ringchat_handshake_timeouts_total", "counter",
     "Connections closed before completing a request in time"},
    {"ringchat_ws_handshakes_total", "counter", "WebSocket upgrades completed"},
    {"ringchat_ws_messages_in_total", "counter", "WebSocket data messages received"},
    {"ringchat_ws_bytes_in_total", "counter", "WebSocket payload bytes received"},
    {"ringchat_ws_frames_out_total", "counter", "WebSocket frames queued to connections"},
    {"ringchat_ws_bytes_out_total", "counter", "Bytes queued to connections"},
    {"ringchat_ws_protocol_errors_total", "counter", "Connections closed with 1002"},
    {"ringchat_ws_invalid_utf8_total", "counter", "Connections closed with 1007"},
    {"ringchat_ws_too_big_total", "counter", "Connections closed with 1009"},
    {"ringchat_ws_idle_closes_total", "counter",
     "Connections closed after two silent ping intervals"},
    {"ringchat_json_errors_total", "counter",
     "JSON socket ops answered with an error (the connection stays open)"},
    {"ringchat_slow_consumer_closes_total", "counter",
     "Connections closed with 1008: send backlog over the limit"},
    {"ringchat_shard_backlog_sheds_total", "counter",
     "Connections closed with 1008 because the shard's unsent bytes passed --shard-backlog"},
    {"ringchat_send_queued_bytes", "gauge",
     "Bytes queued to this shard's connections and not yet sent"},
    {"ringchat_send_queued_peak_bytes", "gauge",
     "Highest ringchat_send_queued_bytes seen at the end of a loop turn"},
    {"ringchat_input_pauses_total", "counter",
     "Times a connection's input was paused until its answers were sent"},
    {"ringchat_rooms_owned", "gauge", "Rooms whose owner is this shard"},
    {"ringchat_publishes_total", "counter", "Messages sequenced by this shard as room owner"},
    {"ringchat_http_publishes_total", "counter",
     "Messages published with POST /rooms/{room}/messages and answered 201"},
    {"ringchat_mailbox_in_total", "counter", "Cross-shard messages received"},
    {"ringchat_recv_no_buffers_total", "counter",
     "Receives paused because the buffer ring was empty"},
    {"ringchat_stale_completions_total", "counter",
     "Completions for connection slots already reused"},
    {"ringchat_io_errors_total", "counter", "Unexpected I/O errors"},
    {"ringchat_limit_hits_total", "counter", "Requests refused by a limit, by the limit's kind",
     R"(kind="max_conns")"},
    {"ringchat_limit_hits_total", "counter", "", R"(kind="max_conns_per_ip")"},
    {"ringchat_limit_hits_total", "counter", "", R"(kind="conn_rate")"},
    {"ringchat_limit_hits_total", "counter", "", R"(kind="pub_rate")"},
    {"ringchat_limit_hits_total", "counter", "", R"(kind="header")"},
    {"ringchat_limit_hits_total", "counter", "", R"(kind="body")"},
    {"ringchat_auth_failures_total", "counter",
     "Requests and ops refused for their credentials, by reason", R"(kind="missing_token")"},
    {"ringchat_auth_failures_total", "counter", "", R"(kind="too_large")"},
    {"ringchat_auth_failures_total", "counter", "", R"(kind="malformed")"},
    {"ringchat_auth_failures_total", "counter", "", R"(kind="bad_alg")"},
    {"ringchat_auth_failures_total", "counter", "", R"(kind="bad_signature")"},
    {"ringchat_auth_failures_total", "counter", "", R"(kind="bad_claims")"},
    {"ringchat_auth_failures_total", "counter", "", R"(kind="expired")"},
    {"ringchat_auth_failures_total", "counter", "", R"(kind="not_yet_valid")"},
    {"ringchat_auth_failures_total", "counter", "", R"(kind="wrong_issuer")"},
    {"ringchat_auth_failures_total", "counter", "", R"(kind="wrong_audience")"},
    {"ringchat_auth_failures_total", "counter", "", R"(kind="origin")"},
    {"ringchat_auth_failures_total", "counter", "", R"(kind="forbidden")"},
    {"ringchat_tls_handshakes_total", "counter", "TLS handshakes done, full or resumed",
     R"(kind="full")"},
    {"ringchat_tls_handshakes_total", "counter", "", R"(kind="resumed")"},
    {"ringchat_tls_failures_total", "counter", "TLS connections closed for what they sent, by kind",
     R"(kind="plain_http")"},
    {"ringchat_tls_failures_total", "counter", "", R"(kind="handshake")"},
    {"ringchat_tls_failures_total", "counter", "", R"(kind="record")"},
    CLOSES("server", "WebSocket close frames by code, sent by the server or by the peer"),
    CLOSES("client", ""),
    {"ringchat_history_bytes", "gauge",
     "Bytes held by the history of this shard's rooms (updated every second)"},
    {"ringchat_loop_turns_total", "counter", "Event loop turns (wake-ups)"},
    {"ringchat_cluster_publishes_refused_total", "counter",
     "Publishes refused because Redis did not sequence them (unreachable, or no answer)"},
    {"ringchat_cluster_gap_fills_total", "counter",
     "Fetches from a room's Redis stream of messages its broadcast skipped"},
    {"ringchat_cluster_resyncs_total", "counter",
     "Rooms synced again from Redis after its connection came back"},
    {"ringchat_cluster_up", "gauge",
     "1 while this shard's connections to Redis are up (cluster mode), else 0"},
};
#undef CLOSES
#undef CLOSE
static_assert(std::size(kInfo) == static_cast<size_t>(Metric::kCount));

struct HistInfo {
  const char* name;
  const char* help;
  double unit;  // what a bound of 1 is in the exposition: 1e-9 for ns -> seconds
  std::array<uint64_t, kMaxBuckets> bounds;  // ascending; a 0 past the first ends the list
};

// Bounds in the unit observed (ns, or a count). Latencies follow the usual
// Prometheus ladder (1, 2.5, 5 per decade) from 50 us to 10 s.
constexpr std::array<uint64_t, kMaxBuckets> kLatencyNs = {
    50'000,      100'000,       250'000,       500'000,       1'000'000,   2'500'000,
    5'000'000,   10'000'000,    25'000'000,    50'000'000,    100'000'000, 250'000'000,
    500'000'000, 1'000'000'000, 2'500'000'000, 10'000'000'000};

constexpr HistInfo kHists[] = {
    {"ringchat_loop_lag_seconds",
     "How late the event loop ran a check due every 100 ms (the length of the turns before it)",
     1e-9, kLatencyNs},
    {"ringchat_publish_to_send_seconds",
     "From the owner sequencing a message to its bytes being queued for the send of each member "
     "(one sample per member)",
     1e-9, kLatencyNs},
    {"ringchat_handshake_seconds",
     "From accepting a connection to answering its WebSocket upgrade or SSE request", 1e-9,
     kLatencyNs},
    {"ringchat_uring_submissions_per_turn",
     "io_uring submission queue entries submitted per turn",
     1,
     {0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096}},
};
static_assert(std::size(kHists) == static_cast<size_t>(Hist::kCount));

size_t bucket_count(const HistInfo& h) {
  size_t n = 1;
  while (n < kMaxBuckets && h.bounds[n] != 0) ++n;
  return n;
}

void append(std::string& out, const char* fmt, ...) __attribute__((format(printf, 2, 3)));
void append(std::string& out, const char* fmt, ...) {
  char line[512];
  va_list ap;
  va_start(ap, fmt);
  const int n = vsnprintf(line, sizeof(line), fmt, ap);
  va_end(ap);
  if (n > 0) out.append(line, std::min<size_t>(static_cast<size_t>(n), sizeof(line) - 1));
}

// 0.00005, 2.5, 10: no exponent, no trailing zeros.
std::string decimal(double v) {
  char buf[64];
  snprintf(buf, sizeof(buf), "%.9f", v);
  std::string s = buf;
  while (s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  return s;
}

}  // namespace

std::span<const uint64_t> hist_bounds(Hist h) {
  const HistInfo& info = kHists[static_cast<size_t>(h)];
  return {info.bounds.data(), bucket_count(info)};
}

Registry::Registry(unsigned shards) {
  for (unsigned i = 0; i < shards; ++i) shards_.push_back(std::make_unique<ShardMetrics>());
}

uint64_t Registry::total(Metric m) const {
  uint64_t sum = 0;
  for (const auto& s : shards_) sum += s->get(m);
  return sum;
}

void append_family(std::string& out, const char* name, const char* type, const char* help) {
  append(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void append_sample(std::string& out, const char* name, const std::string& labels, double v) {
  append(out, "%s%s%s%s %s\n", name, labels.empty() ? "" : "{", labels.c_str(),
         labels.empty() ? "" : "}", decimal(v).c_str());
}

Metric close_metric(uint16_t code, bool by_server) {
  const auto* end = std::end(kCloseCodes);
  const auto i = static_cast<size_t>(std::find(std::begin(kCloseCodes), end, code) -
                                     std::begin(kCloseCodes));  // not found: "other"
  const size_t base =
      static_cast<size_t>(by_server ? Metric::kWsClosesByServer : Metric::kWsClosesByClient);
  return static_cast<Metric>(base + i);
}

void Histogram::observe(Hist h, uint64_t v, uint64_t n) {
  const HistInfo& info = kHists[static_cast<size_t>(h)];
  const size_t buckets = bucket_count(info);
  size_t i = 0;
  while (i < buckets && v > info.bounds[i]) ++i;
  bump(buckets_[i], n);
  bump(sum_, v * n);
  bump(count_, n);
}

void Registry::prometheus(std::string& out) const {
  for (size_t m = 0; m < std::size(kInfo); ++m) {
    const Info& info = kInfo[m];
    if (m == 0 || std::strcmp(kInfo[m - 1].name, info.name) != 0) {
      append(out, "# HELP %s %s\n# TYPE %s %s\n", info.name, info.help, info.name, info.type);
    }
    for (size_t s = 0; s < shards_.size(); ++s) {
      const auto v = static_cast<unsigned long long>(shards_[s]->get(static_cast<Metric>(m)));
      append(out, "%s{shard=\"%zu\"%s%s} %llu\n", info.name, s, info.labels ? "," : "",
             info.labels ? info.labels : "", v);
    }
  }
  for (size_t h = 0; h < std::size(kHists); ++h) {
    const HistInfo& info = kHists[h];
    append(out, "# HELP %s %s\n# TYPE %s histogram\n", info.name, info.help, info.name);
    const size_t buckets = bucket_count(info);
    for (size_t s = 0; s < shards_.size(); ++s) {
      const Histogram& hist = shards_[s]->hist(static_cast<Hist>(h));
      // Cumulative, as the format wants; +Inf is the count of every bucket
      // read here, so it is never below a finite bucket.
      unsigned long long cum = 0;
      for (size_t b = 0; b <= buckets; ++b) {
        cum += hist.bucket(b);
        append(
            out, "%s_bucket{shard=\"%zu\",le=\"%s\"} %llu\n", info.name, s,
            b < buckets ? decimal(static_cast<double>(info.bounds[b]) * info.unit).c_str() : "+Inf",
            cum);
      }
      append(out, "%s_sum{shard=\"%zu\"} %.9g\n", info.name, s,
             static_cast<double>(hist.sum()) * info.unit);
      append(out, "%s_count{shard=\"%zu\"} %llu\n", info.name, s, cum);
    }
  }
}

}  // namespace ringchat::obs
