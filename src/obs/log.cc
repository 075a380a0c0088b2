#include "ringchat/obs/log.h"

#include <atomic>
#include <cstdarg>
#include <cstdio>
#include <ctime>

namespace ringchat::obs {

namespace {
std::atomic<Level> g_level{Level::kInfo};
thread_local int t_shard = -1;

const char* level_name(Level l) {
  switch (l) {
    case Level::kDebug:
      return "DEBUG";
    case Level::kInfo:
      return "INFO";
    case Level::kWarn:
      return "WARN";
    case Level::kError:
      return "ERROR";
  }
  return "?";
}
}  // namespace

void set_level(Level level) { g_level.store(level, std::memory_order_relaxed); }
bool enabled(Level level) { return level >= g_level.load(std::memory_order_relaxed); }
void set_thread_shard(int shard) { t_shard = shard; }

void logf(Level level, const char* fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  tm utc{};
  gmtime_r(&ts.tv_sec, &utc);
  char when[32];
  strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &utc);
  char who[24] = "";
  if (t_shard >= 0) snprintf(who, sizeof(who), " [shard %d]", t_shard);
  // One fprintf per line: stdio locks the stream, so lines never interleave.
  std::fprintf(stderr, "%s.%03ldZ %s%s %s\n", when, ts.tv_nsec / 1000000, level_name(level), who,
               msg);
}

bool RateLimit::allow(uint64_t* suppressed) {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  const uint64_t now = static_cast<uint64_t>(ts.tv_sec);
  std::lock_guard<std::mutex> lock(mu_);
  if (now != window_) {
    window_ = now;
    count_ = 0;
  }
  if (count_ < per_second_) {
    ++count_;
    *suppressed = dropped_;
    dropped_ = 0;
    return true;
  }
  ++dropped_;
  return false;
}

}  // namespace ringchat::obs
