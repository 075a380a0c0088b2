// The --html report: one self-contained page, plots drawn as inline SVG (no
// scripts, no external files).
#include <algorithm>
#include <fstream>
#include <sstream>

#include "report.h"

namespace ringchat::ringload {
namespace {

struct Series {
  std::string label;
  std::string color;
  std::vector<double> y;
};

std::string escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

std::string svg_chart(std::string_view title, std::string_view unit, const std::vector<double>& x,
                      const std::vector<Series>& series) {
  constexpr double kW = 760, kH = 240, kL = 70, kB = 30, kT = 24;
  double xmax = x.empty() ? 1 : std::max(x.back(), 1.0), ymax = 1;
  for (const Series& s : series) {
    for (double v : s.y) ymax = std::max(ymax, v);
  }
  ymax *= 1.1;
  std::ostringstream o;
  o << "<h3>" << escape(title) << "</h3><svg width='" << kW << "' height='" << kH
    << "' style='background:#fafafa;border:1px solid #ccc'>";
  for (int g = 0; g <= 4; ++g) {
    const double y = kT + (kH - kT - kB) * (1 - g / 4.0);
    o << "<line x1='" << kL << "' x2='" << kW - 10 << "' y1='" << y << "' y2='" << y
      << "' stroke='#ddd'/><text x='4' y='" << y + 4 << "' font-size='11'>" << ymax * g / 4 << " "
      << unit << "</text>";
  }
  o << "<text x='" << kW - 60 << "' y='" << kH - 8 << "' font-size='11'>" << xmax << " s</text>";
  int legend = 0;
  for (const Series& s : series) {
    o << "<polyline fill='none' stroke='" << s.color << "' stroke-width='1.5' points='";
    for (size_t i = 0; i < s.y.size() && i < x.size(); ++i) {
      o << kL + (kW - kL - 10) * x[i] / xmax << "," << kT + (kH - kT - kB) * (1 - s.y[i] / ymax)
        << " ";
    }
    o << "'/><text x='" << kL + 10 + 150 * legend++ << "' y='14' font-size='12' fill='" << s.color
      << "'>" << escape(s.label) << "</text>";
  }
  o << "</svg>\n";
  return o.str();
}

// --rolling-server: connected clients and reconnects per 100 ms bucket.
std::string rolling_chart(const RollingReport& r) {
  if (!r.enabled) return {};
  const std::vector<int64_t> conn = r.curve.connected();
  const size_t n = std::min(conn.size(), static_cast<size_t>(r.until_s * 1e9 / kCurveBucketNs) + 1);
  std::vector<double> x;
  Series connected{"connected clients", "#1f77b4", {}}, reconnects{"reconnects", "#ff7f0e", {}};
  for (size_t b = 0; b < n; ++b) {
    x.push_back(static_cast<double>(b * kCurveBucketNs) / 1e9);
    connected.y.push_back(static_cast<double>(conn[b]));
    reconnects.y.push_back(r.curve.reopens[b]);
  }
  std::ostringstream title;
  title << "Rolling restart: clients per 100 ms (SIGTERM at " << r.events.term_s << " s)";
  return svg_chart(title.str(), "", x, {connected, reconnects});
}

}  // namespace

bool write_html(const RunReport& r, const Scenario& s, const std::string& path) {
  std::vector<double> x;
  Series p50{"p50 latency", "#1f77b4", {}}, p99{"p99 latency", "#d62728", {}};
  Series sent{"sent/s", "#2ca02c", {}}, delivered{"delivered/s", "#9467bd", {}};
  for (const Sample& t : r.timeline) {
    x.push_back(t.t_s);
    p50.y.push_back(static_cast<double>(t.p50_ns) / 1000.0);
    p99.y.push_back(static_cast<double>(t.p99_ns) / 1000.0);
    sent.y.push_back(t.sent_per_s);
    delivered.y.push_back(t.delivered_per_s);
  }
  std::ofstream out(path);
  out << "<!doctype html><html><head><meta charset='utf-8'><title>ringload report</title>"
         "<style>body{font-family:sans-serif;margin:2em}pre{background:#f4f4f4;padding:1em}</style>"
         "</head><body><h1>ringload: "
      << escape(std::string(to_string(s.mode))) << ", " << s.connections << " connections</h1>\n";
  out << svg_chart("Latency over time", "us", x, {p50, p99});
  out << svg_chart("Throughput over time", "msg/s", x, {sent, delivered});
  out << rolling_chart(r.rolling);
  out << "<h3>Report (JSON)</h3><pre>" << escape(report_json(r, s)) << "</pre></body></html>\n";
  return static_cast<bool>(out);
}

}  // namespace ringchat::ringload
