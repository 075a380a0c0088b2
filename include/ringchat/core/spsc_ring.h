#pragma once
#include <algorithm>
#include <atomic>
#include <cstddef>
#include <span>
#include <type_traits>

namespace ringchat::core {

// Bounded lock-free ring for exactly one producer thread and one consumer
// thread: the mailbox between an ordered pair of shards. Values are copied
// in and out; once pushed, a value's bytes belong to the consumer.
// Thread: producer side (try_push*, capacity) on one thread, consumer side
// (try_pop, drain) on one other thread; size_approx/empty_approx on either.
//
// Invariants
//   I1. tail_ is written only by the producer, head_ only by the consumer.
//       Both count up forever (64-bit: no wrap in practice); a value's slot
//       is its index & kMask.
//   I2. head_ <= tail_ <= head_ + N at every instant. Slots [head_, tail_)
//       hold published values owned by the consumer; the other slots are
//       owned by the producer.
//   I3. head_cache_ (producer-private) <= head_ and tail_cache_
//       (consumer-private) <= tail_: a stale cache only understates the room
//       or the data available, never overstates it, so it is always safe to
//       act on; it is refreshed only when it says "full" or "empty".
//   I4. The producer's line holds tail_ and head_cache_; the consumer's line
//       holds head_ and tail_cache_; slots start on a third line. Each side
//       writes only its own line, and reads the other's only on a refresh.
//
// Memory orders
//   - The producer writes slot bytes, then tail_.store(release). The consumer
//     reads tail_ with acquire before reading those slots: the pair makes the
//     slot writes visible before the consumer copies them out.
//   - The consumer copies slot bytes out, then head_.store(release). The
//     producer reads head_ with acquire before overwriting freed slots: the
//     pair orders the consumer's reads before the producer's next write to
//     the same slot (no torn value).
//   - Each side loads its own index relaxed: only it ever writes that index.
template <typename T, size_t N>
class SpscRing {
  static_assert(std::is_trivially_copyable_v<T>,
                "SpscRing holds plain values: T must be trivially copyable");
  static_assert(std::is_default_constructible_v<T>, "slots are default-constructed up front");
  static_assert(N >= 2 && (N & (N - 1)) == 0, "N must be a power of two");

 public:
  SpscRing() = default;
  SpscRing(const SpscRing&) = delete;
  SpscRing& operator=(const SpscRing&) = delete;

  // Producer side. Copies `v` in; false if the ring is full.
  bool try_push(const T& v) {
    const size_t tail = tail_.load(std::memory_order_relaxed);
    if (tail - head_cache_ == N) {
      head_cache_ = head_.load(std::memory_order_acquire);
      if (tail - head_cache_ == N) return false;
    }
    slots_[tail & kMask] = v;
    tail_.store(tail + 1, std::memory_order_release);
    return true;
  }

  // Producer side. Pushes the longest prefix of `vs` that fits and publishes
  // it with a single store. Returns how many were pushed (0 if full).
  size_t try_push_batch(std::span<const T> vs) {
    const size_t tail = tail_.load(std::memory_order_relaxed);
    size_t room = N - (tail - head_cache_);
    if (room < vs.size()) {
      head_cache_ = head_.load(std::memory_order_acquire);
      room = N - (tail - head_cache_);
    }
    const size_t n = std::min(room, vs.size());
    if (n == 0) return 0;
    const size_t first = std::min(n, N - (tail & kMask));
    std::copy_n(vs.data(), first, &slots_[tail & kMask]);
    std::copy_n(vs.data() + first, n - first, &slots_[0]);
    tail_.store(tail + n, std::memory_order_release);
    return n;
  }

  // Consumer side. Copies the oldest value into `out`; false if empty.
  bool try_pop(T& out) {
    const size_t head = head_.load(std::memory_order_relaxed);
    if (head == tail_cache_) {
      tail_cache_ = tail_.load(std::memory_order_acquire);
      if (head == tail_cache_) return false;
    }
    out = slots_[head & kMask];
    head_.store(head + 1, std::memory_order_release);
    return true;
  }

  // Consumer side. Calls f(const T&) on up to `max` values, oldest first,
  // then frees them all with one store. Returns how many were handed over.
  // The reference passed to f is valid only during that call, and f must not
  // pop from this ring.
  template <typename F>
  size_t drain(size_t max, F&& f) {
    const size_t head = head_.load(std::memory_order_relaxed);
    if (tail_cache_ - head < max) {
      tail_cache_ = tail_.load(std::memory_order_acquire);
    }
    const size_t n = std::min(tail_cache_ - head, max);
    for (size_t i = 0; i < n; ++i) {
      f(static_cast<const T&>(slots_[(head + i) & kMask]));
    }
    if (n != 0) head_.store(head + n, std::memory_order_release);
    return n;
  }

  // Either side. A snapshot that may be stale by the time it returns.
  // head_ is read first: the later tail_ read is then >= it (I2), and the
  // result is clamped because head_ may have moved on meanwhile.
  size_t size_approx() const {
    const size_t head = head_.load(std::memory_order_acquire);
    const size_t tail = tail_.load(std::memory_order_acquire);
    return std::min(tail - head, N);
  }
  bool empty_approx() const { return size_approx() == 0; }

  static constexpr size_t capacity() { return N; }

 private:
  static constexpr size_t kMask = N - 1;
  static constexpr size_t kCacheLine = 64;

  // Producer's line.
  alignas(kCacheLine) std::atomic<size_t> tail_{0};
  size_t head_cache_ = 0;
  // Consumer's line.
  alignas(kCacheLine) std::atomic<size_t> head_{0};
  size_t tail_cache_ = 0;
  alignas(kCacheLine) T slots_[N];
};

}  // namespace ringchat::core
