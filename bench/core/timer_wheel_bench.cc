// TimerWheel operations with many timers armed, against std::multimap keyed
// by deadline (the obvious ordered-timer baseline) doing the same work.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <map>
#include <random>
#include <vector>

#include "ringchat/core/timer_wheel.h"

namespace ringchat::core {
namespace {

constexpr uint64_t kTickMs = 10;
constexpr size_t kSlots = 4096;  // 41 s per rotation: idle timeouts fit

std::vector<uint64_t> random_delays(size_t n) {
  std::mt19937_64 rng(7);
  std::vector<uint64_t> delays(n);
  for (uint64_t& d : delays) d = 1000 + rng() % 60'000;
  return delays;
}

// Arg(0): timers already armed. Each iteration arms one more and cancels it.
void BM_TimerWheelScheduleCancel(benchmark::State& state) {
  const auto delays = random_delays(static_cast<size_t>(state.range(0)));
  TimerWheel wheel(kTickMs, kSlots, 0);
  std::vector<TimerNode> nodes(delays.size());
  for (size_t i = 0; i < nodes.size(); ++i) wheel.schedule(nodes[i], delays[i]);
  TimerNode n;
  size_t i = 0;
  for (auto _ : state) {
    wheel.schedule(n, delays[i++ % delays.size()]);
    wheel.cancel(n);
  }
  benchmark::DoNotOptimize(wheel.size());
  for (TimerNode& node : nodes) wheel.cancel(node);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

void BM_MultimapScheduleCancel(benchmark::State& state) {
  const auto delays = random_delays(static_cast<size_t>(state.range(0)));
  std::multimap<uint64_t, size_t> timers;
  for (size_t i = 0; i < delays.size(); ++i) timers.emplace(delays[i], i);
  size_t i = 0;
  for (auto _ : state) {
    auto it = timers.emplace(delays[i % delays.size()], i);
    ++i;
    timers.erase(it);
  }
  benchmark::DoNotOptimize(timers.size());
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

// Re-arming an armed timer: what every received message does to its
// connection's idle timeout.
void BM_TimerWheelRearm(benchmark::State& state) {
  const auto delays = random_delays(static_cast<size_t>(state.range(0)));
  TimerWheel wheel(kTickMs, kSlots, 0);
  std::vector<TimerNode> nodes(delays.size());
  for (size_t i = 0; i < nodes.size(); ++i) wheel.schedule(nodes[i], delays[i]);
  size_t i = 0;
  for (auto _ : state) {
    const size_t k = (i * 7919) % nodes.size();
    wheel.schedule(nodes[k], delays[i++ % delays.size()]);
  }
  benchmark::DoNotOptimize(wheel.size());
  for (TimerNode& node : nodes) wheel.cancel(node);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

// Advancing one tick at a time through armed timers that re-arm on expiry:
// the steady state of a shard's idle-timeout wheel. Items = expiries.
void BM_TimerWheelAdvance(benchmark::State& state) {
  const auto delays = random_delays(static_cast<size_t>(state.range(0)));
  TimerWheel wheel(kTickMs, kSlots, 0);
  std::vector<TimerNode> nodes(delays.size());
  for (size_t i = 0; i < nodes.size(); ++i) wheel.schedule(nodes[i], delays[i]);
  uint64_t now = 0;
  size_t fired = 0;
  for (auto _ : state) {
    now += kTickMs;
    fired += wheel.advance(now, [&](TimerNode& n) { wheel.schedule(n, 30'000); });
  }
  benchmark::DoNotOptimize(fired);
  for (TimerNode& node : nodes) wheel.cancel(node);
  state.SetItemsProcessed(static_cast<int64_t>(fired));
}

BENCHMARK(BM_TimerWheelScheduleCancel)->Arg(1000)->Arg(100'000);
BENCHMARK(BM_MultimapScheduleCancel)->Arg(1000)->Arg(100'000);
BENCHMARK(BM_TimerWheelRearm)->Arg(1000)->Arg(100'000);
BENCHMARK(BM_TimerWheelAdvance)->Arg(100'000);

}  // namespace
}  // namespace ringchat::core
