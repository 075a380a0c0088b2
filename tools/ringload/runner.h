#pragma once
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "plan.h"
#include "report.h"
#include "rolling.h"
#include "scenario.h"
#include "worker.h"

namespace ringchat::ringload {

// Drives a run: starts one pinned worker per --cpus entry, steps the stages
// (connect, phases, drain, close), prints the live line, samples CPU at the
// phase boundaries and assembles the report.
// Thread: main thread only; talks to workers through Control and WorkerLive.
class Runner {
 public:
  Runner(const Scenario& s, const std::atomic<bool>& interrupted);
  ~Runner();
  Runner(const Runner&) = delete;
  Runner& operator=(const Runner&) = delete;

  // Error: setup failed before any connection (message for the user).
  Result<RunReport, std::string> run();

 private:
  struct Snapshot {
    double wall_s = 0;
    double client_cpu_s = 0;
    double server_cpu_s = -1;
    uint64_t server_rss_bytes = 0;
    std::vector<double> worker_cpu_s;
  };
  Result<void, std::string> resolve();
  std::vector<int> worker_cpus();
  Result<void, std::string> start_workers();
  void connect_stage();
  void run_phase(size_t p);
  void drain_stage();
  void close_stage();
  // Sleeps up to `ns` in short steps, sampling once a second; false if interrupted.
  bool wait_for(uint64_t ns, const std::string& label, bool (Runner::*done)() const);
  bool all_settled() const;
  bool handshakes_done() const;
  void maybe_go();
  bool quiet() const;
  void tick(const std::string& label);
  Snapshot snapshot() const;
  void finish_report();
  void finish_rolling();

  const Scenario& s_;
  const std::atomic<bool>& interrupted_;
  const std::vector<Phase> phases_;
  Plan plan_;
  Endpoint endpoint_;
  std::unique_ptr<TlsClientContext> tls_;  // --tls; workers borrow it via endpoint_
  Control control_;
  uint64_t t0_ = 0;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<std::thread> threads_;
  std::vector<std::string> worker_errors_;
  bool progress_ = false;
  uint64_t last_tick_ns_ = 0;
  uint64_t last_sent_ = 0, last_delivered_ = 0, last_cycles_ = 0;
  uint64_t last_errors_ = 0, last_reconnects_ = 0, last_connect_failures_ = 0;
  mutable uint64_t quiet_last_ = 0, quiet_since_ = 0;
  uint64_t settled_at_ns_ = 0;
  std::vector<Snapshot> boundaries_;         // at the start of each phase and after the last
  std::unique_ptr<RollingRestart> rolling_;  // --rolling-server
  uint64_t phases_ns_ = 0;                   // when the first phase began
  uint64_t drain_ns_ = 0;                    // ... and the drain stage
  RunReport report_;
};

}  // namespace ringchat::ringload
