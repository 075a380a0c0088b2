// Runner: the stages of a run and the report at the end.
#include <unistd.h>

#include <algorithm>

#include "clock.h"
#include "runner.h"

namespace ringchat::ringload {

Result<RunReport, std::string> Runner::run() {
  report_.kernel = read_kernel_settings();
  if (auto r = resolve(); !r) return Err(r.error());
  if (s_.rolling()) {
    rolling_ = std::make_unique<RollingRestart>(s_, endpoint_.dest);
    if (auto r = rolling_->start(); !r) return Err("--rolling-server: " + r.error());
  }
  t0_ = now_ns();
  last_tick_ns_ = t0_;
  report_.connections_wanted = s_.connections + plan_.publishers;
  boundaries_.push_back(snapshot());
  if (auto r = start_workers(); !r) return Err(r.error());
  report_.workers = static_cast<int>(workers_.size());
  connect_stage();
  for (size_t p = 0; p < phases_.size() && !interrupted_.load(); ++p) run_phase(p);
  while (boundaries_.size() < phases_.size() + 2) boundaries_.push_back(snapshot());
  report_.interrupted = interrupted_.load();
  drain_stage();
  close_stage();
  if (rolling_) rolling_->stop();
  for (const std::string& e : worker_errors_) {
    if (e.starts_with("cannot pin")) {
      report_.warnings.push_back(e);
    } else if (!e.empty()) {
      return Err(e);
    }
  }
  finish_report();
  return std::move(report_);
}

// Without a ramp phase first, every connection opens before the first
// phase starts, so the phases measure a steady population.
void Runner::connect_stage() {
  const bool ramp_first = !phases_.empty() && phases_.front().kind == PhaseKind::kRamp;
  // Handshake mode opens connections only during the phases.
  if (!ramp_first && s_.mode != Mode::kHandshake) {
    const double rate = s_.effective_connect_rate();
    const double budget = s_.connect_timeout_s * (s_.max_retries + 1) +
                          s_.backoff_cap_ms / 1000.0 * s_.max_retries +
                          (rate > 0 ? s_.connections / rate : 0) + 5;
    wait_for(static_cast<uint64_t>(budget * 1e9), "connect", &Runner::all_settled);
    wait_for(static_cast<uint64_t>(s_.settle_s * 1e9), "settle", nullptr);
  }
  boundaries_.push_back(snapshot());
  report_.connect_s = boundaries_.back().wall_s - boundaries_.front().wall_s;
}

void Runner::run_phase(size_t p) {
  control_.stage.store(static_cast<int>(p) + 1);
  if (p == 0) phases_ns_ = now_ns();
  if (s_.mode == Mode::kFanout && phases_[p].kind != PhaseKind::kRamp) control_.go.store(true);
  const bool bounded = s_.mode == Mode::kHandshake && s_.handshakes > 0;
  wait_for(static_cast<uint64_t>(phases_[p].duration_s * 1e9), phases_[p].name,
           bounded ? &Runner::handshakes_done : nullptr);
  boundaries_.push_back(snapshot());
}

void Runner::drain_stage() {
  control_.stage.store(static_cast<int>(phases_.size()) + 1);
  drain_ns_ = now_ns();
  quiet_since_ = 0;
  if (s_.mode != Mode::kIdle && s_.mode != Mode::kHandshake) {
    wait_for(static_cast<uint64_t>(s_.drain_s * 1e9), "drain", &Runner::quiet);
  }
}

void Runner::close_stage() {
  control_.stage.store(static_cast<int>(phases_.size()) + 2);
  for (auto& t : threads_) t.join();
  threads_.clear();
}

void Runner::finish_report() {
  const size_t np = phases_.size();
  const Snapshot end = snapshot();
  report_.tls.verified = tls_ && tls_->verifies();
  for (const auto& w : workers_) {
    if (report_.tls.version.empty()) {
      report_.tls.version = w->tls_version();
      report_.tls.cipher = w->tls_cipher();
    }
    report_.order.add(w->order());
    report_.seq.add(w->seq());
    report_.connections.add(w->connections());
    for (const StageStats& st : w->stages()) report_.totals.merge(st);
  }
  for (size_t p = 0; p < np; ++p) {
    const Snapshot& a = boundaries_[p + 1];
    const Snapshot& b = boundaries_[p + 2];
    PhaseReport pr{phases_[p].name,
                   phases_[p].kind,
                   a.wall_s,
                   b.wall_s - a.wall_s,
                   {},
                   b.client_cpu_s - a.client_cpu_s};
    for (const auto& w : workers_) pr.stats.merge(w->stages()[p + 1]);
    if (s_.server_pid > 0 && a.server_cpu_s >= 0 && b.server_cpu_s >= 0) {
      pr.server_cpu_s = b.server_cpu_s - a.server_cpu_s;
      pr.server_rss_bytes = b.server_rss_bytes;
    }
    for (size_t w = 0; w < a.worker_cpu_s.size() && w < b.worker_cpu_s.size(); ++w) {
      if (pr.duration_s > 0)
        pr.max_worker_busy =
            std::max(pr.max_worker_busy, (b.worker_cpu_s[w] - a.worker_cpu_s[w]) / pr.duration_s);
    }
    if (pr.max_worker_busy > 0.9 && pr.duration_s >= 1) {
      report_.warnings.push_back("phase " + pr.name + ": a load-generator worker was " +
                                 std::to_string(static_cast<int>(pr.max_worker_busy * 100)) +
                                 "% busy; the generator, not the server, may be the bottleneck");
    }
    report_.phases.push_back(std::move(pr));
  }
  report_.run_s = end.wall_s;
  report_.client_cpu_s = end.client_cpu_s - boundaries_.front().client_cpu_s;
  if (s_.server_pid > 0) {
    if (end.server_cpu_s >= 0 && boundaries_.front().server_cpu_s >= 0) {
      report_.server_cpu_s = end.server_cpu_s - boundaries_.front().server_cpu_s;
    } else {
      report_.warnings.push_back("cannot read /proc/" + std::to_string(s_.server_pid) + "/stat");
    }
    report_.server_rss_bytes = process_rss_bytes(s_.server_pid);
  }
  if (report_.connections.opened == 0) report_.warnings.push_back("no connection succeeded");
  if (rolling_) finish_rolling();
}

// The rolling restart's report: the servers' events, the reconnect curve
// from the SIGTERM to the end of the phases, and the messages and
// publishes lost.
void Runner::finish_rolling() {
  RollingReport& r = report_.rolling;
  r.enabled = true;
  r.events = rolling_->events(t0_);
  r.clients = s_.connections;
  r.until_s = drain_ns_ > t0_ ? static_cast<double>(drain_ns_ - t0_) / 1e9 : report_.run_s;
  EpochTally epochs;
  for (const auto& w : workers_) {
    r.curve.merge(w->curve());
    r.publish.add(w->publish());
    r.hinted += w->hinted();
    w->tally_epochs(epochs);
  }
  // The series run to the end of the phases, also where nothing happened.
  r.curve.extend(static_cast<size_t>(r.until_s * 1e9 / kCurveBucketNs) + 1);
  r.loss = classify_loss(report_.order, report_.seq, epochs);
  if (r.events.term_s >= 0) {
    r.reconnect = summarize(r.curve, static_cast<uint64_t>(r.events.term_s * 1e9),
                            static_cast<uint64_t>(r.until_s * 1e9), r.clients);
  }
}

}  // namespace ringchat::ringload
