#include "ringchat/core/event_loop.h"

#include <cerrno>
#include <cstring>

#include "ringchat/core/check.h"

namespace ringchat::core {

EventLoop::EventLoop() : timers_(kTickMs, kWheelSlots, monotonic_ms()) {}

Result<void, std::string> EventLoop::init(const ReactorOptions& opts, std::string* how) {
  auto r = reactor_.init(opts, how);
  if (!r) {
    return Err(std::string("io_uring setup failed (") + std::string(to_string(r.error())) +
               "): " + std::strerror(errno));
  }
  return {};
}

bool EventLoop::run(TurnHooks& hooks) {
  now_ms_ = monotonic_ms();
  probe_due_ns_ = monotonic_ns() + kLagProbeMs * 1'000'000;
  while (!hooks.finished()) {
    auto next = timers_.next_timeout_ms(now_ms_);
    int64_t timeout = hooks.before_sleep(next ? static_cast<int64_t>(*next) : -1);
    int64_t timeout_ns = timeout < 0 ? -1 : timeout * 1'000'000;
    if (timeout_ns != 0) {
      // Asleep no later than the probe is due.
      const uint64_t now = monotonic_ns();
      const int64_t until_probe =
          probe_due_ns_ > now ? static_cast<int64_t>(probe_due_ns_ - now) : 0;
      if (timeout_ns < 0 || until_probe < timeout_ns) timeout_ns = until_probe;
    }
    const unsigned submitted = io_uring_sq_ready(reactor_.ring());
    if (!reactor_.submit_and_wait_ns(timeout_ns)) return false;
    now_ms_ = monotonic_ms();
    hooks.woke();
    const uint64_t now_ns = monotonic_ns();
    int64_t lag_ns = -1;
    if (now_ns >= probe_due_ns_) {
      lag_ns = static_cast<int64_t>(now_ns - probe_due_ns_);
      probe_due_ns_ = now_ns + kLagProbeMs * 1'000'000;
    }
    hooks.turned(submitted, lag_ns);
    // First: the wheel measures new delays from its last advance, and the
    // loop may have slept for any length of time.
    timers_.advance(now_ms_, [&](TimerNode& n) {
      hooks.on_timer(n);
      hooks.after_event();
    });
    reap(hooks);
    hooks.end_turn();
  }
  return true;
}

void EventLoop::reap(TurnHooks& hooks) {
  io_uring* ring = reactor_.ring();
  io_uring_cqe* cqe;
  unsigned head;
  unsigned n = 0;
  io_uring_for_each_cqe(ring, head, cqe) {
    const Tag tag = unpack(cqe->user_data);
    if (CompletionHandler* h = handlers_[static_cast<size_t>(tag.op)]) {
      h->on_completion(cqe, tag);
    }
    // Whatever the handler did, the buffer goes back afterwards.
    if (cqe->flags & IORING_CQE_F_BUFFER) {
      reactor_.recycle(static_cast<uint16_t>(cqe->flags >> IORING_CQE_BUFFER_SHIFT));
    }
    hooks.after_event();
    if (++n == kMaxCqesPerTurn) break;
  }
  io_uring_cq_advance(ring, n);
}

}  // namespace ringchat::core
