#pragma once
#include <cstdint>
#include <mutex>

namespace ringchat::obs {

enum class Level : uint8_t { kDebug, kInfo, kWarn, kError };

// Process-wide log threshold; set once at startup.
void set_level(Level level);
bool enabled(Level level);
// Writes one line to stderr: "2026-11-29T01:02:03.456Z INFO [shard 1] msg".
// The shard id comes from set_thread_shard() (-1: not a shard thread).
void logf(Level level, const char* fmt, ...) __attribute__((format(printf, 2, 3)));
void set_thread_shard(int shard);

// Allows at most `per_second` events a second per call site, counting the
// rest; used for errors a peer can provoke at will. Off the hot path (only
// reached when something is wrong), so a mutex keeps it simple and exact.
// Thread: any.
class RateLimit {
 public:
  explicit RateLimit(uint32_t per_second) : per_second_(per_second) {}
  // Returns true if this event may be logged; *suppressed gets how many were
  // dropped since the last one that was.
  bool allow(uint64_t* suppressed);

 private:
  uint32_t per_second_;
  std::mutex mu_;
  uint64_t window_ = 0;
  uint32_t count_ = 0;
  uint64_t dropped_ = 0;
};

}  // namespace ringchat::obs

#define RC_LOG(level, ...)                                                          \
  do {                                                                              \
    if (::ringchat::obs::enabled(level)) ::ringchat::obs::logf(level, __VA_ARGS__); \
  } while (0)
#define RC_INFO(...) RC_LOG(::ringchat::obs::Level::kInfo, __VA_ARGS__)
#define RC_WARN(...) RC_LOG(::ringchat::obs::Level::kWarn, __VA_ARGS__)
#define RC_ERROR(...) RC_LOG(::ringchat::obs::Level::kError, __VA_ARGS__)
// Rate-limited to 5 lines a second per call site.
#define RC_WARN_LIMITED(...)                          \
  do {                                                \
    static ::ringchat::obs::RateLimit rc_rl_(5);      \
    uint64_t rc_sup_ = 0;                             \
    if (rc_rl_.allow(&rc_sup_)) RC_WARN(__VA_ARGS__); \
  } while (0)
