#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>

#include "ringchat/core/check.h"

namespace ringchat::core {

// CLOCK_MONOTONIC_COARSE in milliseconds: cheap, a few ms of resolution,
// which is all timers at tick granularity need.
// Thread: any.
uint64_t monotonic_ms();
// CLOCK_MONOTONIC, precise (monotonic_ms is the coarse clock, ~4 ms steps).
uint64_t monotonic_ns();

// Intrusive link embedded in whatever owns a timer (a connection, a room).
// Unarmed when prev == nullptr. An armed node must be cancelled before it is
// destroyed or moved.
// Thread: owner shard only.
struct TimerNode {
  TimerNode* prev = nullptr;
  TimerNode* next = nullptr;
  uint64_t deadline = 0;  // in ticks since the wheel's origin
};
static_assert(sizeof(TimerNode) <= 24, "TimerNode sits in every connection");

// Hashed timing wheel, one per shard. A node with deadline tick d lives in
// slot d & (slots - 1), whatever the rotation; a slot visit fires only the
// nodes that are due and leaves later rotations in place, so any delay works
// without a rounds counter. Schedule and cancel are O(1); advance costs the
// ticks it passes (at most one rotation per call) plus the nodes it visits.
// Delays are measured from the now_ms of the last advance() (or of the
// constructor), so a loop advances once per turn before scheduling.
// A node fires at the first tick boundary at or after its due time, and
// never in the tick it was scheduled in.
// Thread: owner shard only.
class TimerWheel {
 public:
  // REQUIRES: tick_ms >= 1; slots a power of two.
  TimerWheel(uint64_t tick_ms, size_t slots, uint64_t now_ms);
  // Leaves every still-armed node unarmed.
  ~TimerWheel();
  TimerWheel(const TimerWheel&) = delete;
  TimerWheel& operator=(const TimerWheel&) = delete;

  // Arms `n` to fire delay_ms from now (re-arms it if already armed).
  // REQUIRES: `n` is unarmed or armed in this wheel.
  void schedule(TimerNode& n, uint64_t delay_ms);
  // Disarms `n`; a no-op if it is not armed.
  // REQUIRES: `n` is unarmed or armed in this wheel.
  void cancel(TimerNode& n);
  static bool armed(const TimerNode& n) { return n.prev != nullptr; }

  // Fires, via on_expire(TimerNode&), every node due at or before now_ms, in
  // deadline order (after a stall longer than one rotation, the overdue ones
  // first, in slot order). The node is unarmed when the callback runs; the
  // callback may schedule or cancel any node. Nodes it schedules count from
  // now_ms, so they never fire in this same call. Returns how many fired.
  // A now_ms earlier than the last one is treated as the last one.
  // REQUIRES: not called from inside an on_expire callback.
  template <typename F>
  size_t advance(uint64_t now_ms, F&& on_expire);

  size_t size() const { return size_; }
  uint64_t tick_ms() const { return tick_ms_; }

  // Milliseconds from now_ms until the tick that fires the earliest armed
  // node (0 if it is already due), or nullopt when nothing is armed.
  std::optional<uint64_t> next_timeout_ms(uint64_t now_ms) const;

 private:
  struct TickRange {
    uint64_t begin;  // first tick to visit
    uint64_t end;    // one past the last
  };

  TickRange begin_advance(uint64_t now_ms);
  // Moves slot `tick`'s whole list onto the local sentinel `pending`.
  void take_slot(uint64_t tick, TimerNode& pending);
  // Unlinks and returns the next node of `pending` due at `tick`, sending
  // not-yet-due ones back to their slot. nullptr once `pending` is empty.
  TimerNode* pop_due(TimerNode& pending, uint64_t tick);
  void link(TimerNode& n);
  uint64_t earliest_deadline() const;

  const uint64_t tick_ms_;
  const uint64_t origin_ms_;
  const uint64_t mask_;
  std::unique_ptr<TimerNode[]> slots_;  // circular lists, sentinel heads
  uint64_t now_ms_;                     // as of the last advance
  uint64_t current_tick_ = 0;           // every deadline <= it has fired
  size_t size_ = 0;
  bool advancing_ = false;
  // Earliest armed deadline, when known; recomputed lazily.
  mutable std::optional<uint64_t> earliest_cache_;
};

template <typename F>
size_t TimerWheel::advance(uint64_t now_ms, F&& on_expire) {
  RC_DCHECK(!advancing_);
  const TickRange range = begin_advance(now_ms);
  advancing_ = true;
  size_t fired = 0;
  for (uint64_t t = range.begin; t < range.end && size_ != 0; ++t) {
    TimerNode pending;
    take_slot(t, pending);
    while (TimerNode* n = pop_due(pending, t)) {
      ++fired;
      on_expire(*n);
    }
  }
  advancing_ = false;
  return fired;
}

}  // namespace ringchat::core
