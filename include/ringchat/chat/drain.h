#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace ringchat::chat {

// How one shard spreads its goodbyes over a drain, and when it tells each
// client to come back. Pure: no I/O, no clock of its own (times are the
// shard's monotonic ms).
//
// Pacing. The goodbyes are said in batches over the first kSpreadPercent of
// --drain-timeout, the window (the rest leaves time for the closing
// handshakes): batch k of B at start + k * window / (B-1), so the first
// goes at once and the last at the end of the window. B is one batch per
// kMinBatch connections (rounded up), at most one per kTickMs of the
// window: a window under two ticks, or at most kMinBatch connections, says
// every goodbye at once. Batch k ends with goodbye (k+1) * N / B.
//
// The hint. A client told goodbye at `now` is told to wait
//   retry_ms = (start + drain_timeout - now) + U[0, J),  J = max(drain_timeout, kMinJitterMs)
// drawn per connection, uniformly: whenever it was closed, it comes back
// at a moment uniform in [start + drain_timeout, start + drain_timeout + J),
// after this server is gone for sure, and reconnects arrive at about the
// rate the goodbyes left.
// Thread: owner shard only.
class DrainPlan {
 public:
  static constexpr uint64_t kTickMs = 50;
  static constexpr size_t kMinBatch = 8;
  static constexpr uint64_t kSpreadPercent = 80;
  static constexpr uint64_t kMinJitterMs = 1000;

  // A drain that began at `start_ms` with `drain_timeout_ms` to go, for
  // `count` goodbyes; `seed` seeds the order and the jitter.
  DrainPlan(uint64_t start_ms, uint64_t drain_timeout_ms, size_t count, uint64_t seed);

  // How many goodbyes are due by `now_ms`: never fewer as time goes on, all
  // of them by the end of the window.
  size_t due(uint64_t now_ms) const;
  // When the next batch is due after `now_ms`; nullopt once all are.
  std::optional<uint64_t> next_batch_ms(uint64_t now_ms) const;
  // The reconnect delay for a client told goodbye at `now_ms` (the rule above).
  uint64_t retry_ms(uint64_t now_ms);
  // The order to say goodbyes in: a uniform shuffle, so no room, protocol
  // or age of connection always goes first.
  template <typename T>
  void shuffle(std::vector<T>& v) {
    std::shuffle(v.begin(), v.end(), rng_);
  }

  size_t count() const { return count_; }
  size_t batches() const { return batches_; }
  uint64_t window_ms() const { return window_ms_; }
  uint64_t deadline_ms() const { return start_ms_ + timeout_ms_; }
  // The largest retry_ms() can be told: timeout plus jitter window.
  uint64_t max_retry_ms() const { return timeout_ms_ + jitter_ms_; }

 private:
  size_t batch_at(uint64_t now_ms) const;  // the last batch due by now_ms

  uint64_t start_ms_;
  uint64_t timeout_ms_;
  uint64_t window_ms_;
  uint64_t jitter_ms_;
  size_t count_;
  size_t batches_;
  std::mt19937_64 rng_;
};

// The goodbye's wire formats (docs/PROTOCOL.md, "Draining"). Fixed: clients
// parse them.
// The WebSocket close reason (with code 1001): `draining; retry_ms=<N>`.
std::string drain_close_reason(uint64_t retry_ms);
// A JSON socket's last message, before the close frame:
// `{"type":"draining","retry_ms":<N>}`.
std::string drain_json(uint64_t retry_ms);
// An SSE stream's last bytes: `retry: <N>` and an `event: draining` with
// `data: {"retry_ms":<N>}`.
std::string drain_sse(uint64_t retry_ms);

}  // namespace ringchat::chat
