// Stress test of the output path (issue 6): 2 then 4 shards on one CPU,
// 4 KiB server send buffers, messages of 0 B to 16 MiB, readers that keep
// up, stop, or vanish mid-message, ping and pipelined-HTTP floods. Every
// reader that keeps up must read every message byte-exact in room order,
// every reader that stops must be closed, the queued bytes of each shard
// must stay under the configured bound, and the process must live.
//
// The scenario loops (6 iterations, each on 2 and on 4 shards) so that a
// bug that shows one run in two cannot slip through; about a minute in
// release, two and a half under ASan on 2 cores. Environment:
//   RINGCHAT_STRESS_SEED=<n>        replay a run (the seed is printed)
//   RINGCHAT_STRESS_ITERATIONS=<n>  more for a soak, fewer for a quick look
//   RINGCHAT_STRESS_FROM=<k>        start at iteration k of the seed's run
#include <gtest/gtest.h>
#include <pthread.h>
#include <sched.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "stress_scenario.h"

namespace ringchat::testing::stress {
namespace {

// How fast this build moves bytes: sanitizers and -O0 are several times
// slower, ThreadSanitizer far slower still.
#if defined(__SANITIZE_ADDRESS__)
#define RINGCHAT_STRESS_ASAN 1
#endif
#if defined(__SANITIZE_THREAD__)
#define RINGCHAT_STRESS_TSAN 1
#endif
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RINGCHAT_STRESS_ASAN 1
#endif
#if __has_feature(thread_sanitizer)
#define RINGCHAT_STRESS_TSAN 1
#endif
#endif
#ifdef RINGCHAT_STRESS_TSAN
constexpr bool kTsan = true;
#else
constexpr bool kTsan = false;
#endif
#if defined(NDEBUG) && !defined(RINGCHAT_STRESS_ASAN) && !defined(RINGCHAT_STRESS_TSAN)
constexpr bool kOptimized = true;
#else
constexpr bool kOptimized = false;
#endif

uint64_t env_u64(const char* name, uint64_t fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::strtoull(v, nullptr, 0) : fallback;
}

std::vector<int> affinity_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<int> cpus;
  if (sched_getaffinity(0, sizeof(set), &set) != 0) return cpus;
  for (int i = 0; i < CPU_SETSIZE; ++i) {
    if (CPU_ISSET(i, &set)) cpus.push_back(i);
  }
  return cpus;
}

void pin_to(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

Scale scale_for_build() {
  Scale s;
  if (!kOptimized) {
    s.messages_per_publisher = kTsan ? 10 : 25;
    s.setup_ms = 30000;
    s.publish_ms = kTsan ? 120000 : 60000;
    s.settle_ms = kTsan ? 120000 : 60000;
  }
  return s;
}

TEST(Stress, OutputPathHoldsUnderPressure) {
  const uint64_t seed = env_u64("RINGCHAT_STRESS_SEED", std::random_device{}());
  const uint64_t iterations = env_u64("RINGCHAT_STRESS_ITERATIONS", kTsan ? 1 : 6);
  std::printf("[stress] seed %llu (replay: RINGCHAT_STRESS_SEED=%llu), %llu iterations\n",
              static_cast<unsigned long long>(seed), static_cast<unsigned long long>(seed),
              static_cast<unsigned long long>(iterations));
  // The shards share one CPU, the clients run on another (when there is one).
  const std::vector<int> cpus = affinity_cpus();
  ASSERT_FALSE(cpus.empty());
  const int server_cpu = cpus[0];
  const int client_cpu = cpus.size() > 1 ? cpus[1] : cpus[0];

  ScenarioConfig cfg;
  cfg.server_cpu = server_cpu;
  cfg.scale = scale_for_build();
  const PayloadPool pool(seed, cfg.max_message);
  std::mt19937_64 seeds(seed);
  // RINGCHAT_STRESS_FROM=k replays from iteration k (seeds of earlier ones are drawn, not run).
  const uint64_t from = env_u64("RINGCHAT_STRESS_FROM", 1);
  for (uint64_t it = 0; it < iterations; ++it) {
    for (unsigned shards : {2u, 4u}) {
      cfg.shards = shards;
      cfg.seed = seeds();
      if (it + 1 < from) continue;
      ScenarioResult r;
      std::thread client([&] {
        pin_to(client_cpu);
        r = run_scenario(cfg, pool);
      });
      client.join();
      std::printf("[stress] %llu/%llu %s%s\n", static_cast<unsigned long long>(it + 1),
                  static_cast<unsigned long long>(iterations), r.summary.c_str(),
                  r.failures.empty() ? "" : " FAILED");
      std::fflush(stdout);
      if (!r.failures.empty()) {
        std::string all;
        for (const auto& f : r.failures) all += "\n  " + f;
        FAIL() << "iteration " << it + 1 << " on " << shards << " shards failed (replay: "
               << "RINGCHAT_STRESS_SEED=" << seed << " RINGCHAT_STRESS_FROM=" << it + 1
               << " RINGCHAT_STRESS_ITERATIONS=" << it + 1 << "):" << all;
      }
    }
  }
}

}  // namespace
}  // namespace ringchat::testing::stress
