#include "payload.h"

#include <array>

namespace ringchat::ringload {
namespace {

constexpr std::string_view kDigits =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_";

// Digit values by byte, -1 for bytes that are not digits.
constexpr std::array<int8_t, 256> kValues = [] {
  std::array<int8_t, 256> t{};
  t.fill(-1);
  for (size_t i = 0; i < kDigits.size(); ++i)
    t[static_cast<unsigned char>(kDigits[i])] = static_cast<int8_t>(i);
  return t;
}();

int digit_value(char c) { return kValues[static_cast<unsigned char>(c)]; }

size_t digits_of(uint64_t v) {
  size_t n = 1;
  while (v >= 64) {
    v >>= 6;
    ++n;
  }
  return n;
}

void append_number(std::string& out, uint64_t v) {
  char buf[11];
  size_t n = 0;
  do {
    buf[n++] = kDigits[v & 63];
    v >>= 6;
  } while (v != 0);
  while (n > 0) out.push_back(buf[--n]);
}

// Parses one number ended by `end`; advances `pos` past the terminator.
std::optional<uint64_t> parse_number(std::string_view text, size_t& pos, char end) {
  uint64_t v = 0;
  size_t n = 0;
  for (; pos < text.size() && text[pos] != end; ++pos, ++n) {
    const int d = digit_value(text[pos]);
    if (d < 0 || n >= 11 || (n == 10 && v >= (uint64_t{1} << 58))) return std::nullopt;
    v = (v << 6) | static_cast<uint64_t>(d);
  }
  if (n == 0 || pos >= text.size()) return std::nullopt;
  ++pos;
  return v;
}

}  // namespace

size_t encoded_fields_size(const PayloadFields& f) {
  return digits_of(f.send_ns) + digits_of(f.sender) + digits_of(f.seq) + 3;
}

void encode_payload(std::string& out, const PayloadFields& f, size_t size) {
  const size_t start = out.size();
  append_number(out, f.send_ns);
  out.push_back('.');
  append_number(out, f.sender);
  out.push_back('.');
  append_number(out, f.seq);
  out.push_back(';');
  const size_t written = out.size() - start;
  if (written < size) out.append(size - written, 'x');
}

std::optional<PayloadFields> decode_payload(std::string_view text) {
  size_t pos = 0;
  auto t = parse_number(text, pos, '.');
  if (!t) return std::nullopt;
  auto s = parse_number(text, pos, '.');
  if (!s) return std::nullopt;
  auto q = parse_number(text, pos, ';');
  if (!q) return std::nullopt;
  return PayloadFields{*t, *s, *q};
}

}  // namespace ringchat::ringload
