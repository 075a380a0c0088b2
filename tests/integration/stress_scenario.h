#pragma once
// One run of the output-path stress scenario (issue 6): a server with small
// socket buffers and small backlogs, rooms whose members sit on the owner
// shard or on every shard, and clients that keep up, stop reading, vanish
// mid-message or flood. Everything is driven from the calling thread.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "stress_payload.h"

namespace ringchat::testing::stress {

// How much one scenario does, and how long it may take. Every phase ends
// by itself: by count, or at its deadline (which is a failure).
struct Scale {
  // Messages each publisher of rooms A and B sends at least (more while a
  // stopped reader still waits to fall behind); room C's publishers send
  // three times as many, none over 1 MiB.
  uint32_t messages_per_publisher = 50;
  int setup_ms = 10000;    // connections placed, every handshake answered
  int publish_ms = 20000;  // the publishing phase ends here at the latest
  int settle_ms = 20000;   // then every message is delivered and every stopped reader closed
};

struct ScenarioConfig {
  unsigned shards = 2;
  uint64_t seed = 0;
  int server_cpu = -1;  // every shard runs there; -1: unpinned
  size_t max_message = 16u << 20;
  size_t max_backlog = 4u << 20;
  size_t max_shard_backlog = 64u << 20;
  int sndbuf = 4096;
  Scale scale;
};

struct ScenarioResult {
  std::vector<std::string> failures;  // empty: the scenario passed
  std::string summary;                // one line of figures
};

// Starts a server, runs the scenario against it and stops it.
// REQUIRES: pool was built for at least cfg.max_message bytes.
ScenarioResult run_scenario(const ScenarioConfig& cfg, const PayloadPool& pool);

}  // namespace ringchat::testing::stress
