#include "ringchat/redis/command.h"

#include <charconv>

#include "ringchat/core/check.h"

namespace ringchat::redis {
namespace {

size_t digits(size_t n) {
  size_t d = 1;
  while (n >= 10) {
    n /= 10;
    ++d;
  }
  return d;
}

void append_header(std::string& out, char kind, size_t n) {
  char buf[24];
  buf[0] = kind;
  auto [p, ec] = std::to_chars(buf + 1, buf + sizeof(buf) - 2, n);
  *p++ = '\r';
  *p++ = '\n';
  out.append(buf, static_cast<size_t>(p - buf));
}

}  // namespace

size_t command_size(std::span<const std::string_view> argv) {
  size_t n = 1 + digits(argv.size()) + 2;
  for (std::string_view a : argv) n += 1 + digits(a.size()) + 2 + a.size() + 2;
  return n;
}

// RESP2: a client sends a command as an array of bulk strings.
void append_command(std::string& out, std::span<const std::string_view> argv) {
  RC_CHECK(!argv.empty());
  out.reserve(out.size() + command_size(argv));
  append_header(out, '*', argv.size());
  for (std::string_view a : argv) {
    append_header(out, '$', a.size());
    out.append(a);
    out.append("\r\n", 2);
  }
}

}  // namespace ringchat::redis
