#include "ringchat/core/spsc_ring.h"

#include <gtest/gtest.h>
#include <pthread.h>
#include <sched.h>

#include <array>
#include <cstdint>
#include <thread>
#include <vector>

namespace ringchat::core {
namespace {

// A 16-byte message whose checksum ties its fields together, so a torn or
// stale copy is caught.
struct Msg16 {
  uint64_t seq;
  uint64_t check;
};

// A 32-byte message, wider than one store.
struct Msg32 {
  uint64_t seq;
  uint64_t a;
  uint64_t b;
  uint64_t check;
};

uint64_t mix(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  return x;
}

Msg16 make16(uint64_t seq) { return {seq, mix(seq)}; }
bool valid(const Msg16& m) { return m.check == mix(m.seq); }
Msg32 make32(uint64_t seq) {
  return {seq, mix(seq + 1), mix(seq + 2), mix(seq) ^ mix(seq + 1) ^ mix(seq + 2)};
}
bool valid(const Msg32& m) { return m.check == (mix(m.seq) ^ m.a ^ m.b); }

// Pins the calling thread when the machine has that CPU; otherwise runs
// unpinned (the test does not depend on it).
void try_pin(int cpu) {
  if (cpu >= static_cast<int>(std::thread::hardware_concurrency())) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

using SmallRing = SpscRing<uint32_t, 8>;

std::vector<uint32_t> pop_all(SmallRing& r) {
  std::vector<uint32_t> out;
  uint32_t v = 0;
  while (r.try_pop(v)) out.push_back(v);
  return out;
}

TEST(SpscRing, StartsEmptyAndPopFails) {
  SmallRing r;
  uint32_t v = 7;
  EXPECT_TRUE(r.empty_approx());
  EXPECT_EQ(r.size_approx(), 0u);
  EXPECT_FALSE(r.try_pop(v));
  EXPECT_EQ(v, 7u);
}

TEST(SpscRing, FillsToCapacityThenRejects) {
  SmallRing r;
  for (uint32_t i = 0; i < SmallRing::capacity(); ++i) ASSERT_TRUE(r.try_push(i));
  EXPECT_FALSE(r.try_push(99));
  EXPECT_EQ(r.size_approx(), 8u);
  EXPECT_EQ(pop_all(r), (std::vector<uint32_t>{0, 1, 2, 3, 4, 5, 6, 7}));
}

TEST(SpscRing, PushSucceedsAgainAfterPop) {
  SmallRing r;
  for (uint32_t i = 0; i < 8; ++i) ASSERT_TRUE(r.try_push(i));
  uint32_t v = 0;
  ASSERT_TRUE(r.try_pop(v));
  EXPECT_TRUE(r.try_push(8));
  EXPECT_FALSE(r.try_push(9));
  EXPECT_EQ(pop_all(r), (std::vector<uint32_t>{1, 2, 3, 4, 5, 6, 7, 8}));
}

TEST(SpscRing, WrapsAroundManyTimesInOrder) {
  SmallRing r;
  uint32_t next_in = 0;
  uint32_t next_out = 0;
  for (int round = 0; round < 100; ++round) {
    for (int i = 0; i < 5; ++i) ASSERT_TRUE(r.try_push(next_in++));
    uint32_t v = 0;
    for (int i = 0; i < 5; ++i) {
      ASSERT_TRUE(r.try_pop(v));
      ASSERT_EQ(v, next_out++);
    }
  }
  EXPECT_TRUE(r.empty_approx());
}

TEST(SpscRing, BatchPushTakesOnlyThePrefixThatFits) {
  SmallRing r;
  ASSERT_TRUE(r.try_push(100));
  ASSERT_TRUE(r.try_push(101));
  std::array<uint32_t, 10> batch{0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
  EXPECT_EQ(r.try_push_batch(batch), 6u);
  EXPECT_EQ(r.try_push_batch(batch), 0u);
  EXPECT_EQ(pop_all(r), (std::vector<uint32_t>{100, 101, 0, 1, 2, 3, 4, 5}));
}

TEST(SpscRing, BatchPushWrapsAcrossTheEnd) {
  SmallRing r;
  for (uint32_t i = 0; i < 6; ++i) ASSERT_TRUE(r.try_push(i));
  EXPECT_EQ(pop_all(r).size(), 6u);
  std::array<uint32_t, 7> batch{10, 11, 12, 13, 14, 15, 16};
  EXPECT_EQ(r.try_push_batch(batch), 7u);
  EXPECT_EQ(pop_all(r), (std::vector<uint32_t>{10, 11, 12, 13, 14, 15, 16}));
}

TEST(SpscRing, EmptyBatchPushesNothing) {
  SmallRing r;
  EXPECT_EQ(r.try_push_batch({}), 0u);
  EXPECT_TRUE(r.empty_approx());
}

TEST(SpscRing, DrainStopsAtMax) {
  SmallRing r;
  for (uint32_t i = 0; i < 6; ++i) ASSERT_TRUE(r.try_push(i));
  std::vector<uint32_t> got;
  EXPECT_EQ(r.drain(4, [&](const uint32_t& v) { got.push_back(v); }), 4u);
  EXPECT_EQ(got, (std::vector<uint32_t>{0, 1, 2, 3}));
  EXPECT_EQ(r.size_approx(), 2u);
}

TEST(SpscRing, DrainTakesWhatIsThereAndFreesIt) {
  SmallRing r;
  for (uint32_t i = 0; i < 8; ++i) ASSERT_TRUE(r.try_push(i));
  std::vector<uint32_t> got;
  EXPECT_EQ(r.drain(100, [&](const uint32_t& v) { got.push_back(v); }), 8u);
  EXPECT_EQ(got.size(), 8u);
  EXPECT_EQ(r.drain(100, [&](const uint32_t&) { FAIL(); }), 0u);
  for (uint32_t i = 0; i < 8; ++i) EXPECT_TRUE(r.try_push(i));
}

TEST(SpscRing, DrainSeesValuesPushedAfterAnEarlierDrain) {
  SmallRing r;
  ASSERT_TRUE(r.try_push(1));
  EXPECT_EQ(r.drain(8, [](const uint32_t&) {}), 1u);
  ASSERT_TRUE(r.try_push(2));
  ASSERT_TRUE(r.try_push(3));
  std::vector<uint32_t> got;
  EXPECT_EQ(r.drain(8, [&](const uint32_t& v) { got.push_back(v); }), 2u);
  EXPECT_EQ(got, (std::vector<uint32_t>{2, 3}));
}

TEST(SpscRing, DrainTakesEverythingPublishedSinceTheLastLook) {
  SmallRing r;
  ASSERT_TRUE(r.try_push(1));
  ASSERT_TRUE(r.try_push(2));
  uint32_t v = 0;
  ASSERT_TRUE(r.try_pop(v));
  ASSERT_TRUE(r.try_push(3));
  std::vector<uint32_t> got;
  EXPECT_EQ(r.drain(8, [&](const uint32_t& x) { got.push_back(x); }), 2u);
  EXPECT_EQ(got, (std::vector<uint32_t>{2, 3}));
}

TEST(SpscRing, CarriesWideStructsIntact) {
  SpscRing<Msg32, 4> r;
  for (uint64_t i = 0; i < 4; ++i) ASSERT_TRUE(r.try_push(make32(i)));
  Msg32 m{};
  for (uint64_t i = 0; i < 4; ++i) {
    ASSERT_TRUE(r.try_pop(m));
    EXPECT_EQ(m.seq, i);
    EXPECT_TRUE(valid(m));
  }
}

constexpr uint64_t kStressCount = 2'000'000;

// Producer pushes kStressCount values (singly or in batches of up to 7),
// consumer checks strict order and checksums. Bounded by count, not time.
template <typename M, size_t N, typename Make>
void run_stress(Make make, bool batched, bool drain) {
  auto ring = std::make_unique<SpscRing<M, N>>();
  std::thread producer([&] {
    try_pin(0);
    std::array<M, 7> batch{};
    uint64_t seq = 0;
    while (seq < kStressCount) {
      size_t pushed = 0;
      if (!batched) {
        pushed = ring->try_push(make(seq)) ? 1 : 0;
      } else {
        const size_t want = std::min<uint64_t>(1 + seq % 7, kStressCount - seq);
        for (size_t i = 0; i < want; ++i) batch[i] = make(seq + i);
        pushed = ring->try_push_batch(std::span<const M>(batch.data(), want));
      }
      seq += pushed;
      // Yield when full: the CPUs are shared, and the consumer may need ours.
      if (pushed == 0) std::this_thread::yield();
    }
  });
  cpu_set_t saved;
  const bool restore = pthread_getaffinity_np(pthread_self(), sizeof(saved), &saved) == 0;
  try_pin(1);
  uint64_t expect = 0;
  uint64_t bad = 0;
  auto check = [&](const M& m) {
    bad += (m.seq != expect || !valid(m)) ? 1 : 0;
    ++expect;
  };
  while (expect < kStressCount) {
    M m{};
    size_t popped = 0;
    if (drain) {
      popped = ring->drain(5, check);
    } else if (ring->try_pop(m)) {
      check(m);
      popped = 1;
    }
    if (popped == 0) std::this_thread::yield();
  }
  producer.join();
  if (restore) pthread_setaffinity_np(pthread_self(), sizeof(saved), &saved);
  EXPECT_EQ(bad, 0u);
  EXPECT_EQ(expect, kStressCount);
  EXPECT_TRUE(ring->empty_approx());
}

TEST(SpscRing, TwoThreadsSinglePushPopKeepsOrderAndChecksums) {
  run_stress<Msg16, 64>(make16, /*batched=*/false, /*drain=*/false);
}

TEST(SpscRing, TwoThreadsBatchPushDrainKeepsOrderAndChecksums) {
  run_stress<Msg16, 16>(make16, /*batched=*/true, /*drain=*/true);
}

TEST(SpscRing, TwoThreadsWideStructsArriveUntorn) {
  run_stress<Msg32, 32>(make32, /*batched=*/true, /*drain=*/false);
}

}  // namespace
}  // namespace ringchat::core
