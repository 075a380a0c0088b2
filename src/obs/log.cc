#include "ringchat/obs/log.h"

#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <memory>

namespace ringchat::obs {

namespace {
std::atomic<Level> g_level{Level::kInfo};
std::atomic<Format> g_format{Format::kText};
std::atomic<int> g_fd{2};
thread_local int t_shard = -1;

// Lines are built in a per-thread buffer. A field's value may itself log
// while its line is being built (it is evaluated after the Line exists), so
// there are two; a third line at once gets its own from the heap.
constexpr uint8_t kSlots = 2;
constexpr uint8_t kHeapSlot = kSlots;
thread_local char t_bufs[kSlots][Line::kMaxLine];
thread_local uint8_t t_in_use = 0;
// Bytes kept free for what ends a line (" truncated=true", "}\n").
constexpr size_t kTail = 32;
constexpr size_t kMaxMessage = 1024;

const char* upper_name(Level l) {
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

const char* lower_name(Level l) {
  switch (l) {
    case Level::kDebug:
      return "debug";
    case Level::kInfo:
      return "info";
    case Level::kWarn:
      return "warn";
    case Level::kError:
      return "error";
  }
  return "?";
}

// "2026-11-29T01:02:03.456Z" into `out` (at least 32 bytes).
void timestamp(char* out) {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  tm utc{};
  gmtime_r(&ts.tv_sec, &utc);
  const size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &utc);
  snprintf(out + n, 32 - n, ".%03ldZ", ts.tv_nsec / 1000000);
}

// Length of the valid UTF-8 sequence at s[0] (RFC 3629: no overlongs, no
// surrogates, nothing past U+10FFFF), or 0 if it is not one.
size_t utf8_length(std::string_view s) {
  const auto b = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
  const unsigned char c = b(0);
  size_t n = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // bounds of the second byte
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (s.size() < n || b(1) < lo || b(1) > hi) return 0;
  for (size_t i = 2; i < n; ++i) {
    if (b(i) < 0x80 || b(i) > 0xBF) return 0;
  }
  return n;
}

// Whether logfmt must quote `v`: empty, or a byte that would end or split
// the value, or one that is not printable ASCII or valid UTF-8.
bool needs_quotes(std::string_view v) {
  if (v.empty()) return true;
  for (size_t i = 0; i < v.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(v[i]);
    if (c <= ' ' || c == '=' || c == '"' || c == '\\' || c == 0x7f) return true;
    if (c >= 0x80) {
      const size_t n = utf8_length(v.substr(i));
      if (n == 0) return true;
      i += n - 1;
    }
  }
  return false;
}

}  // namespace

void set_level(Level level) { g_level.store(level, std::memory_order_relaxed); }
bool enabled(Level level) { return level >= g_level.load(std::memory_order_relaxed); }
void set_format(Format f) { g_format.store(f, std::memory_order_relaxed); }
Format format() { return g_format.load(std::memory_order_relaxed); }
void set_thread_shard(int shard) { t_shard = shard; }
void set_log_fd(int fd) { g_fd.store(fd, std::memory_order_relaxed); }
void set_access_fd(int fd) { detail::access_fd.store(fd, std::memory_order_relaxed); }
int access_fd() { return detail::access_fd.load(std::memory_order_relaxed); }

std::optional<Level> level_named(std::string_view name) {
  for (Level l : {Level::kDebug, Level::kInfo, Level::kWarn, Level::kError}) {
    if (name == lower_name(l)) return l;
  }
  return std::nullopt;
}

std::optional<Format> format_named(std::string_view name) {
  if (name == "text") return Format::kText;
  if (name == "logfmt") return Format::kLogfmt;
  if (name == "json") return Format::kJson;
  return std::nullopt;
}

Line::Line(Level level, const char* fmt, ...) {
  begin(level, false);
  char msg[kMaxMessage];
  va_list ap;
  va_start(ap, fmt);
  const int n = vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  const std::string_view text(msg, n < 0 ? 0 : std::min<size_t>(size_t(n), sizeof(msg) - 1));
  if (format() != Format::kText) {
    key("msg");
    value_text(text);
    return;
  }
  // The human form: the message as it is, but a control byte (a newline in
  // a peer's path) cannot start a line of its own.
  put(' ');
  for (char c : text) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u != 0x7f) {
      put(c);
      continue;
    }
    char esc[8];
    snprintf(esc, sizeof(esc), "\\x%02x", u);
    put(esc);
  }
}

Line::Line(AccessTag) { begin(Level::kInfo, true); }

void Line::begin(Level level, bool access) {
  if (t_in_use < kSlots) {
    slot_ = t_in_use++;
    buf_ = t_bufs[slot_];
  } else {
    slot_ = kHeapSlot;
    buf_ = new char[kMaxLine];
  }
  limit_ = kMaxLine - kTail;
  fd_ = access ? detail::access_fd.load(std::memory_order_relaxed)
               : g_fd.load(std::memory_order_relaxed);
  char when[32];
  timestamp(when);
  char shard[16] = "";
  if (t_shard >= 0) snprintf(shard, sizeof(shard), "%d", t_shard);
  const char* what = access ? "ACCESS" : upper_name(level);
  switch (format()) {
    case Format::kText:
      put(when);
      put(' ');
      put(what);
      if (t_shard >= 0) {
        put(" [shard ");
        put(shard);
        put(']');
      }
      return;
    case Format::kLogfmt:
      put("ts=");
      put(when);
      if (!access) {
        put(" level=");
        put(lower_name(level));
      }
      break;
    case Format::kJson:
      put("{\"ts\":\"");
      put(when);
      put('"');
      if (!access) {
        put(",\"level\":\"");
        put(lower_name(level));
        put('"');
      }
      break;
  }
  if (t_shard >= 0) {
    key("shard");
    value_raw(shard);
  }
}

Line::~Line() {
  limit_ = kMaxLine;
  if (truncated_) {
    key("truncated");
    value_raw("true");
  }
  if (format() == Format::kJson) put('}');
  put('\n');
  // One write(2) per line: the kernel appends it whole (O_APPEND files,
  // and pipes for lines up to PIPE_BUF), so threads never interleave.
  for (size_t off = 0; off < len_ && fd_ >= 0;) {
    const ssize_t n = ::write(fd_, buf_ + off, len_ - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    off += size_t(n);
  }
  if (slot_ == kHeapSlot) {
    delete[] buf_;
  } else {
    --t_in_use;
  }
}

void Line::put(std::string_view bytes) {
  if (overflow_ || bytes.size() > limit_ - len_) {
    overflow_ = true;
    return;
  }
  std::memcpy(buf_ + len_, bytes.data(), bytes.size());
  len_ += bytes.size();
}

void Line::put(char c) { put(std::string_view(&c, 1)); }

bool Line::key(std::string_view k) {
  switch (format()) {
    case Format::kText:
    case Format::kLogfmt:
      put(' ');
      // Keys are ours; anything that would break the syntax becomes '_'.
      for (char c : k) put(c > ' ' && c != '=' && c != '"' && c != 0x7f ? c : '_');
      put('=');
      break;
    case Format::kJson:
      put(',');
      value_text(k);
      put(':');
      break;
  }
  return !overflow_;
}

void Line::value_raw(std::string_view v) { put(v); }

void Line::value_text(std::string_view v) {
  const bool json = format() == Format::kJson;
  const bool quote = json || needs_quotes(v);
  if (quote) put('"');
  for (size_t i = 0; i < v.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(v[i]);
    char esc[8];
    if (c >= 0x80) {
      const size_t n = utf8_length(v.substr(i));
      if (n > 0) {
        put(v.substr(i, n));
        i += n - 1;
        continue;
      }
      // Not UTF-8: JSON must stay valid text; logfmt keeps the byte's value.
      if (json) {
        put("\\ufffd");
      } else {
        snprintf(esc, sizeof(esc), "\\x%02x", c);
        put(esc);
      }
      continue;
    }
    switch (c) {
      case '"':
        put("\\\"");
        continue;
      case '\\':
        put("\\\\");
        continue;
      case '\n':
        put("\\n");
        continue;
      case '\r':
        put("\\r");
        continue;
      case '\t':
        put("\\t");
        continue;
      default:
        break;
    }
    if (c < 0x20 || c == 0x7f) {
      snprintf(esc, sizeof(esc), json ? "\\u%04x" : "\\x%02x", c);
      put(esc);
      continue;
    }
    put(static_cast<char>(c));
  }
  if (quote) put('"');
}

bool Line::end_field(size_t start) {
  if (!overflow_) return true;
  // The field did not fit: the line keeps what came before it.
  len_ = start;
  overflow_ = false;
  truncated_ = true;
  return false;
}

Line& Line::kv(std::string_view k, std::string_view v) {
  const size_t start = len_;
  if (key(k)) value_text(v);
  end_field(start);
  return *this;
}

Line& Line::kv_raw(std::string_view k, std::string_view v) {
  const size_t start = len_;
  if (key(k)) value_raw(v);
  end_field(start);
  return *this;
}

Line& Line::kv(std::string_view k, bool v) { return kv_raw(k, v ? "true" : "false"); }

Line& Line::kv(std::string_view k, double v) {
  char num[64];
  snprintf(num, sizeof(num), "%.3f", v);
  return kv_raw(k, num);
}

Line& Line::kv_int(std::string_view k, int64_t v) {
  char num[32];
  snprintf(num, sizeof(num), "%lld", static_cast<long long>(v));
  return kv_raw(k, num);
}

Line& Line::kv_uint(std::string_view k, uint64_t v) {
  char num[32];
  snprintf(num, sizeof(num), "%llu", static_cast<unsigned long long>(v));
  return kv_raw(k, num);
}

Line& Line::err(int errnum) {
  char text[128];
  // GNU strerror_r returns the text (maybe not in `text`); thread-safe.
  return kv("error", strerror_r(errnum, text, sizeof(text)));
}

void logf(Level level, const char* fmt, ...) {
  char msg[kMaxMessage];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  Line(level, "%s", msg);
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
