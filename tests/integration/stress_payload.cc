#include "stress_payload.h"

#include <xxhash.h>

#include <cinttypes>
#include <cstdio>
#include <cstring>

namespace ringchat::testing::stress {

namespace {

constexpr char kFiller = '~';

uint64_t splitmix(uint64_t& s) {
  uint64_t z = (s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xc0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xe0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  }
}

// Mostly ASCII, some of every longer encoding; never a surrogate.
uint32_t random_code_point(uint64_t r) {
  const uint32_t kind = static_cast<uint32_t>(r % 100);
  const uint32_t v = static_cast<uint32_t>(r >> 32);
  if (kind < 70) return 0x20 + v % 0x5f;
  if (kind < 85) return 0x80 + v % (0x800 - 0x80);
  if (kind < 95) {
    const uint32_t cp = 0x800 + v % (0x10000 - 0x800 - 0x800);
    return cp < 0xd800 ? cp : cp + 0x800;
  }
  return 0x10000 + v % (0x110000 - 0x10000);
}

bool is_continuation(char c) { return (static_cast<uint8_t>(c) & 0xc0) == 0x80; }

size_t sequence_length(char lead) {
  const auto b = static_cast<uint8_t>(lead);
  if (b < 0x80) return 1;
  if (b >= 0xf0) return 4;
  return b >= 0xe0 ? 3 : 2;
}

uint64_t checksum(const char* body, size_t n, MessageId id) {
  const uint64_t seed = (uint64_t{id.publisher} << 32) | id.counter;
  return XXH3_64bits_withSeed(body, n, seed);
}

// Parses exactly `n` lowercase hex digits.
bool parse_hex(const char* p, size_t n, uint64_t& out) {
  out = 0;
  for (size_t i = 0; i < n; ++i) {
    const char c = p[i];
    uint64_t d;
    if (c >= '0' && c <= '9') {
      d = static_cast<uint64_t>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      d = static_cast<uint64_t>(c - 'a' + 10);
    } else {
      return false;
    }
    out = out << 4 | d;
  }
  return true;
}

}  // namespace

PayloadPool::PayloadPool(uint64_t seed, size_t max_size) {
  uint64_t s = seed;
  const size_t want = max_size + 64;
  text_.reserve(want + 4);
  while (text_.size() < want) append_utf8(text_, random_code_point(splitmix(s)));
  binary_.resize(want);
  for (size_t i = 0; i + 8 <= want; i += 8) {
    const uint64_t r = splitmix(s);
    std::memcpy(binary_.data() + i, &r, 8);
  }
}

void PayloadPool::append(std::string& out, bool text, MessageId id, size_t size,
                         uint64_t pick) const {
  if (size < kHeaderBytes) {
    out.append(size, kFiller);
    return;
  }
  const size_t n = size - kHeaderBytes;
  const size_t header_at = out.size();
  out.resize(header_at + kHeaderBytes);
  if (text) {
    append_text_body(out, n, pick);
  } else {
    out.append(binary_, pick % (binary_.size() - n), n);
  }
  const uint64_t sum = checksum(out.data() + header_at + kHeaderBytes, n, id);
  // Publishers < 65536 and sizes < 4 GiB fill their fields exactly.
  char head[96];
  std::snprintf(head, sizeof(head), "%c%04x:%08x:%08zx:%016" PRIx64 "|", text ? 'T' : 'B',
                id.publisher & 0xffff, id.counter, size, sum);
  std::memcpy(out.data() + header_at, head, kHeaderBytes);
}

void PayloadPool::append_text_body(std::string& out, size_t n, uint64_t pick) const {
  // Start on a code point, and end on one: a sequence the slice cuts short
  // becomes ASCII, so the body is valid UTF-8 of exactly n bytes.
  size_t start = pick % (text_.size() - n - 4);
  while (is_continuation(text_[start])) ++start;
  const size_t at = out.size();
  out.append(text_, start, n);
  const size_t end = out.size();
  for (size_t i = end; i > at && end - i < 4;) {
    --i;
    if (is_continuation(out[i])) continue;
    if (i + sequence_length(out[i]) > end) std::memset(out.data() + i, '.', end - i);
    break;
  }
}

Verdict check_payload(bool text, std::span<const std::byte> payload) {
  Verdict v;
  const char* p = reinterpret_cast<const char*>(payload.data());
  const size_t size = payload.size();
  if (size < kHeaderBytes) {
    v.anonymous = true;
    for (size_t i = 0; i < size; ++i) {
      if (p[i] != kFiller) v.error = "filler message altered";
    }
    return v;
  }
  uint64_t pub, ctr, len, sum;
  if ((p[0] != 'T' && p[0] != 'B') || !parse_hex(p + 1, 4, pub) || p[5] != ':' ||
      !parse_hex(p + 6, 8, ctr) || p[14] != ':' || !parse_hex(p + 15, 8, len) || p[23] != ':' ||
      !parse_hex(p + 24, 16, sum) || p[40] != '|') {
    v.error = "header unreadable";
    return v;
  }
  v.id = {static_cast<uint32_t>(pub), static_cast<uint32_t>(ctr)};
  if ((p[0] == 'T') != text) {
    v.error = "opcode differs from the one published";
  } else if (len != size) {
    v.error = "length differs from the one published";
  } else if (checksum(p + kHeaderBytes, size - kHeaderBytes, v.id) != sum) {
    v.error = "checksum mismatch";
  }
  return v;
}

}  // namespace ringchat::testing::stress
