#include "drain_hint.h"

#include <charconv>

namespace ringchat::ringload {

std::optional<uint32_t> parse_drain_reason(std::string_view reason) {
  constexpr std::string_view kPrefix = "draining; retry_ms=";
  if (!reason.starts_with(kPrefix)) return std::nullopt;
  const std::string_view digits = reason.substr(kPrefix.size());
  // Decimal digits only: from_chars would also take a sign or stop early.
  if (digits.empty() || digits.size() > 10) return std::nullopt;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  uint64_t v = 0;
  std::from_chars(digits.data(), digits.data() + digits.size(), v);
  if (v > kMaxRetryHintMs) return std::nullopt;
  return static_cast<uint32_t>(v);
}

uint64_t reconnect_delay_ns(const Backoff& backoff, int attempt, std::optional<uint32_t> hint_ms,
                            uint64_t r) {
  if (hint_ms) return uint64_t{*hint_ms} * 1'000'000;
  return backoff.delay(attempt, r);
}

}  // namespace ringchat::ringload
