#pragma once
#include <cstdint>
#include <map>
#include <string>

#include "histogram.h"
#include "order_checker.h"

namespace ringchat::ringload {

// What happened during one stage (phase) of a run, on one worker; merge()
// sums workers.
// Thread: owned by one worker during the run; read by main after join.
struct StageStats {
  uint64_t sent = 0;
  uint64_t delivered = 0;
  uint64_t bytes_sent = 0;
  uint64_t bytes_delivered = 0;
  Histogram latency;  // ns, end to end, from the payload's timestamp
  std::map<std::string, uint64_t> errors;
  uint64_t tls_full = 0;     // TLS handshakes completed without resumption
  uint64_t tls_resumed = 0;  // ... and with (wolfSSL_session_reused)
  uint64_t cycles = 0;       // handshake mode: connections opened, handshaken and closed
  // Counted when the stage ends (Worker::close_stage_counts): reopens after
  // an earlier open, connection attempts that failed, and order violations
  // (payload gaps + duplicates + reorders) the checkers found during it.
  uint64_t reconnects = 0;
  uint64_t connect_failures = 0;
  uint64_t order_violations = 0;

  void merge(const StageStats& o) {
    tls_full += o.tls_full;
    tls_resumed += o.tls_resumed;
    cycles += o.cycles;
    reconnects += o.reconnects;
    connect_failures += o.connect_failures;
    order_violations += o.order_violations;
    sent += o.sent;
    delivered += o.delivered;
    bytes_sent += o.bytes_sent;
    bytes_delivered += o.bytes_delivered;
    latency.merge(o.latency);
    for (const auto& [k, v] : o.errors) errors[k] += v;
  }
};

struct ConnectionCounts {
  uint64_t opened = 0;             // handshakes completed (first and re-)
  uint64_t failed = 0;             // attempts that did not reach an open WebSocket
  uint64_t reconnects = 0;         // opens after an earlier open of the same client
  uint64_t gave_up = 0;            // clients that exhausted --max-retries
  uint64_t unanswered_closes = 0;  // our close at the end got no reply in time
  uint64_t resets = 0;             // --churn: subscribers dropped (RST) to resume later
  void add(const ConnectionCounts& o) {
    resets += o.resets;
    opened += o.opened;
    failed += o.failed;
    reconnects += o.reconnects;
    gave_up += o.gave_up;
    unanswered_closes += o.unanswered_closes;
  }
};

}  // namespace ringchat::ringload
