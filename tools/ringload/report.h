#pragma once
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "order_checker.h"
#include "rolling_stats.h"
#include "scenario.h"
#include "seq_checker.h"
#include "stats.h"
#include "sysinfo.h"

namespace ringchat::ringload {

struct PhaseReport {
  std::string name;
  PhaseKind kind = PhaseKind::kSteady;
  double start_s = 0;     // from the run's start (the connect stage's)
  double duration_s = 0;  // as run (shorter if interrupted)
  StageStats stats;
  double client_cpu_s = 0;
  double server_cpu_s = -1;       // < 0: no --server-pid
  double max_worker_busy = 0;     // busiest worker's CPU / wall, 0..1
  uint64_t server_rss_bytes = 0;  // at the phase's end (with --server-pid)
};

// One second of the run, for the live line and the HTML plots.
struct Sample {
  double t_s = 0;
  std::string phase;
  double sent_per_s = 0;
  double delivered_per_s = 0;
  uint64_t p50_ns = 0, p99_ns = 0, max_ns = 0;
  uint32_t open = 0;
  double handshakes_per_s = 0;  // handshake mode
  double errors_per_s = 0;      // StageStats::errors counted in the interval
  double reconnects_per_s = 0;
  double connect_failures_per_s = 0;
};

// --tls: what the connections negotiated (the first one's) and whether the
// server's certificate was checked.
struct TlsReport {
  std::string version;  // e.g. TLSv1.3
  std::string cipher;
  bool verified = false;  // --tls-ca given: chain (and DNS name) checked
};

// --rolling-server: what the restart did and what it cost the clients.
struct RollingReport {
  bool enabled = false;
  RollingEvents events;
  ReconnectCurve curve;        // every client connection, from the run's start
  ReconnectSummary reconnect;  // from the SIGTERM to the end of the phases
  LossCounts loss;
  PublishCounts publish;
  uint64_t hinted = 0;   // reconnects that waited the server's retry_ms (else: backoff)
  uint32_t clients = 0;  // client connections wanted (not SSE publishers)
  double until_s = 0;    // the end of the phases
};

// Everything a run reports.
// Thread: main only, after the workers have stopped.
struct RunReport {
  std::vector<PhaseReport> phases;
  StageStats totals;
  double run_s = 0;
  double connect_s = 0;  // time of the connect stage before the first phase
  OrderCounts order;
  SeqCounts seq;  // room seq continuity and resumes (json, sse; raw with --churn)
  ConnectionCounts connections;
  TlsReport tls;
  RollingReport rolling;
  uint32_t connections_wanted = 0;
  double client_cpu_s = 0;
  double server_cpu_s = -1;
  uint64_t server_rss_bytes = 0;
  KernelSettings kernel;
  std::vector<Sample> timeline;
  std::vector<std::string> warnings;
  int workers = 0;
  bool interrupted = false;

  // The correctness verdict: why the run failed, empty when it passed.
  std::vector<std::string> failures() const;
};

void print_summary(const RunReport& r, const Scenario& s, std::FILE* out);
bool write_json(const RunReport& r, const Scenario& s, const std::string& path);
bool write_html(const RunReport& r, const Scenario& s, const std::string& path);
// The --html page as a string (what write_html writes): self-contained,
// charts drawn by web/charts.js and report_page.js, embedded in it.
std::string report_html(const RunReport& r, const Scenario& s);
// The JSON document as a string (what write_json writes).
std::string report_json(const RunReport& r, const Scenario& s);

}  // namespace ringchat::ringload
