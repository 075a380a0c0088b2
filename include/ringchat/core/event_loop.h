#pragma once
#include <liburing.h>

#include <array>
#include <cstdint>
#include <string>

#include "ringchat/core/op.h"
#include "ringchat/core/reactor.h"
#include "ringchat/core/result.h"
#include "ringchat/core/timer_wheel.h"

namespace ringchat::core {

// Receives the completions of one op (see Op).
class CompletionHandler {
 public:
  virtual ~CompletionHandler() = default;
  // A receive's provided buffer (IORING_CQE_F_BUFFER) is recycled by the
  // loop after this returns: copy what must outlive the call.
  virtual void on_completion(const io_uring_cqe* cqe, Tag tag) = 0;
};

// What one loop turn does besides dispatching completions: the layer above
// (mail, the end-of-turn flush). Thread: the loop's.
class TurnHooks {
 public:
  virtual ~TurnHooks() = default;
  virtual void on_timer(TimerNode& node) = 0;
  // After every timer and completion: nothing else runs between events.
  virtual void after_event() = 0;
  // Once per turn, after timers and completions.
  virtual void end_turn() = 0;
  // Before sleeping `timeout_ms` (< 0: until an event): returns the sleep to
  // take, 0 not to sleep (work is waiting).
  virtual int64_t before_sleep(int64_t timeout_ms) = 0;
  virtual void woke() = 0;
  virtual bool finished() = 0;
  // Once per turn, after woke(): the submission queue entries the sleep
  // before it submitted, and, about every kLagProbeMs, how late the loop
  // woke for the probe due then (ns; the length of the turns before it,
  // or the oversleep). -1: no probe was due.
  virtual void turned(unsigned /*submitted*/, int64_t /*lag_ns*/) {}
};

// A shard's event loop: one io_uring (core::Reactor), its timer wheel, and
// the dispatch of completions by op. Knows no protocol.
// A turn: sleep in io_uring_enter until a completion, the next timer or a
// doorbell; advance the wheel; dispatch up to kMaxCqesPerTurn completions;
// then TurnHooks::end_turn(). Doorbells (Op::kDoorbell) only wake the loop;
// kClose, kCancel and kNone completions are dropped. A loop never sleeps
// past its next lag probe (kLagProbeMs), so it turns at least that often.
// Thread: the shard thread that called init() only.
class EventLoop {
 public:
  static constexpr uint64_t kTickMs = 50;
  static constexpr size_t kWheelSlots = 1024;
  static constexpr unsigned kMaxCqesPerTurn = 4096;
  static constexpr uint64_t kLagProbeMs = 100;

  EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // On the loop's thread. `how` describes the ring's mode and fallbacks.
  Result<void, std::string> init(const ReactorOptions& opts, std::string* how);
  // Completions of `op` go to `h` (which outlives the loop's run()).
  void on(Op op, CompletionHandler& h) { handlers_[static_cast<size_t>(op)] = &h; }
  // Runs turns until hooks.finished(). False: io_uring_enter failed (errno
  // says why) and the loop stopped.
  bool run(TurnHooks& hooks);

  Reactor& reactor() { return reactor_; }
  TimerWheel& timers() { return timers_; }
  // The clock of this turn (monotonic ms), read once per wake-up.
  uint64_t now_ms() const { return now_ms_; }

 private:
  void reap(TurnHooks& hooks);

  Reactor reactor_;
  TimerWheel timers_;
  std::array<CompletionHandler*, 256> handlers_{};
  uint64_t now_ms_ = 0;
  uint64_t probe_due_ns_ = 0;
};

}  // namespace ringchat::core
