#pragma once
#include <cstdint>
#include <optional>
#include <string_view>

#include "backoff.h"

namespace ringchat::ringload {

// A draining server's "come back in N ms" (docs/PROTOCOL.md): the WebSocket
// close reason is exactly `draining; retry_ms=<N>`; the JSON socket's
// `{"type":"draining","retry_ms":N}` and the SSE `event: draining` data
// `{"retry_ms":N}` are read by EnvelopeParser (Envelope::retry_ms).
// The largest hint taken; a bigger one is not a hint ringload honours.
inline constexpr uint64_t kMaxRetryHintMs = 3'600'000;

// The hint in a close frame's reason; nullopt for any other reason (an
// older server's "server shutting down", a hint out of range, extra text).
std::optional<uint32_t> parse_drain_reason(std::string_view reason);

// How long a client waits before its next attempt: the server's hint when
// it gave one (it already spread its clients' hints with jitter), else the
// exponential backoff with full jitter for `attempt` (`r`: a uniform random
// number).
uint64_t reconnect_delay_ns(const Backoff& backoff, int attempt, std::optional<uint32_t> hint_ms,
                            uint64_t r);

}  // namespace ringchat::ringload
