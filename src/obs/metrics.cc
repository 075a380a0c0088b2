#include "ringchat/obs/metrics.h"

#include <cstdio>
#include <cstring>

namespace ringchat::obs {

namespace {

struct Info {
  const char* name;
  const char* type;
  const char* help;
  const char* kind = nullptr;  // a `kind` label: rows of one name are adjacent
};

// One row per Metric, in enum order.
constexpr Info kInfo[] = {
    {"ringchat_connections_accepted_total", "counter", "TCP connections accepted"},
    {"ringchat_connections_closed_total", "counter", "TCP connections closed"},
    {"ringchat_connections_rejected_total", "counter", "Accepts refused: descriptor table full"},
    {"ringchat_connections_open", "gauge", "Open TCP connections"},
    {"ringchat_websockets_open", "gauge", "Open WebSocket connections"},
    {"ringchat_sse_streams_open", "gauge", "Open Server-Sent Events streams"},
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
     "max_conns"},
    {"ringchat_limit_hits_total", "counter", "", "max_conns_per_ip"},
    {"ringchat_limit_hits_total", "counter", "", "conn_rate"},
    {"ringchat_limit_hits_total", "counter", "", "pub_rate"},
    {"ringchat_limit_hits_total", "counter", "", "header"},
    {"ringchat_limit_hits_total", "counter", "", "body"},
    {"ringchat_auth_failures_total", "counter",
     "Requests and ops refused for their credentials, by reason", "missing_token"},
    {"ringchat_auth_failures_total", "counter", "", "too_large"},
    {"ringchat_auth_failures_total", "counter", "", "malformed"},
    {"ringchat_auth_failures_total", "counter", "", "bad_alg"},
    {"ringchat_auth_failures_total", "counter", "", "bad_signature"},
    {"ringchat_auth_failures_total", "counter", "", "bad_claims"},
    {"ringchat_auth_failures_total", "counter", "", "expired"},
    {"ringchat_auth_failures_total", "counter", "", "not_yet_valid"},
    {"ringchat_auth_failures_total", "counter", "", "wrong_issuer"},
    {"ringchat_auth_failures_total", "counter", "", "wrong_audience"},
    {"ringchat_auth_failures_total", "counter", "", "origin"},
    {"ringchat_auth_failures_total", "counter", "", "forbidden"},
    {"ringchat_tls_handshakes_total", "counter", "TLS handshakes done, full or resumed", "full"},
    {"ringchat_tls_handshakes_total", "counter", "", "resumed"},
    {"ringchat_tls_failures_total", "counter", "TLS connections closed for what they sent, by kind",
     "plain_http"},
    {"ringchat_tls_failures_total", "counter", "", "handshake"},
    {"ringchat_tls_failures_total", "counter", "", "record"},
};
static_assert(std::size(kInfo) == static_cast<size_t>(Metric::kCount));

}  // namespace

Registry::Registry(unsigned shards) {
  for (unsigned i = 0; i < shards; ++i) shards_.push_back(std::make_unique<ShardMetrics>());
}

uint64_t Registry::total(Metric m) const {
  uint64_t sum = 0;
  for (const auto& s : shards_) sum += s->get(m);
  return sum;
}

std::string Registry::prometheus() const {
  std::string out;
  out.reserve(8192);
  char line[256];
  for (size_t m = 0; m < std::size(kInfo); ++m) {
    const Info& info = kInfo[m];
    if (m == 0 || std::strcmp(kInfo[m - 1].name, info.name) != 0) {
      snprintf(line, sizeof(line), "# HELP %s %s\n# TYPE %s %s\n", info.name, info.help, info.name,
               info.type);
      out += line;
    }
    for (size_t s = 0; s < shards_.size(); ++s) {
      const auto v = static_cast<unsigned long long>(shards_[s]->get(static_cast<Metric>(m)));
      if (info.kind) {
        snprintf(line, sizeof(line), "%s{shard=\"%zu\",kind=\"%s\"} %llu\n", info.name, s,
                 info.kind, v);
      } else {
        snprintf(line, sizeof(line), "%s{shard=\"%zu\"} %llu\n", info.name, s, v);
      }
      out += line;
    }
  }
  return out;
}

}  // namespace ringchat::obs
