#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "histogram.h"
#include "report.h"

namespace ringchat::ringload {

// What the HTML report's tables and charts show, computed from a RunReport:
// pure functions, no I/O.
// Thread: any.

// Latency percentiles of one histogram, in microseconds.
struct LatencyRow {
  uint64_t count = 0;
  double p50_us = 0, p90_us = 0, p95_us = 0, p99_us = 0, p999_us = 0, max_us = 0, mean_us = 0;
};
LatencyRow latency_row(const Histogram& h);

// One row of the per-phase summary table (the last row: the whole run).
struct PhaseRow {
  std::string name;
  double start_s = 0;
  double duration_s = 0;
  uint64_t sent = 0, delivered = 0;
  double sent_per_s = 0, delivered_per_s = 0;
  uint64_t errors = 0;  // every kind summed
  uint64_t reconnects = 0, connect_failures = 0, order_violations = 0;
  uint64_t cycles = 0;          // handshake mode: connect-handshake-close cycles
  uint64_t tls_handshakes = 0;  // full + resumed
  LatencyRow latency;
  double server_cpu_us_per_delivered = -1;  // < 0: no --server-pid or nothing delivered
};
// The phases in order, then "total" (over the whole run, its order
// violations the run's, as the verdict counts them).
std::vector<PhaseRow> phase_rows(const RunReport& r);

// A shaded interval of the time charts: the connect stage, each phase, the
// drain after the last. Intervals shorter than 1 ms are left out.
struct PhaseBand {
  std::string label;
  double from_s = 0, to_s = 0;
};
std::vector<PhaseBand> phase_bands(const RunReport& r);

// The histogram regrouped into log-spaced bins, `per_decade` a power of
// ten, from the bin of its smallest value to that of its largest (empty
// bins between included): the latency distribution's bars. Each histogram
// bucket goes whole to the bin of its midpoint. Bins are in microseconds;
// none when the histogram is empty.
struct LatencyBin {
  double lo_us = 0, hi_us = 0;
  uint64_t count = 0;
};
std::vector<LatencyBin> latency_bins(const Histogram& h, int per_decade);

// (percentile, microseconds) points for a latency-by-percentile curve:
// min (0), 10, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 99.95, 99.99 where the
// count resolves them (p99.99 needs 10,000 values), and max (100).
std::vector<std::pair<double, double>> percentile_curve(const Histogram& h);

// Numbers as the report's tables show them, the unit chosen per value:
// format_count(1234567) "1,234,567"; format_rate(2614.3) "2,614/s" (one
// decimal under 10/s); format_us(238.6) "239 us", (66322) "66.3 ms",
// (1234567) "1.23 s", three significant digits; format_bytes(9814016)
// "9.36 MiB"; format_seconds(0.25) "250 ms", (4.4) "4.40 s", (95) "1m35s".
std::string format_count(uint64_t n);
std::string format_rate(double per_s);
std::string format_us(double us);
std::string format_bytes(uint64_t bytes);
std::string format_seconds(double s);

// A compact JSON text re-indented, two spaces a level, one value per line
// (strings left as they are). Input that is not JSON comes back re-indented
// as far as its brackets go.
std::string pretty_json(std::string_view compact);

}  // namespace ringchat::ringload
