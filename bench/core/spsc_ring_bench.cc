// Cross-thread message rates of SpscRing against a mutex + std::deque queue
// of the same 16-byte item and capacity, so the figures read as ratios.
// The producer (benchmark thread) is pinned to CPU 0 and the consumer to
// CPU 1 where the machine has them; both spin, as shards do under load.
#include <benchmark/benchmark.h>
#include <sched.h>

#include <array>
#include <cstdint>
#include <deque>
#include <limits>
#include <memory>
#include <mutex>
#include <span>
#include <thread>

#include "ringchat/core/spsc_ring.h"

namespace ringchat::core {
namespace {

struct Msg {
  uint64_t seq;
  uint64_t payload;
};
constexpr size_t kCapacity = 1024;
constexpr size_t kDrainMax = 256;
constexpr uint64_t kStop = std::numeric_limits<uint64_t>::max();

using Ring = SpscRing<Msg, kCapacity>;

// Baseline: the obvious locked bounded queue with the same interface.
class MutexQueue {
 public:
  bool try_push(const Msg& m) { return try_push_batch({&m, 1}) == 1; }
  size_t try_push_batch(std::span<const Msg> ms) {
    std::lock_guard lock(mu_);
    const size_t n = std::min(ms.size(), kCapacity - q_.size());
    q_.insert(q_.end(), ms.begin(), ms.begin() + static_cast<ptrdiff_t>(n));
    return n;
  }
  bool try_pop(Msg& out) {
    std::lock_guard lock(mu_);
    if (q_.empty()) return false;
    out = q_.front();
    q_.pop_front();
    return true;
  }
  template <typename F>
  size_t drain(size_t max, F&& f) {
    std::lock_guard lock(mu_);
    const size_t n = std::min(max, q_.size());
    for (size_t i = 0; i < n; ++i) {
      f(q_.front());
      q_.pop_front();
    }
    return n;
  }

 private:
  std::mutex mu_;
  std::deque<Msg> q_;
};

// Pins the calling thread to `cpu` for its lifetime, restoring the old mask.
class ScopedPin {
 public:
  explicit ScopedPin(int cpu) {
    saved_ok_ = sched_getaffinity(0, sizeof(saved_), &saved_) == 0;
    if (cpu >= static_cast<int>(std::thread::hardware_concurrency())) return;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    sched_setaffinity(0, sizeof(set), &set);
  }
  ~ScopedPin() {
    if (saved_ok_) sched_setaffinity(0, sizeof(saved_), &saved_);
  }
  ScopedPin(const ScopedPin&) = delete;
  ScopedPin& operator=(const ScopedPin&) = delete;

 private:
  cpu_set_t saved_{};
  bool saved_ok_ = false;
};

template <typename Q>
void push_spin(Q& q, std::span<const Msg> ms) {
  while (!ms.empty()) ms = ms.subspan(q.try_push_batch(ms));
}

template <typename Q>
void push_one_spin(Q& q, const Msg& m) {
  while (!q.try_push(m)) {
  }
}

// Consumer: drains until the stop message; the sum keeps the work honest.
template <typename Q>
void consume(Q& q, uint64_t& sum) {
  ScopedPin pin(1);
  bool stop = false;
  while (!stop) {
    q.drain(kDrainMax, [&](const Msg& m) {
      stop |= m.seq == kStop;
      sum += m.payload;
    });
  }
}

// Arg(0): batch size; 1 means try_push of single items.
template <typename Q>
void BM_Throughput(benchmark::State& state) {
  const size_t batch = static_cast<size_t>(state.range(0));
  auto q = std::make_unique<Q>();
  ScopedPin pin(0);
  uint64_t sum = 0;
  std::thread consumer([&] { consume(*q, sum); });
  std::array<Msg, 256> items{};
  uint64_t seq = 0;
  for (auto _ : state) {
    if (batch == 1) {
      push_one_spin(*q, Msg{seq, seq});
      ++seq;
      continue;
    }
    for (size_t i = 0; i < batch; ++i) items[i] = Msg{seq + i, seq + i};
    seq += batch;
    push_spin(*q, std::span<const Msg>(items.data(), batch));
  }
  push_one_spin(*q, Msg{kStop, 0});
  consumer.join();
  benchmark::DoNotOptimize(sum);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * batch));
}

// One round trip per iteration: push to the echo thread, spin for its reply.
template <typename Q>
void BM_PingPong(benchmark::State& state) {
  auto there = std::make_unique<Q>();
  auto back = std::make_unique<Q>();
  ScopedPin pin(0);
  std::thread echo([&] {
    ScopedPin echo_pin(1);
    Msg m{};
    for (;;) {
      if (!there->try_pop(m)) continue;
      push_one_spin(*back, m);
      if (m.seq == kStop) return;
    }
  });
  uint64_t seq = 0;
  Msg reply{};
  for (auto _ : state) {
    push_one_spin(*there, Msg{seq, seq});
    while (!back->try_pop(reply)) {
    }
    benchmark::DoNotOptimize(reply);
    ++seq;
  }
  push_one_spin(*there, Msg{kStop, 0});
  while (!back->try_pop(reply) || reply.seq != kStop) {
  }
  echo.join();
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

void BM_SpscRingThroughput(benchmark::State& state) { BM_Throughput<Ring>(state); }
void BM_MutexQueueThroughput(benchmark::State& state) { BM_Throughput<MutexQueue>(state); }
void BM_SpscRingPingPong(benchmark::State& state) { BM_PingPong<Ring>(state); }
void BM_MutexQueuePingPong(benchmark::State& state) { BM_PingPong<MutexQueue>(state); }

BENCHMARK(BM_SpscRingThroughput)->Arg(1)->Arg(16)->Arg(64)->UseRealTime();
BENCHMARK(BM_MutexQueueThroughput)->Arg(1)->Arg(16)->Arg(64)->UseRealTime();
BENCHMARK(BM_SpscRingPingPong)->UseRealTime();
BENCHMARK(BM_MutexQueuePingPong)->UseRealTime();

}  // namespace
}  // namespace ringchat::core

BENCHMARK_MAIN();
