#include "ringchat/core/timer_wheel.h"

#include <time.h>

#include <algorithm>
#include <limits>

namespace ringchat::core {
namespace {

// Far enough for any real timer, small enough that tick arithmetic on it
// cannot overflow.
constexpr uint64_t kMaxDelayMs = uint64_t{1} << 48;

void make_empty(TimerNode& sentinel) {
  sentinel.prev = &sentinel;
  sentinel.next = &sentinel;
}

void unlink(TimerNode& n) {
  n.prev->next = n.next;
  n.next->prev = n.prev;
  n.prev = nullptr;
  n.next = nullptr;
}

}  // namespace

uint64_t monotonic_ms() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000 + static_cast<uint64_t>(ts.tv_nsec) / 1'000'000;
}

uint64_t monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000 + static_cast<uint64_t>(ts.tv_nsec);
}

TimerWheel::TimerWheel(uint64_t tick_ms, size_t slots, uint64_t now_ms)
    : tick_ms_(tick_ms),
      origin_ms_(now_ms),
      mask_(slots - 1),
      slots_(std::make_unique<TimerNode[]>(slots)),
      now_ms_(now_ms) {
  RC_CHECK(tick_ms >= 1);
  RC_CHECK(slots >= 1 && (slots & (slots - 1)) == 0);
  for (size_t i = 0; i < slots; ++i) make_empty(slots_[i]);
}

TimerWheel::~TimerWheel() {
  for (uint64_t i = 0; i <= mask_; ++i) {
    TimerNode& head = slots_[i];
    while (head.next != &head) unlink(*head.next);
  }
}

void TimerWheel::schedule(TimerNode& n, uint64_t delay_ms) {
  cancel(n);
  // First tick boundary at or after now + delay, and at least the next tick:
  // the boundary of the current tick has already passed.
  const uint64_t due_ms = now_ms_ - origin_ms_ + std::min(delay_ms, kMaxDelayMs);
  const uint64_t due_tick = (due_ms + tick_ms_ - 1) / tick_ms_;
  n.deadline = std::max(due_tick, current_tick_ + 1);
  link(n);
  ++size_;
  if (earliest_cache_ && n.deadline < *earliest_cache_) {
    earliest_cache_ = n.deadline;
  }
}

void TimerWheel::cancel(TimerNode& n) {
  if (!armed(n)) return;
  unlink(n);
  --size_;
  if (earliest_cache_ && n.deadline == *earliest_cache_) {
    earliest_cache_.reset();
  }
}

void TimerWheel::link(TimerNode& n) {
  TimerNode& head = slots_[n.deadline & mask_];
  n.prev = head.prev;
  n.next = &head;
  head.prev->next = &n;
  head.prev = &n;
}

TimerWheel::TickRange TimerWheel::begin_advance(uint64_t now_ms) {
  now_ms_ = std::max(now_ms_, now_ms);
  const uint64_t target = (now_ms_ - origin_ms_) / tick_ms_;
  // Visiting the last rotation's worth of ticks visits every slot once,
  // which finds every overdue node, however long the stall was.
  const uint64_t rotation = mask_ + 1;
  const uint64_t begin =
      std::max(current_tick_ + 1, target >= rotation ? target - rotation + 1 : 0);
  const TickRange range{begin, target + 1};
  if (target != current_tick_) earliest_cache_.reset();
  current_tick_ = target;
  return range;
}

void TimerWheel::take_slot(uint64_t tick, TimerNode& pending) {
  TimerNode& head = slots_[tick & mask_];
  if (head.next == &head) {
    make_empty(pending);
    return;
  }
  pending.next = head.next;
  pending.prev = head.prev;
  pending.next->prev = &pending;
  pending.prev->next = &pending;
  make_empty(head);
}

TimerNode* TimerWheel::pop_due(TimerNode& pending, uint64_t tick) {
  while (pending.next != &pending) {
    TimerNode* n = pending.next;
    unlink(*n);
    if (n->deadline <= tick) {
      --size_;
      return n;
    }
    link(*n);
  }
  return nullptr;
}

uint64_t TimerWheel::earliest_deadline() const {
  // Every armed deadline is > current_tick_. Within the next rotation, a
  // slot's first due tick is the only one it can hold a node for, so the
  // first slot holding a node due then is the answer. Failing that, every
  // node is a rotation or more away and the minimum seen is the answer.
  uint64_t best = std::numeric_limits<uint64_t>::max();
  for (uint64_t t = current_tick_ + 1; t <= current_tick_ + mask_ + 1; ++t) {
    const TimerNode& head = slots_[t & mask_];
    for (const TimerNode* n = head.next; n != &head; n = n->next) {
      if (n->deadline == t) return t;
      best = std::min(best, n->deadline);
    }
  }
  return best;
}

std::optional<uint64_t> TimerWheel::next_timeout_ms(uint64_t now_ms) const {
  if (size_ == 0) return std::nullopt;
  // Mid-advance, slots not yet visited may still hold due nodes.
  if (advancing_) return 0;
  if (!earliest_cache_) earliest_cache_ = earliest_deadline();
  const uint64_t due_ms = origin_ms_ + *earliest_cache_ * tick_ms_;
  return due_ms > now_ms ? due_ms - now_ms : 0;
}

}  // namespace ringchat::core
