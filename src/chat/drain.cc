#include "ringchat/chat/drain.h"

namespace ringchat::chat {

DrainPlan::DrainPlan(uint64_t start_ms, uint64_t drain_timeout_ms, size_t count, uint64_t seed)
    : start_ms_(start_ms),
      timeout_ms_(drain_timeout_ms),
      window_ms_(drain_timeout_ms * kSpreadPercent / 100),
      jitter_ms_(std::max(drain_timeout_ms, kMinJitterMs)),
      count_(count),
      rng_(seed) {
  // One batch per kMinBatch goodbyes, at most one per tick of the window,
  // at least one: few connections or a short window close at once.
  const size_t by_count = (count + kMinBatch - 1) / kMinBatch;
  const size_t by_time = static_cast<size_t>(window_ms_ / kTickMs);
  batches_ = std::max<size_t>(1, std::min(by_count, by_time));
}

size_t DrainPlan::batch_at(uint64_t now_ms) const {
  if (batches_ == 1 || now_ms <= start_ms_) return 0;
  // Batch k is due once (now - start) * (B-1) >= k * window.
  const uint64_t k = (now_ms - start_ms_) * (batches_ - 1) / window_ms_;
  return static_cast<size_t>(std::min<uint64_t>(k, batches_ - 1));
}

size_t DrainPlan::due(uint64_t now_ms) const {
  // Batch k closes goodbyes up to (k+1) * N / B: the last one ends at N.
  return (batch_at(now_ms) + 1) * count_ / batches_;
}

std::optional<uint64_t> DrainPlan::next_batch_ms(uint64_t now_ms) const {
  const size_t next = batch_at(now_ms) + 1;
  if (next >= batches_) return std::nullopt;
  // The first ms at which (now - start) * (B-1) >= next * window.
  return start_ms_ + (next * window_ms_ + batches_ - 2) / (batches_ - 1);
}

uint64_t DrainPlan::retry_ms(uint64_t now_ms) {
  const uint64_t deadline = start_ms_ + timeout_ms_;
  const uint64_t until_gone = deadline > now_ms ? deadline - now_ms : 0;
  std::uniform_int_distribution<uint64_t> jitter(0, jitter_ms_ - 1);
  return until_gone + jitter(rng_);
}

std::string drain_close_reason(uint64_t retry_ms) {
  return "draining; retry_ms=" + std::to_string(retry_ms);
}

std::string drain_json(uint64_t retry_ms) {
  return R"({"type":"draining","retry_ms":)" + std::to_string(retry_ms) + "}";
}

std::string drain_sse(uint64_t retry_ms) {
  const std::string n = std::to_string(retry_ms);
  return "retry: " + n + "\n\nevent: draining\ndata: {\"retry_ms\":" + n + "}\n\n";
}

}  // namespace ringchat::chat
