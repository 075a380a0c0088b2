#pragma once
#include <atomic>
#include <concepts>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace ringchat::obs {

enum class Level : uint8_t { kDebug, kInfo, kWarn, kError };

// How lines are written (--log-format):
//   kText    2026-11-29T01:02:03.456Z INFO [shard 1] msg key=value
//   kLogfmt  ts=2026-11-29T01:02:03.456Z level=info shard=1 msg="..." key=value
//   kJson    {"ts":"2026-11-29T01:02:03.456Z","level":"info","shard":1,"msg":"...","key":"value"}
// The same keys in all three; `shard` is left out on threads that are not
// shards (main). Fields' values are quoted and escaped as the format needs
// (logfmt: a value with a space, '=', '"', a control byte or bytes that are
// not UTF-8 is quoted, with \" \\ \n \r \t \xHH escapes inside; JSON: RFC
// 8259 escapes, bytes that are not UTF-8 become U+FFFD), so one event is
// always one line.
enum class Format : uint8_t { kText, kLogfmt, kJson };

// Process-wide threshold and format; set once at startup, before shards.
void set_level(Level level);
bool enabled(Level level);
void set_format(Format format);
Format format();
// "debug", "info", "warn", "error" / "text", "logfmt", "json".
std::optional<Level> level_named(std::string_view name);
std::optional<Format> format_named(std::string_view name);
// The shard id lines name, for this thread (-1: not a shard thread).
void set_thread_shard(int shard);
// Where log lines go (default 2, stderr). Tests point it elsewhere.
void set_log_fd(int fd);

// The access log (--access-log): one line per HTTP request answered, in the
// same format, written to `fd` (opened O_APPEND by the caller; -1: off, the
// default). Set at startup, before shards; the fd is not owned (to point
// it at another file later, dup2 onto it).
void set_access_fd(int fd);
int access_fd();
namespace detail {
inline std::atomic<int> access_fd{-1};
}  // namespace detail
// Whether the access log is on: what its call sites branch on.
inline bool access_log_on() { return detail::access_fd.load(std::memory_order_relaxed) >= 0; }

// One log line being built: a printf-style message, then key/value fields,
// written with one write(2) when the Line is destroyed (at the end of the
// statement for the temporaries RC_INFO(...) and friends make), so lines
// from different threads never interleave. Built in a per-thread buffer (no
// allocation); a line over kMaxLine bytes keeps its first fields and says
// truncated=true, a message is cut at 1023 bytes.
//   RC_INFO("listening on %s:%u", addr, port).kv("event", "listen").kv("port", port);
// Thread: the one that made it.
class Line {
 public:
  static constexpr size_t kMaxLine = 16 << 10;
  struct AccessTag {};

  Line(Level level, const char* fmt, ...) __attribute__((format(printf, 3, 4)));
  // An access-log line: no level, no message; goes to the access fd.
  explicit Line(AccessTag);
  Line(const Line&) = delete;
  Line& operator=(const Line&) = delete;
  ~Line();

  Line& kv(std::string_view key, std::string_view value);
  Line& kv(std::string_view key, const char* value) {
    return kv(key, std::string_view(value ? value : ""));
  }
  Line& kv(std::string_view key, const std::string& value) {
    return kv(key, std::string_view(value));
  }
  Line& kv(std::string_view key, bool value);
  Line& kv(std::string_view key, double value);  // three decimals
  template <std::integral T>
  requires(!std::same_as<T, bool>) Line& kv(std::string_view key, T value) {
    if constexpr (std::is_signed_v<T>) {
      return kv_int(key, static_cast<int64_t>(value));
    } else {
      return kv_uint(key, static_cast<uint64_t>(value));
    }
  }
  // error="the errno text" (strerror of a positive errno).
  Line& err(int errnum);

 private:
  Line& kv_int(std::string_view key, int64_t value);
  Line& kv_uint(std::string_view key, uint64_t value);
  Line& kv_raw(std::string_view key, std::string_view value);  // a number or literal
  void begin(Level level, bool access);
  // Starts a field; its value is written next. False when the line is full.
  bool key(std::string_view key);
  void value_text(std::string_view value);  // quoted and escaped as needed
  void value_raw(std::string_view value);   // a number or a literal as it is
  void put(std::string_view bytes);
  void put(char c);
  bool end_field(size_t start);

  char* buf_;
  size_t len_ = 0;
  size_t limit_ = 0;  // where fields stop: room is kept for the line's end
  int fd_ = 2;
  uint8_t slot_ = 0;  // the per-thread buffer in use (kHeapSlot: own)
  bool overflow_ = false;
  bool truncated_ = false;
};

// Makes the `cond ? (void)0 : LineEnd() & Line(...)...` of the macros a
// void expression; the Line writes itself when the statement ends.
struct LineEnd {
  void operator&(const Line&) const {}
};

// Writes one line (tests and callers without macros; the macros skip
// formatting when `level` is off).
void logf(Level level, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

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
  bool allow() {
    uint64_t suppressed = 0;
    return allow(&suppressed);
  }

 private:
  uint32_t per_second_;
  std::mutex mu_;
  uint64_t window_ = 0;
  uint32_t count_ = 0;
  uint64_t dropped_ = 0;
};

}  // namespace ringchat::obs

// A line at `level`: printf-style message, then `.kv(key, value)` fields.
// Below the threshold nothing is evaluated (neither the arguments nor the
// fields): the cost is one branch.
#define RC_LOG(level, ...)         \
  !::ringchat::obs::enabled(level) \
      ? (void)0                    \
      : ::ringchat::obs::LineEnd() & ::ringchat::obs::Line(level, __VA_ARGS__)
#define RC_DEBUG(...) RC_LOG(::ringchat::obs::Level::kDebug, __VA_ARGS__)
#define RC_INFO(...) RC_LOG(::ringchat::obs::Level::kInfo, __VA_ARGS__)
#define RC_WARN(...) RC_LOG(::ringchat::obs::Level::kWarn, __VA_ARGS__)
#define RC_ERROR(...) RC_LOG(::ringchat::obs::Level::kError, __VA_ARGS__)
// Rate-limited to 5 lines a second per call site (the lambda makes one
// static RateLimit per expansion); takes fields like RC_WARN.
#define RC_WARN_LIMITED(...)                                   \
  !(::ringchat::obs::enabled(::ringchat::obs::Level::kWarn) && \
        []() -> ::ringchat::obs::RateLimit& {                  \
    static ::ringchat::obs::RateLimit rc_rl_(5);               \
    return rc_rl_;                                             \
  }()                                                          \
                    .allow())                                  \
      ? (void)0                                                \
      : ::ringchat::obs::LineEnd() &                           \
            ::ringchat::obs::Line(::ringchat::obs::Level::kWarn, __VA_ARGS__)
// An access-log line: `.kv()` its fields. Nothing is evaluated when the
// access log is off.
#define RC_ACCESS()                 \
  !::ringchat::obs::access_log_on() \
      ? (void)0                     \
      : ::ringchat::obs::LineEnd() & ::ringchat::obs::Line(::ringchat::obs::Line::AccessTag{})
