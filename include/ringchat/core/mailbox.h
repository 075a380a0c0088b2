#pragma once
#include <atomic>
#include <cstddef>
#include <deque>
#include <memory>
#include <span>
#include <vector>

#include "ringchat/core/check.h"
#include "ringchat/core/spsc_ring.h"

namespace ringchat::core {

// The cross-shard mail system: one SpscRing per ordered pair of shards, and
// one "sleeping" flag per shard so producers wake a consumer only when it
// waits in the kernel.
//
// Invariants:
// - ring(a, b) has exactly one producer (shard a) and one consumer (shard b).
// - A consumer about to sleep stores sleeping=true, then re-checks its rings
//   (seq_cst fence between); a producer stores into a ring, then exchanges
//   sleeping to false (seq_cst fence between) and rings the doorbell if it was
//   true. By the store-load ordering of the two fences, either the consumer
//   sees the message in its re-check or the producer sees sleeping=true: no
//   lost wakeup. A doorbell that finds the consumer awake is harmless.
// Thread: any; the set is built before shards start and outlives them.
template <typename Msg, size_t N>
class MailboxSet {
 public:
  explicit MailboxSet(unsigned shards)
      : shards_(shards), rings_(shards * shards), waiting_(shards * shards), flags_(shards) {
    for (auto& r : rings_) r = std::make_unique<SpscRing<Msg, N>>();
  }
  unsigned shards() const { return shards_; }
  SpscRing<Msg, N>& ring(unsigned from, unsigned to) { return *rings_[from * shards_ + to]; }
  const SpscRing<Msg, N>& ring(unsigned from, unsigned to) const {
    return *rings_[from * shards_ + to];
  }
  // Messages from `from` to `to` waiting in from's Outbox (its overflow
  // queue: posted this turn, or refused by the full ring), as of from's
  // last flush. For /metrics; any thread may read it.
  size_t waiting(unsigned from, unsigned to) const {
    return waiting_[from * shards_ + to].load(std::memory_order_relaxed);
  }
  void set_waiting(unsigned from, unsigned to, size_t n) {
    waiting_[from * shards_ + to].store(n, std::memory_order_relaxed);
  }

  // Consumer `me`: returns true if it may sleep (no mail was waiting).
  bool prepare_sleep(unsigned me) {
    flags_[me].sleeping.store(true, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_seq_cst);
    for (unsigned from = 0; from < shards_; ++from) {
      if (!ring(from, me).empty_approx()) {
        flags_[me].sleeping.store(false, std::memory_order_relaxed);
        return false;
      }
    }
    return true;
  }
  void woke(unsigned me) { flags_[me].sleeping.store(false, std::memory_order_relaxed); }
  // Producer, after publishing into ring(*, to): true if `to` must be rung.
  bool needs_doorbell(unsigned to) {
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (!flags_[to].sleeping.load(std::memory_order_relaxed)) return false;
    return flags_[to].sleeping.exchange(false, std::memory_order_relaxed);
  }

 private:
  struct alignas(64) Flag {
    std::atomic<bool> sleeping{false};
  };
  unsigned shards_;
  std::vector<std::unique_ptr<SpscRing<Msg, N>>> rings_;
  std::vector<std::atomic<size_t>> waiting_;
  std::vector<Flag> flags_;
};

// One shard's outgoing side: messages posted during a loop turn are pushed in
// batches by flush(); what a full ring refuses waits in a local overflow queue
// (never dropped) and is retried at the next flush, in order.
// Thread: owner shard only.
template <typename Msg, size_t N>
class Outbox {
 public:
  Outbox(MailboxSet<Msg, N>& set, unsigned me)
      : set_(set), me_(me), pending_(set.shards()), reported_(set.shards()) {}

  void post(unsigned to, const Msg& m) { pending_[to].push_back(m); }
  // Messages for `to` that its ring has not taken yet (posted this turn, or
  // refused by a full ring): what a producer throttles its sources by.
  size_t pending(unsigned to) const { return pending_[to].size(); }
  bool has_backlog() const {
    for (const auto& q : pending_) {
      if (!q.empty()) return true;
    }
    return false;
  }

  // At shutdown, after every shard stopped: hands back what was never sent.
  template <typename Fn>
  void release_all(Fn&& fn) {
    for (auto& q : pending_) {
      for (const Msg& m : q) fn(m);
      q.clear();
    }
  }

  // Pushes pending mail; calls ring(to) once per target that needs waking.
  template <typename RingFn>
  void flush(RingFn&& ring) {
    for (unsigned to = 0; to < pending_.size(); ++to) {
      std::deque<Msg>& q = pending_[to];
      if (q.empty() && reported_[to] == 0) continue;
      auto& r = set_.ring(me_, to);
      size_t pushed = 0;
      while (!q.empty() && r.try_push(q.front())) {
        q.pop_front();
        ++pushed;
      }
      if (pushed > 0 && set_.needs_doorbell(to)) ring(to);
      if (reported_[to] != q.size()) set_.set_waiting(me_, to, reported_[to] = q.size());
    }
  }

 private:
  MailboxSet<Msg, N>& set_;
  unsigned me_;
  std::vector<std::deque<Msg>> pending_;
  std::vector<size_t> reported_;  // set_.waiting(me_, to) as last set
};

}  // namespace ringchat::core
