#include "report.h"

#include <algorithm>
#include <fstream>

#include "json_writer.h"

namespace ringchat::ringload {
namespace {

double us(uint64_t ns) { return static_cast<double>(ns) / 1000.0; }
double per_s(uint64_t n, double s) { return s > 0 ? static_cast<double>(n) / s : 0; }

void latency_json(JsonWriter& w, const Histogram& h) {
  w.key("latency_us").begin_object();
  w.field("count", h.count());
  w.field("p50", us(h.percentile(50))).field("p90", us(h.percentile(90)));
  w.field("p95", us(h.percentile(95))).field("p99", us(h.percentile(99)));
  w.field("p999", us(h.percentile(99.9))).field("max", us(h.max()));
  w.field("mean", h.mean() / 1000.0);
  w.end_object();
}

void errors_json(JsonWriter& w, const StageStats& st) {
  w.key("errors").begin_object();
  for (const auto& [kind, n] : st.errors) w.field(kind, n);
  w.end_object();
}

// Handshakes in a stage: the TLS ones (full, resumed) and, in handshake
// mode, the connect-handshake-close cycles; per second over the stage.
uint64_t handshakes(const StageStats& st, const Scenario& s) {
  return s.mode == Mode::kHandshake ? st.cycles : st.tls_full + st.tls_resumed;
}

void handshakes_json(JsonWriter& w, const StageStats& st, double duration_s, const Scenario& s) {
  if (!s.tls && s.mode != Mode::kHandshake) return;
  w.key("handshakes").begin_object();
  w.field("full", st.tls_full).field("resumed", st.tls_resumed);
  if (s.mode == Mode::kHandshake) w.field("cycles", st.cycles);
  w.field("per_s", per_s(handshakes(st, s), duration_s));
  w.end_object();
}

void stage_json(JsonWriter& w, const StageStats& st, double duration_s, const Scenario& s) {
  w.field("duration_s", duration_s);
  handshakes_json(w, st, duration_s, s);
  w.field("sent", st.sent).field("delivered", st.delivered);
  w.field("msgs_per_s_sent", per_s(st.sent, duration_s));
  w.field("msgs_per_s_delivered", per_s(st.delivered, duration_s));
  w.field("bytes_sent", st.bytes_sent).field("bytes_delivered", st.bytes_delivered);
  latency_json(w, st.latency);
  errors_json(w, st);
  w.field("reconnects", st.reconnects).field("connect_failures", st.connect_failures);
  w.field("order_violations", st.order_violations);
}

void phase_json(JsonWriter& w, const PhaseReport& p, const Scenario& s) {
  w.begin_object();
  w.field("name", p.name).field("kind", to_string(p.kind)).field("start_s", p.start_s);
  stage_json(w, p.stats, p.duration_s, s);
  w.field("client_cpu_s", p.client_cpu_s);
  w.field("max_worker_busy", p.max_worker_busy);
  if (p.server_cpu_s >= 0) {
    w.field("server_cpu_s", p.server_cpu_s).field("server_rss_bytes", p.server_rss_bytes);
    w.field(
        "server_cpu_us_per_delivered",
        p.stats.delivered ? p.server_cpu_s * 1e6 / static_cast<double>(p.stats.delivered) : 0.0);
    w.field("server_cpu_us_per_sent",
            p.stats.sent ? p.server_cpu_s * 1e6 / static_cast<double>(p.stats.sent) : 0.0);
    if (s.mode == Mode::kHandshake) {
      const uint64_t n = handshakes(p.stats, s);
      w.field("server_cpu_us_per_handshake",
              n ? p.server_cpu_s * 1e6 / static_cast<double>(n) : 0.0);
    }
  }
  w.end_object();
}

void scenario_json(JsonWriter& w, const Scenario& s) {
  w.key("scenario").begin_object();
  w.field("url", s.url).field("mode", to_string(s.mode));
  w.field("protocol", to_string(s.protocol)).field("churn", s.churn);
  w.field("connections", s.connections).field("rooms", s.rooms);
  w.field("room_dist", s.room_dist == RoomDist::kZipf ? "zipf" : "uniform");
  w.field("senders", s.senders).field("rate", s.rate);
  w.field("size", s.size).field("size_max", s.size_max);
  w.key("cpus").begin_array();
  for (int c : s.cpus) w.value(c);
  w.end_array();
  w.key("src_ips").begin_array();
  for (const auto& ip : s.src_ips) w.value(ip);
  w.end_array();
  if (!s.ports.empty()) {
    w.key("ports").begin_array();
    for (uint16_t p : s.ports) w.value(static_cast<uint32_t>(p));
    w.end_array();
  }
  w.field("seed", s.seed);
  if (s.tls) w.field("tls", true).field("tls_resume", s.tls_resume).field("tls_ca", s.tls_ca);
  if (s.mode == Mode::kHandshake) w.field("handshakes", s.handshakes);
  w.end_object();
}

void tls_json(JsonWriter& w, const RunReport& r, const Scenario& s) {
  if (!s.tls) return;
  w.key("tls").begin_object();
  w.field("version", r.tls.version).field("cipher", r.tls.cipher);
  w.field("verified", r.tls.verified).field("resume", s.tls_resume);
  w.field("full", r.totals.tls_full).field("resumed", r.totals.tls_resumed);
  w.end_object();
}

void rolling_curve_json(JsonWriter& w, const RollingReport& r) {
  // Up to the end of the phases: after it nobody reconnects.
  const size_t n =
      std::min(r.curve.buckets(), static_cast<size_t>(r.until_s * 1e9 / kCurveBucketNs) + 1);
  const std::vector<int64_t> connected = r.curve.connected();
  w.key("curve").begin_object();
  w.field("bucket_ms", kCurveBucketNs / 1'000'000);
  w.key("connected").begin_array();
  for (size_t b = 0; b < n; ++b) w.value(connected[b]);
  w.end_array().key("reconnects").begin_array();
  for (size_t b = 0; b < n; ++b) w.value(r.curve.reopens[b]);
  w.end_array().key("drops").begin_array();
  for (size_t b = 0; b < n; ++b) w.value(r.curve.drops[b]);
  w.end_array();
  w.end_object();
}

void rolling_json(JsonWriter& w, const RollingReport& r) {
  if (!r.enabled) return;
  const RollingEvents& e = r.events;
  w.key("rolling").begin_object();
  w.key("servers").begin_object();
  w.key("pids").begin_array();
  for (int pid : e.pids) w.value(pid);
  w.end_array();
  w.field("replacement_started_s", e.replacement_started_s);
  w.field("replacement_ready_s", e.replacement_ready_s).field("term_s", e.term_s);
  w.field("old_exit_s", e.old_exit_s).field("old_exit_status", e.old_exit_status);
  w.field("problem", e.problem);
  w.end_object();
  w.key("reconnect").begin_object();
  w.field("clients", r.clients).field("dropped", r.reconnect.dropped);
  w.field("reconnected", r.reconnect.reconnected).field("hinted", r.hinted);
  w.field("full_reconnect_s", r.reconnect.full_reconnect_s);
  w.field("min_connected", r.reconnect.min_connected);
  w.end_object();
  rolling_curve_json(w, r);
  w.key("messages").begin_object();
  w.field("lost_silently", r.loss.silently).field("seq_gaps", r.loss.seq_gaps);
  w.field("payload_gaps", r.loss.payload_gaps).field("epoch_changes", r.loss.epoch_changes);
  w.field("told_lost", r.loss.told).field("told_epoch", r.loss.told_epoch);
  w.field("told_history", r.loss.told_history).field("told_payload", r.loss.told_payload);
  w.end_object();
  w.key("publishes").begin_object();
  w.field("refused", r.publish.refused).field("unacked", r.publish.unacked);
  w.field("senders_refused", r.publish.senders_refused);
  w.field("senders_unacked", r.publish.senders_unacked);
  w.end_object();
  w.end_object();
}

void print_rolling(std::FILE* out, const RollingReport& r) {
  if (!r.enabled) return;
  const RollingEvents& e = r.events;
  auto u = [](uint64_t v) { return static_cast<unsigned long long>(v); };
  std::fprintf(out, "  rolling: servers");
  for (int pid : e.pids) std::fprintf(out, " %d", pid);
  std::fprintf(out, "; replacement started %.2fs, listening %.2fs; SIGTERM to the first %.2fs",
               e.replacement_started_s, e.replacement_ready_s, e.term_s);
  if (e.old_exit_s >= 0) {
    std::fprintf(out, ", it exited %.2fs (status %d)\n", e.old_exit_s, e.old_exit_status);
  } else {
    std::fprintf(out, ", it had not exited when the run ended\n");
  }
  std::fprintf(out,
               "    reconnect: %llu dropped, %llu reconnected (%llu after the server's retry_ms, "
               "the rest after backoff); fewest connected %lld/%u; ",
               u(r.reconnect.dropped), u(r.reconnect.reconnected), u(r.hinted),
               static_cast<long long>(r.reconnect.min_connected), r.clients);
  if (r.reconnect.full_reconnect_s >= 0) {
    std::fprintf(out, "all back %.1fs after the SIGTERM\n", r.reconnect.full_reconnect_s);
  } else {
    std::fprintf(out, "NOT all back when the phases ended\n");
  }
  std::fprintf(out,
               "    messages: lost silently %llu (room seq gaps %llu, payload gaps %llu); told of "
               "an epoch change %llu times; lost but told %llu (room seqs: of the left epoch %llu, "
               "beyond history %llu; payloads %llu)\n",
               u(r.loss.silently), u(r.loss.seq_gaps), u(r.loss.payload_gaps),
               u(r.loss.epoch_changes), u(r.loss.told), u(r.loss.told_epoch),
               u(r.loss.told_history), u(r.loss.told_payload));
  std::fprintf(out,
               "    publishes: refused %llu (%llu senders), unacknowledged %llu (%llu senders)\n",
               u(r.publish.refused), u(r.publish.senders_refused), u(r.publish.unacked),
               u(r.publish.senders_unacked));
  if (!e.problem.empty()) std::fprintf(out, "    PROBLEM: %s\n", e.problem.c_str());
}

void kernel_json(JsonWriter& w, const KernelSettings& k) {
  w.key("kernel").begin_object();
  w.field("somaxconn", k.somaxconn).field("ip_local_port_range", k.ip_local_port_range);
  w.field("rmem_max", k.rmem_max).field("wmem_max", k.wmem_max);
  w.field("tcp_rmem", k.tcp_rmem).field("tcp_wmem", k.tcp_wmem);
  w.field("nofile", k.nofile).field("release", k.kernel);
  w.end_object();
}

void timeline_json(JsonWriter& w, const std::vector<Sample>& samples) {
  w.key("timeline").begin_array();
  for (const Sample& t : samples) {
    w.begin_object();
    w.field("t_s", t.t_s).field("phase", t.phase);
    w.field("sent_per_s", t.sent_per_s).field("delivered_per_s", t.delivered_per_s);
    w.field("p50_us", us(t.p50_ns)).field("p99_us", us(t.p99_ns)).field("max_us", us(t.max_ns));
    w.field("open", t.open);
    if (t.handshakes_per_s > 0) w.field("handshakes_per_s", t.handshakes_per_s);
    w.field("errors_per_s", t.errors_per_s).field("reconnects_per_s", t.reconnects_per_s);
    w.field("connect_failures_per_s", t.connect_failures_per_s);
    w.end_object();
  }
  w.end_array();
}

void print_latency(std::FILE* out, const Histogram& h) {
  std::fprintf(out,
               "    latency us: p50 %.1f  p90 %.1f  p95 %.1f  p99 %.1f  p99.9 %.1f  max %.1f\n",
               us(h.percentile(50)), us(h.percentile(90)), us(h.percentile(95)),
               us(h.percentile(99)), us(h.percentile(99.9)), us(h.max()));
}

void print_stage(std::FILE* out, std::string_view name, const StageStats& st, double d,
                 const Scenario& s) {
  if (s.mode == Mode::kHandshake) {
    std::fprintf(out, "  %-8.*s %7.1fs  handshakes %llu (%.0f/s)  TLS full %llu  resumed %llu\n",
                 static_cast<int>(name.size()), name.data(), d,
                 static_cast<unsigned long long>(st.cycles), per_s(st.cycles, d),
                 static_cast<unsigned long long>(st.tls_full),
                 static_cast<unsigned long long>(st.tls_resumed));
  } else {
    std::fprintf(out, "  %-8.*s %7.1fs  sent %llu (%.0f/s)  delivered %llu (%.0f/s)\n",
                 static_cast<int>(name.size()), name.data(), d,
                 static_cast<unsigned long long>(st.sent), per_s(st.sent, d),
                 static_cast<unsigned long long>(st.delivered), per_s(st.delivered, d));
  }
  print_latency(out, st.latency);
  for (const auto& [kind, n] : st.errors) {
    std::fprintf(out, "    error %s: %llu\n", kind.c_str(), static_cast<unsigned long long>(n));
  }
}

}  // namespace

std::string report_json(const RunReport& r, const Scenario& s) {
  JsonWriter w;
  w.begin_object();
  w.field("tool", "ringload").field("version", 1);
  scenario_json(w, s);
  w.key("phases").begin_array();
  for (const PhaseReport& p : r.phases) phase_json(w, p, s);
  w.end_array();
  w.key("totals").begin_object();
  stage_json(w, r.totals, r.run_s, s);
  w.end_object();
  tls_json(w, r, s);
  rolling_json(w, r.rolling);
  w.key("order").begin_object();
  w.field("gaps", r.order.gaps).field("duplicates", r.order.duplicates);
  w.field("reorders", r.order.reorders).field("missed_while_reconnecting", r.order.missed);
  w.field("ok", r.order.clean());
  w.end_object();
  w.key("seq").begin_object();
  w.field("checked", r.seq.checked).field("gaps", r.seq.gaps);
  w.field("duplicates", r.seq.duplicates).field("resumes", r.seq.resumes);
  w.field("recovered", r.seq.recovered).field("unrecoverable", r.seq.unrecoverable);
  w.field("not_recovered", r.seq.not_recovered).field("missed_unrecoverable", r.seq.missed);
  w.field("epoch_changes", r.seq.epoch_changes);
  w.field("ok", r.seq.clean());
  w.end_object();
  const auto failures = r.failures();
  w.key("verdict").begin_object();
  w.field("ok", failures.empty());
  w.key("failures").begin_array();
  for (const auto& f : failures) w.value(f);
  w.end_array();
  w.end_object();
  w.key("connections").begin_object();
  w.field("wanted", r.connections_wanted).field("opened", r.connections.opened);
  w.field("failed", r.connections.failed).field("reconnects", r.connections.reconnects);
  w.field("gave_up", r.connections.gave_up).field("connect_s", r.connect_s);
  w.field("unanswered_closes", r.connections.unanswered_closes);
  w.field("resets", r.connections.resets);
  w.end_object();
  w.field("workers", r.workers);
  w.field("client_cpu_s", r.client_cpu_s);
  if (r.server_cpu_s >= 0) {
    w.field("server_cpu_s", r.server_cpu_s).field("server_rss_bytes", r.server_rss_bytes);
  }
  kernel_json(w, r.kernel);
  w.key("warnings").begin_array();
  for (const auto& x : r.warnings) w.value(x);
  w.end_array();
  w.field("interrupted", r.interrupted);
  timeline_json(w, r.timeline);
  w.end_object();
  return w.str() + "\n";
}

bool write_json(const RunReport& r, const Scenario& s, const std::string& path) {
  std::ofstream out(path);
  out << report_json(r, s);
  return static_cast<bool>(out);
}

void print_summary(const RunReport& r, const Scenario& s, std::FILE* out) {
  std::fprintf(out, "ringload: %s, %u connections, %s, %d worker(s)\n",
               std::string(to_string(s.mode)).c_str(), s.connections, s.url.c_str(), r.workers);
  for (const PhaseReport& p : r.phases) {
    print_stage(out, p.name, p.stats, p.duration_s, s);
    std::fprintf(out, "    client cpu %.2fs (busiest worker %.0f%%)", p.client_cpu_s,
                 p.max_worker_busy * 100);
    if (p.server_cpu_s >= 0 && s.mode == Mode::kHandshake && p.stats.cycles > 0) {
      std::fprintf(out, "  server cpu %.2fs = %.1f us/handshake", p.server_cpu_s,
                   p.server_cpu_s * 1e6 / static_cast<double>(p.stats.cycles));
    } else if (p.server_cpu_s >= 0 && p.stats.delivered > 0) {
      std::fprintf(out, "  server cpu %.2fs = %.3f us/delivered", p.server_cpu_s,
                   p.server_cpu_s * 1e6 / static_cast<double>(p.stats.delivered));
    }
    std::fprintf(out, "\n");
  }
  print_stage(out, "total", r.totals, r.run_s, s);
  if (s.tls) {
    std::fprintf(
        out, "  tls: %s %s; handshakes full %llu, resumed %llu%s; certificate %s\n",
        r.tls.version.empty() ? "(no handshake)" : r.tls.version.c_str(), r.tls.cipher.c_str(),
        static_cast<unsigned long long>(r.totals.tls_full),
        static_cast<unsigned long long>(r.totals.tls_resumed),
        s.tls_resume ? " (--tls-resume)" : "",
        r.tls.verified ? ("verified against " + s.tls_ca).c_str() : "NOT verified (no --tls-ca)");
  }
  std::fprintf(
      out, "  order: gaps %llu  duplicates %llu  reorders %llu  (missed while reconnecting %llu)\n",
      static_cast<unsigned long long>(r.order.gaps),
      static_cast<unsigned long long>(r.order.duplicates),
      static_cast<unsigned long long>(r.order.reorders),
      static_cast<unsigned long long>(r.order.missed));
  if (r.seq.checked > 0 || r.seq.resumes > 0) {
    std::fprintf(
        out,
        "  room seq: checked %llu  gaps %llu  duplicates %llu  resumes %llu (recovered %llu, "
        "unrecoverable %llu, wrongly not recovered %llu)\n",
        static_cast<unsigned long long>(r.seq.checked), static_cast<unsigned long long>(r.seq.gaps),
        static_cast<unsigned long long>(r.seq.duplicates),
        static_cast<unsigned long long>(r.seq.resumes),
        static_cast<unsigned long long>(r.seq.recovered),
        static_cast<unsigned long long>(r.seq.unrecoverable),
        static_cast<unsigned long long>(r.seq.not_recovered));
  }
  print_rolling(out, r.rolling);
  std::fprintf(out,
               "  connections: wanted %u  opened %llu  failed %llu  reconnects %llu  gave up %llu  "
               "resets %llu\n",
               r.connections_wanted, static_cast<unsigned long long>(r.connections.opened),
               static_cast<unsigned long long>(r.connections.failed),
               static_cast<unsigned long long>(r.connections.reconnects),
               static_cast<unsigned long long>(r.connections.gave_up),
               static_cast<unsigned long long>(r.connections.resets));
  std::fprintf(out, "  cpu: client %.2fs", r.client_cpu_s);
  if (r.server_cpu_s >= 0)
    std::fprintf(out, "  server %.2fs (rss %llu KiB)", r.server_cpu_s,
                 static_cast<unsigned long long>(r.server_rss_bytes / 1024));
  std::fprintf(out, "\n  kernel: somaxconn %s  ports %s  rmem_max %s  wmem_max %s  nofile %s\n",
               r.kernel.somaxconn.c_str(), r.kernel.ip_local_port_range.c_str(),
               r.kernel.rmem_max.c_str(), r.kernel.wmem_max.c_str(), r.kernel.nofile.c_str());
  for (const auto& w : r.warnings) std::fprintf(out, "  WARNING: %s\n", w.c_str());
  const auto failures = r.failures();
  std::string why;
  for (const auto& f : failures) why += (why.empty() ? "" : "; ") + f;
  std::fprintf(out, "  verdict: %s%s\n", failures.empty() ? "OK" : "FAILED: ", why.c_str());
}

std::vector<std::string> RunReport::failures() const {
  std::vector<std::string> out;
  auto n = [](uint64_t v) { return std::to_string(v); };
  if (order.gaps) out.push_back(n(order.gaps) + " payload gaps");
  if (order.duplicates) out.push_back(n(order.duplicates) + " payload duplicates");
  if (order.reorders) out.push_back(n(order.reorders) + " payload reorders");
  if (seq.gaps) out.push_back(n(seq.gaps) + " room seq gaps");
  if (seq.duplicates) out.push_back(n(seq.duplicates) + " room seq duplicates");
  if (seq.not_recovered) out.push_back(n(seq.not_recovered) + " resumes wrongly not recovered");
  if (connections.opened == 0) out.push_back("no connection succeeded");
  if (rolling.enabled) {
    if (!rolling.events.problem.empty()) out.push_back("rolling: " + rolling.events.problem);
    if (rolling.events.term_s < 0) {
      out.push_back("rolling: no server got SIGTERM");
    } else if (rolling.reconnect.full_reconnect_s < 0) {
      out.push_back("rolling: clients still missing when the phases ended");
    }
  }
  return out;
}

}  // namespace ringchat::ringload
