// The --html report: one self-contained page that reads like a k6 or
// Artillery report. The tables (per-phase summary, errors, checks,
// resources, scenario, kernel) are HTML written here; the charts are drawn
// on canvases by web/charts.js and report_page.js, both embedded at build
// time (tools/embed_web.py), from the run's data in a JSON script element. The
// whole JSON report closes the page, collapsed and indented.
#include <simdjson.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "json_writer.h"
#include "report.h"
#include "report_summary.h"
#include "ringchat/web/assets.h"

namespace ringchat::ringload {
namespace {

constexpr std::string_view kStyle =
    "body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#222;background:#f6f7f9}"
    "main{max-width:1280px;margin:0 auto;padding:16px 24px 40px}"
    "h1{font-size:22px;margin:8px 0 2px}h2{font-size:17px;margin:28px 0 8px}"
    ".sub{color:#666;margin:0 0 14px}"
    ".cards{display:flex;flex-wrap:wrap;gap:10px;margin:12px 0}"
    ".card{background:#fff;border:1px solid #dde;border-radius:6px;padding:8px "
    "14px;min-width:96px}"
    ".card b{display:block;font-size:20px}.card>span{color:#666;font-size:12px}"
    ".scroll{overflow-x:auto}"
    ".ok{color:#1a7f37}.bad{color:#c62828}"
    "table{border-collapse:collapse;background:#fff;margin:6px 0;font-size:13px;"
    "font-variant-numeric:tabular-nums}"
    "th,td{border:1px solid #dde;padding:4px 8px;text-align:right;white-space:nowrap}"
    "th{background:#eef0f4;font-weight:600;white-space:normal}td:first-child,th:first-child{text-"
    "align:left}"
    "table.kv td{text-align:left;white-space:normal}"
    ".charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(520px,1fr));gap:12px}"
    "canvas{width:100%;height:260px;background:#fff;border:1px solid #dde;border-radius:6px}"
    "details{margin-top:24px}summary{cursor:pointer;font-weight:600}"
    "pre{background:#fff;border:1px solid #dde;padding:10px;overflow:auto;max-height:600px}"
    ".warn{background:#fff4e5;border:1px solid #f0c36d;padding:6px 10px;margin:4px 0}";

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

// JSON inside <script>: a '<' only appears in strings there, where \u003c
// means the same and cannot close the element.
std::string script_safe(std::string_view json) {
  std::string out;
  for (char c : json) {
    if (c == '<') {
      out += "\\u003c";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

void row(std::ostream& o, std::initializer_list<std::string> cells, bool head = false) {
  o << "<tr>";
  for (const std::string& c : cells)
    o << (head ? "<th>" : "<td>") << c << (head ? "</th>" : "</td>");
  o << "</tr>\n";
}

std::string cls(bool ok, const std::string& text) {
  return std::string("<span class='") + (ok ? "ok" : "bad") + "'>" + text + "</span>";
}

void headline(std::ostream& o, const RunReport& r, const Scenario& s, const PhaseRow& total) {
  const auto failures = r.failures();
  auto card = [&o](const std::string& value, std::string_view what) {
    o << "<div class='card'><b>" << value << "</b><span>" << what << "</span></div>";
  };
  o << "<h1>ringload: " << escape(to_string(s.mode)) << ", " << s.connections << " connections</h1>"
    << "<p class='sub'>" << escape(s.url) << " &middot; protocol " << escape(to_string(s.protocol))
    << " &middot; " << r.workers << " worker(s)" << (r.interrupted ? " &middot; INTERRUPTED" : "")
    << "</p>\n<div class='cards'>";
  card(cls(failures.empty(), failures.empty() ? "OK" : "FAILED"), "verdict");
  card(format_seconds(r.run_s), "run time");
  if (s.mode == Mode::kHandshake) {
    card(format_count(total.cycles), "handshakes");
    card(format_rate(total.duration_s > 0 ? static_cast<double>(total.cycles) / total.duration_s
                                          : 0),
         "handshakes/s");
  } else {
    card(format_count(total.sent), "sent");
    card(format_count(total.delivered), "delivered");
  }
  card(format_us(total.latency.p99_us), "p99 latency");
  card(cls(total.errors == 0, format_count(total.errors)), "errors");
  card(cls(total.order_violations == 0, format_count(total.order_violations)), "order violations");
  card(format_count(r.connections.reconnects), "reconnects");
  o << "</div>\n";
  for (const auto& f : failures) o << "<div class='warn bad'>FAILED: " << escape(f) << "</div>\n";
  for (const auto& w : r.warnings) o << "<div class='warn'>WARNING: " << escape(w) << "</div>\n";
}

void summary_table(std::ostream& o, const std::vector<PhaseRow>& rows, const Scenario& s) {
  const bool handshakes = s.mode == Mode::kHandshake || s.tls;
  const bool cpu = s.server_pid > 0;
  o << "<h2>Summary per phase</h2>\n<div class='scroll'><table "
       "id='phase-summary'>\n<tr><th>phase</th><th>start</th>"
       "<th>duration</th>"
    << (handshakes ? "<th>handshakes</th>" : "")
    << "<th>sent</th><th>delivered</th><th>sent/s</th><th>delivered/s</th><th>errors</th>"
       "<th>reconnects</th><th>order violations</th><th>p50</th><th>p90</th><th>p95</th>"
       "<th>p99</th><th>p99.9</th><th>max</th>"
    << (cpu ? "<th>server CPU / delivered</th>" : "") << "</tr>\n";
  for (const PhaseRow& p : rows) {
    const bool total = &p == &rows.back();
    o << "<tr" << (total ? " style='font-weight:600'" : "") << "><td>" << escape(p.name)
      << "</td><td>" << (total ? "" : format_seconds(p.start_s)) << "</td><td>"
      << format_seconds(p.duration_s) << "</td>";
    if (handshakes) {
      o << "<td>" << format_count(s.mode == Mode::kHandshake ? p.cycles : p.tls_handshakes)
        << "</td>";
    }
    o << "<td>" << format_count(p.sent) << "</td><td>" << format_count(p.delivered) << "</td><td>"
      << format_rate(p.sent_per_s) << "</td><td>" << format_rate(p.delivered_per_s) << "</td><td>"
      << cls(p.errors == 0, format_count(p.errors)) << "</td><td>" << format_count(p.reconnects)
      << "</td><td>" << cls(p.order_violations == 0, format_count(p.order_violations)) << "</td>";
    for (double v : {p.latency.p50_us, p.latency.p90_us, p.latency.p95_us, p.latency.p99_us,
                     p.latency.p999_us, p.latency.max_us}) {
      o << "<td>" << (p.latency.count ? format_us(v) : "-") << "</td>";
    }
    if (cpu) {
      o << "<td>"
        << (p.server_cpu_us_per_delivered >= 0 ? format_us(p.server_cpu_us_per_delivered) : "-")
        << "</td>";
    }
    o << "</tr>\n";
  }
  o << "</table></div>\n<p class='sub'>"
    << (s.mode == Mode::kHandshake
            ? "Latency is a cycle's connect and handshake (with --tls, the TLS handshake; else "
              "the TCP connect), over the cycles of the phase."
            : "Latency is end to end (the payload's send time to its delivery), over the "
              "messages delivered in the phase.")
    << "</p>\n";
}

void errors_table(std::ostream& o, const RunReport& r) {
  if (r.totals.errors.empty()) return;
  o << "<h2>Errors by kind</h2>\n<table id='errors'>\n<tr><th>kind</th>";
  for (const PhaseReport& p : r.phases) o << "<th>" << escape(p.name) << "</th>";
  o << "<th>total</th></tr>\n";
  for (const auto& [kind, n] : r.totals.errors) {
    o << "<tr><td>" << escape(kind) << "</td>";
    for (const PhaseReport& p : r.phases) {
      auto it = p.stats.errors.find(kind);
      o << "<td>" << format_count(it == p.stats.errors.end() ? 0 : it->second) << "</td>";
    }
    o << "<td>" << format_count(n) << "</td></tr>\n";
  }
  o << "</table>\n<p class='sub'>The total also counts errors outside the phases (connect, "
       "drain, close).</p>\n";
}

void checks_table(std::ostream& o, const RunReport& r) {
  const auto n = [](uint64_t v) { return format_count(v); };
  o << "<h2>Checks</h2>\n<table id='checks' class='kv'>\n";
  row(o, {"payload order (per sender)",
          cls(r.order.clean(), r.order.clean() ? "ok" : "FAILED") + ": gaps " + n(r.order.gaps) +
              ", duplicates " + n(r.order.duplicates) + ", reorders " + n(r.order.reorders) +
              "; missed while reconnecting " + n(r.order.missed)});
  if (r.seq.checked > 0 || r.seq.resumes > 0) {
    row(o,
        {"room sequence",
         cls(r.seq.clean(), r.seq.clean() ? "ok" : "FAILED") + ": checked " + n(r.seq.checked) +
             ", gaps " + n(r.seq.gaps) + ", duplicates " + n(r.seq.duplicates) + "; resumes " +
             n(r.seq.resumes) + " (recovered " + n(r.seq.recovered) + ", unrecoverable " +
             n(r.seq.unrecoverable) + ", wrongly not recovered " + n(r.seq.not_recovered) + ")"});
  }
  const ConnectionCounts& c = r.connections;
  row(o, {"connections", "wanted " + n(r.connections_wanted) + ", opened " + n(c.opened) +
                             ", failed " + n(c.failed) + ", reconnects " + n(c.reconnects) +
                             ", gave up " + n(c.gave_up) + ", resets " + n(c.resets) +
                             ", unanswered closes " + n(c.unanswered_closes) + "; connected in " +
                             format_seconds(r.connect_s)});
  if (r.rolling.enabled) {
    const RollingReport& ro = r.rolling;
    row(o, {"rolling restart",
            (ro.events.problem.empty() ? std::string()
                                       : "PROBLEM: " + escape(ro.events.problem) + "; ") +
                "SIGTERM at " + format_seconds(ro.events.term_s) + "; " + n(ro.reconnect.dropped) +
                " dropped, " + n(ro.reconnect.reconnected) + " reconnected (" + n(ro.hinted) +
                " after the server's retry_ms); " +
                (ro.reconnect.full_reconnect_s >= 0
                     ? "all back " + format_seconds(ro.reconnect.full_reconnect_s) + " after it"
                     : cls(false, "NOT all back")) +
                "; lost silently " + n(ro.loss.silently) + ", lost but told " + n(ro.loss.told)});
  }
  o << "</table>\n";
}

void resources_table(std::ostream& o, const RunReport& r) {
  o << "<h2>Resources</h2>\n<table id='resources'>\n";
  row(o, {"phase", "client CPU", "busiest worker", "server CPU", "server RSS at the end"}, true);
  for (const PhaseReport& p : r.phases) {
    char busy[16];
    std::snprintf(busy, sizeof busy, "%.0f%%", p.max_worker_busy * 100);
    row(o, {escape(p.name), format_seconds(p.client_cpu_s), busy,
            p.server_cpu_s >= 0 ? format_seconds(p.server_cpu_s) : "-",
            p.server_cpu_s >= 0 ? format_bytes(p.server_rss_bytes) : "-"});
  }
  row(o, {"whole run", format_seconds(r.client_cpu_s), "",
          r.server_cpu_s >= 0 ? format_seconds(r.server_cpu_s) : "-",
          r.server_cpu_s >= 0 ? format_bytes(r.server_rss_bytes) : "-"});
  o << "</table>\n";
}

std::string json_text(simdjson::dom::element v) {
  switch (v.type()) {
    case simdjson::dom::element_type::STRING:
      return std::string(v.get_string().value());
    case simdjson::dom::element_type::ARRAY: {
      std::string out;
      for (simdjson::dom::element e : v.get_array())
        out += (out.empty() ? "" : ", ") + json_text(e);
      return out;
    }
    default:
      return simdjson::minify(v);
  }
}

// A key/value table of one object of the JSON report (scenario, kernel, tls).
void kv_table(std::ostream& o, std::string_view id, std::string_view title,
              simdjson::dom::element doc, const char* key) {
  simdjson::dom::object obj;
  if (doc[key].get(obj) != simdjson::SUCCESS) return;
  o << "<h2>" << title << "</h2>\n<table id='" << id << "' class='kv'>\n";
  for (auto [k, v] : obj) row(o, {escape(k), escape(json_text(v))});
  o << "</table>\n";
}

void charts(std::ostream& o, const RunReport& r) {
  o << "<h2>Over time</h2>\n<div class='charts'>"
       "<canvas id='chart-throughput'></canvas><canvas id='chart-latency'></canvas>"
       "<canvas id='chart-errors'></canvas>"
    << (r.rolling.enabled ? "<canvas id='chart-rolling'></canvas>" : "")
    << "</div>\n<h2>Latency distribution</h2>\n<div class='charts'>"
       "<canvas id='chart-percentiles'></canvas><canvas id='chart-histogram'></canvas></div>\n";
}

template <typename F>
void array(JsonWriter& w, std::string_view key, const std::vector<Sample>& tl, F f) {
  w.key(key).begin_array();
  for (const Sample& t : tl) w.value(static_cast<double>(f(t)));
  w.end_array();
}

void timeline_data(JsonWriter& w, const std::vector<Sample>& tl) {
  w.key("timeline").begin_object();
  array(w, "t", tl, [](const Sample& t) { return t.t_s; });
  array(w, "sent", tl, [](const Sample& t) { return t.sent_per_s; });
  array(w, "delivered", tl, [](const Sample& t) { return t.delivered_per_s; });
  array(w, "handshakes", tl, [](const Sample& t) { return t.handshakes_per_s; });
  array(w, "open", tl, [](const Sample& t) { return t.open; });
  array(w, "p50", tl, [](const Sample& t) { return t.p50_ns / 1e3; });
  array(w, "p99", tl, [](const Sample& t) { return t.p99_ns / 1e3; });
  array(w, "max", tl, [](const Sample& t) { return t.max_ns / 1e3; });
  array(w, "errors", tl, [](const Sample& t) { return t.errors_per_s; });
  array(w, "reconnects", tl, [](const Sample& t) { return t.reconnects_per_s; });
  array(w, "connect_failures", tl, [](const Sample& t) { return t.connect_failures_per_s; });
  w.end_object();
}

void curve_data(JsonWriter& w, std::string_view label, const Histogram& h) {
  if (h.count() == 0) return;
  w.begin_object().field("label", label).key("points").begin_array();
  for (const auto& [p, v] : percentile_curve(h)) w.begin_array().value(p).value(v).end_array();
  w.end_array().end_object();
}

void rolling_data(JsonWriter& w, const RollingReport& r) {
  if (!r.enabled) return;
  const std::vector<int64_t> conn = r.curve.connected();
  const size_t n = std::min(conn.size(), static_cast<size_t>(r.until_s * 1e9 / kCurveBucketNs) + 1);
  w.key("rolling").begin_object().field("bucket_s", kCurveBucketNs / 1e9);
  w.field("term_s", r.events.term_s).key("connected").begin_array();
  for (size_t b = 0; b < n; ++b) w.value(conn[b]);
  w.end_array().key("reconnects").begin_array();
  for (size_t b = 0; b < n && b < r.curve.reopens.size(); ++b) w.value(r.curve.reopens[b]);
  w.end_array().key("drops").begin_array();
  for (size_t b = 0; b < n && b < r.curve.drops.size(); ++b) w.value(r.curve.drops[b]);
  w.end_array().end_object();
}

// What report_page.js draws (its comment describes the fields).
std::string chart_data(const RunReport& r, const Scenario& s) {
  JsonWriter w;
  w.begin_object().field("handshake", s.mode == Mode::kHandshake);
  w.key("bands").begin_array();
  for (const PhaseBand& b : phase_bands(r)) {
    w.begin_object().field("label", b.label).field("from", b.from_s).field("to", b.to_s);
    w.end_object();
  }
  w.end_array();
  timeline_data(w, r.timeline);
  w.key("curves").begin_array();
  for (const PhaseReport& p : r.phases) curve_data(w, p.name, p.stats.latency);
  curve_data(w, "total", r.totals.latency);
  w.end_array();
  w.key("histogram").begin_object().key("bins").begin_array();
  for (const LatencyBin& b : latency_bins(r.totals.latency, 10)) {
    w.begin_array().value(b.lo_us).value(b.hi_us).value(b.count).end_array();
  }
  w.end_array();
  w.field("p50", r.totals.latency.percentile(50) / 1e3);
  w.field("p99", r.totals.latency.percentile(99) / 1e3).end_object();
  rolling_data(w, r.rolling);
  w.end_object();
  return w.str();
}

}  // namespace

std::string report_html(const RunReport& r, const Scenario& s) {
  const std::vector<PhaseRow> rows = phase_rows(r);
  const std::string json = report_json(r, s);
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  const bool parsed = parser.parse(json).get(doc) == simdjson::SUCCESS;
  std::ostringstream o;
  o << "<!doctype html>\n<html lang='en'><head><meta charset='utf-8'>"
       "<meta name='viewport' content='width=device-width,initial-scale=1'>"
       "<title>ringload report: "
    << escape(to_string(s.mode)) << ", " << s.connections << " connections</title><style>" << kStyle
    << "</style></head>\n<body><main>\n";
  headline(o, r, s, rows.back());
  summary_table(o, rows, s);
  charts(o, r);
  errors_table(o, r);
  checks_table(o, r);
  resources_table(o, r);
  if (parsed) {
    kv_table(o, "scenario", "Scenario", doc, "scenario");
    kv_table(o, "tls", "TLS", doc, "tls");
    kv_table(o, "kernel", "Kernel and limits", doc, "kernel");
  }
  o << "<details id='report-json'><summary>Report (JSON)</summary><pre>"
    << escape(pretty_json(json)) << "</pre></details>\n</main>\n"
    << "<script type='application/json' id='ringload-data'>" << script_safe(chart_data(r, s))
    << "</script>\n<script>\n"
    << web::find("/charts.js")->bytes() << "</script>\n<script>\n"
    << web::find("/report_page.js")->bytes() << "</script>\n</body></html>\n";
  return o.str();
}

bool write_html(const RunReport& r, const Scenario& s, const std::string& path) {
  std::ofstream out(path);
  out << report_html(r, s);
  return static_cast<bool>(out);
}

}  // namespace ringchat::ringload
