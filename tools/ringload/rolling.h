#pragma once
#include <netinet/in.h>
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "ringchat/core/result.h"
#include "rolling_stats.h"
#include "scenario.h"

namespace ringchat::ringload {

// The servers of a rolling restart (--rolling-server): two started on the
// URL's port with --reuse-port before the load; during the phases, a third
// (the replacement) started and, once it listens, SIGTERM to the first. The
// rest are stopped (SIGTERM, then SIGKILL) when the run ends. A server's
// death with ringload's (PR_SET_PDEATHSIG) is the only cleanup a crash gets.
// Thread: main only; fork() happens while workers run, so the child does
// only async-signal-safe work (dup2, close_range, execv) before its exec.
class RollingRestart {
 public:
  RollingRestart(const Scenario& s, const sockaddr_in& addr);
  ~RollingRestart();
  RollingRestart(const RollingRestart&) = delete;
  RollingRestart& operator=(const RollingRestart&) = delete;

  // Starts the first two and waits until both listen. Error: for the user.
  Result<void, std::string> start();
  // Advances the restart; `phases_ns`: when the first phase began (0: not yet).
  void step(uint64_t now, uint64_t phases_ns);
  // Stops every server still running (bounded wait).
  void stop();
  // Times relative to `t0`.
  RollingEvents events(uint64_t t0) const;

 private:
  struct Server {
    pid_t pid = -1;
    bool exited = false;
    int status = -1;
    uint64_t exit_ns = 0;
  };
  enum class Stage : uint8_t { kBoth, kStarting, kDraining, kDone };

  Result<pid_t, std::string> spawn(int n);
  bool listening(pid_t pid) const;
  void reap(uint64_t now);
  Result<void, std::string> wait_listening(const Server& sv, uint64_t deadline);

  const Scenario& s_;
  std::string bind_;
  uint16_t port_;
  std::vector<Server> servers_;  // 0, 1: the first two; 2: the replacement
  Stage stage_ = Stage::kBoth;
  uint64_t started_ns_ = 0, ready_ns_ = 0, term_ns_ = 0;
  std::string problem_;
};

}  // namespace ringchat::ringload
