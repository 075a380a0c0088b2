#include "report_summary.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iterator>

namespace ringchat::ringload {
namespace {

double us(uint64_t ns) { return static_cast<double>(ns) / 1000.0; }
double per_s(uint64_t n, double s) { return s > 0 ? static_cast<double>(n) / s : 0; }

PhaseRow row_of(std::string name, double start_s, double duration_s, const StageStats& st) {
  PhaseRow row;
  row.name = std::move(name);
  row.start_s = start_s;
  row.duration_s = duration_s;
  row.sent = st.sent;
  row.delivered = st.delivered;
  row.sent_per_s = per_s(st.sent, duration_s);
  row.delivered_per_s = per_s(st.delivered, duration_s);
  for (const auto& [kind, n] : st.errors) row.errors += n;
  row.reconnects = st.reconnects;
  row.connect_failures = st.connect_failures;
  row.order_violations = st.order_violations;
  row.cycles = st.cycles;
  row.tls_handshakes = st.tls_full + st.tls_resumed;
  row.latency = latency_row(st.latency);
  return row;
}

double cpu_per_delivered(double cpu_s, uint64_t delivered) {
  return cpu_s >= 0 && delivered > 0 ? cpu_s * 1e6 / static_cast<double>(delivered) : -1;
}

}  // namespace

LatencyRow latency_row(const Histogram& h) {
  LatencyRow l;
  l.count = h.count();
  l.p50_us = us(h.percentile(50));
  l.p90_us = us(h.percentile(90));
  l.p95_us = us(h.percentile(95));
  l.p99_us = us(h.percentile(99));
  l.p999_us = us(h.percentile(99.9));
  l.max_us = us(h.max());
  l.mean_us = h.mean() / 1000.0;
  return l;
}

std::vector<PhaseRow> phase_rows(const RunReport& r) {
  std::vector<PhaseRow> rows;
  for (const PhaseReport& p : r.phases) {
    rows.push_back(row_of(p.name, p.start_s, p.duration_s, p.stats));
    rows.back().server_cpu_us_per_delivered = cpu_per_delivered(p.server_cpu_s, p.stats.delivered);
  }
  rows.push_back(row_of("total", 0, r.run_s, r.totals));
  // The run's violations are the checkers' final counts: a stage's share
  // is what it found, but a gap found late is the run's all the same.
  rows.back().order_violations = r.order.gaps + r.order.duplicates + r.order.reorders;
  rows.back().server_cpu_us_per_delivered = cpu_per_delivered(r.server_cpu_s, r.totals.delivered);
  return rows;
}

std::vector<PhaseBand> phase_bands(const RunReport& r) {
  constexpr double kMinS = 0.001;
  std::vector<PhaseBand> bands;
  const double first = r.phases.empty() ? r.connect_s : r.phases.front().start_s;
  if (first >= kMinS) bands.push_back({"connect", 0, first});
  double end = first;
  for (const PhaseReport& p : r.phases) {
    if (p.duration_s >= kMinS) bands.push_back({p.name, p.start_s, p.start_s + p.duration_s});
    end = std::max(end, p.start_s + p.duration_s);
  }
  if (r.run_s - end >= kMinS) bands.push_back({"drain", end, r.run_s});
  return bands;
}

std::vector<LatencyBin> latency_bins(const Histogram& h, int per_decade) {
  std::vector<LatencyBin> bins;
  if (h.count() == 0 || per_decade <= 0) return bins;
  // Bin k holds [10^(k/d), 10^((k+1)/d)) microseconds; values under 1 ns
  // (a zero latency) go to the bin of 1 ns.
  const double d = per_decade;
  auto bin_of = [d](double v_us) {
    return static_cast<int>(std::floor(std::log10(std::max(v_us, 0.001)) * d + 1e-9));
  };
  const int first = bin_of(us(h.min())), last = bin_of(us(h.max()));
  bins.resize(static_cast<size_t>(last - first + 1));
  for (size_t k = 0; k < bins.size(); ++k) {
    bins[k].lo_us = std::pow(10.0, (first + static_cast<int>(k)) / d);
    bins[k].hi_us = std::pow(10.0, (first + static_cast<int>(k) + 1) / d);
  }
  for (size_t i = 0; i < Histogram::kBuckets; ++i) {
    const uint64_t n = h.bucket_count(i);
    if (n == 0) continue;
    const uint64_t mid =
        std::clamp(Histogram::bucket_low(i) + Histogram::bucket_width(i) / 2, h.min(), h.max());
    const int k = std::clamp(bin_of(us(mid)), first, last);
    bins[static_cast<size_t>(k - first)].count += n;
  }
  return bins;
}

std::vector<std::pair<double, double>> percentile_curve(const Histogram& h) {
  std::vector<std::pair<double, double>> out;
  if (h.count() == 0) return out;
  out.emplace_back(0.0, us(h.min()));
  for (double p : {10.0, 25.0, 50.0, 75.0, 90.0, 95.0, 99.0, 99.5, 99.9, 99.95, 99.99}) {
    // A percentile p is resolved once 1 / (1 - p/100) values are in.
    if (static_cast<double>(h.count()) * (1 - p / 100) < 1 - 1e-9) break;
    out.emplace_back(p, us(h.percentile(p)));
  }
  out.emplace_back(100.0, us(h.max()));
  return out;
}

namespace {

// Three significant digits: 1.23, 12.3, 123 (and 1234 as it is).
std::string sig3(double v) {
  char buf[32];
  const double a = std::fabs(v);
  const int decimals = a >= 99.95 ? 0 : a >= 9.995 ? 1 : 2;
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

}  // namespace

std::string format_count(uint64_t n) {
  std::string digits = std::to_string(n), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  return out;
}

std::string format_rate(double per_s) {
  if (per_s > 0 && per_s < 9.95) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f/s", per_s);
    return buf;
  }
  return format_count(static_cast<uint64_t>(std::llround(std::max(per_s, 0.0)))) + "/s";
}

std::string format_us(double us) {
  if (us <= 0) return "0";
  if (us < 999.5) return sig3(us) + " us";
  if (us < 999'500) return sig3(us / 1e3) + " ms";
  return sig3(us / 1e6) + " s";
}

std::string format_bytes(uint64_t bytes) {
  constexpr const char* kUnits[] = {"KiB", "MiB", "GiB", "TiB"};
  if (bytes < 1024) return std::to_string(bytes) + " B";
  double v = static_cast<double>(bytes) / 1024;
  size_t u = 0;
  while (v >= 1023.5 && u + 1 < std::size(kUnits)) {
    v /= 1024;
    ++u;
  }
  return sig3(v) + " " + kUnits[u];
}

std::string format_seconds(double s) {
  if (s < 60) return format_us(s * 1e6);
  const auto total = static_cast<uint64_t>(std::llround(s));
  const uint64_t h = total / 3600, m = total % 3600 / 60, r = total % 60;
  std::string out;
  if (h) out += std::to_string(h) + "h";
  if (h || m) out += std::to_string(m) + "m";
  return out + std::to_string(r) + "s";
}

std::string pretty_json(std::string_view in) {
  std::string out;
  out.reserve(in.size() * 2);
  int depth = 0;
  bool in_string = false, escaped = false;
  auto newline = [&out, &depth] {
    out.push_back('\n');
    out.append(static_cast<size_t>(std::max(depth, 0)) * 2, ' ');
  };
  for (size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (in_string) {
      out.push_back(c);
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    switch (c) {
      case '"':
        in_string = true;
        out.push_back(c);
        break;
      case '{':
      case '[': {
        out.push_back(c);
        // An empty object or array stays on its line: {} and [].
        const char close = c == '{' ? '}' : ']';
        if (i + 1 < in.size() && in[i + 1] == close) {
          out.push_back(close);
          ++i;
        } else {
          ++depth;
          newline();
        }
        break;
      }
      case '}':
      case ']':
        --depth;
        newline();
        out.push_back(c);
        break;
      case ',':
        out.push_back(c);
        newline();
        break;
      case ':':
        out += ": ";
        break;
      case ' ':
      case '\n':
      case '\r':
      case '\t':
        break;
      default:
        out.push_back(c);
    }
  }
  if (!out.empty() && out.back() != '\n') out.push_back('\n');
  return out;
}

}  // namespace ringchat::ringload
