#include "wire.h"

#include <array>
#include <bit>
#include <cstdint>
#include <cstring>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "ringchat/core/check.h"
#include "ringchat/ws/frame_encoder.h"

namespace ringchat::chat {
namespace {

// Every format is written twice by the same template code: once into a
// Measure, which only adds up sizes, and once into a Write of exactly that
// many bytes. So each buffer is allocated once, at its final size, and the
// bytes go straight into it (for a frame, after the header, whose length
// depends on the payload's).

constexpr char kHex[] = "0123456789abcdef";
constexpr char kBase64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr size_t base64_size(size_t n) { return (n + 2) / 3 * 4; }

// The two base64 digits of each 12-bit value: half the lookups of one digit
// a time, for an 8 KiB table.
constexpr auto kBase64Pairs = [] {
  std::array<char, 2 * 4096> t{};
  for (size_t i = 0; i < 4096; ++i) {
    t[2 * i] = kBase64[i >> 6];
    t[2 * i + 1] = kBase64[i & 63];
  }
  return t;
}();

constexpr size_t decimal_digits(uint64_t v) {
  for (size_t n = 1;; n += 4, v /= 10000) {
    if (v < 10) return n;
    if (v < 100) return n + 1;
    if (v < 1000) return n + 2;
    if (v < 10000) return n + 3;
  }
}

// "00" "01" ... "99": two digits a step.
constexpr auto kDigitPairs = [] {
  std::array<char, 200> t{};
  for (size_t i = 0; i < 100; ++i) {
    t[2 * i] = static_cast<char>('0' + i / 10);
    t[2 * i + 1] = static_cast<char>('0' + i % 10);
  }
  return t;
}();

struct Measure {
  size_t n = 0;
  void raw(std::string_view s) { n += s.size(); }
  void ch(char) { ++n; }
  void num(uint64_t v) { n += decimal_digits(v); }
  void hex16(uint64_t) { n += 16; }
  void base64(std::span<const std::byte> b) { n += base64_size(b.size()); }
};

struct Write {
  char* p;
  void raw(std::string_view s) {
    if (!s.empty()) std::memcpy(p, s.data(), s.size());
    p += s.size();
  }
  void ch(char c) { *p++ = c; }
  void num(uint64_t v);
  void hex16(uint64_t v) {
    for (int i = 15; i >= 0; --i, v >>= 4) p[i] = kHex[v & 15];
    p += 16;
  }
  void base64(std::span<const std::byte> bytes);
};

void Write::num(uint64_t v) {
  p += decimal_digits(v);
  char* q = p;
  for (; v >= 100; v /= 100) {
    q -= 2;
    std::memcpy(q, &kDigitPairs[2 * (v % 100)], 2);
  }
  if (v >= 10) {
    std::memcpy(q - 2, &kDigitPairs[2 * v], 2);
  } else {
    q[-1] = static_cast<char>('0' + v);
  }
}

// RFC 4648 §4, with padding. Writes through a local pointer: a store
// through char* could alias `p` itself, and the compiler would reload it.
void Write::base64(std::span<const std::byte> bytes) {
  char* q = p;
  const auto at = [&bytes](size_t i) { return std::to_integer<uint32_t>(bytes[i]); };
  size_t i = 0;
  // 6 bytes a step, from one big-endian 8-byte load.
  for (; i + 8 <= bytes.size(); i += 6, q += 8) {
    uint64_t w;
    std::memcpy(&w, bytes.data() + i, 8);
    if constexpr (std::endian::native == std::endian::little) w = __builtin_bswap64(w);
    for (int k = 0; k < 4; ++k) {
      std::memcpy(q + 2 * k, &kBase64Pairs[2 * ((w >> (52 - 12 * k)) & 0xfff)], 2);
    }
  }
  for (; i + 3 <= bytes.size(); i += 3, q += 4) {
    const uint32_t v = at(i) << 16 | at(i + 1) << 8 | at(i + 2);
    std::memcpy(q, &kBase64Pairs[2 * (v >> 12)], 2);
    std::memcpy(q + 2, &kBase64Pairs[2 * (v & 0xfff)], 2);
  }
  if (const size_t rest = bytes.size() - i; rest > 0) {
    const uint32_t v = at(i) << 16 | (rest == 2 ? at(i + 1) << 8 : 0);
    std::memcpy(q, &kBase64Pairs[2 * (v >> 12)], 2);
    q[2] = rest == 2 ? kBase64[(v >> 6) & 63] : '=';
    q[3] = '=';
    q += 4;
  }
  p = q;
}

// The scans over payload bytes (what to escape, where lines end) compare 64
// bytes a step with SSE2 where there is SSE2 (every x86-64), then 8 a step
// with plain integer operations.

// Byte-parallel tests on 8 bytes at once (the first byte in memory the least
// significant), giving the high bit of each byte that matches. A borrow can
// flag a byte that does not match, but only a more significant one than a
// byte that does, so the least significant flag is always a true match.
constexpr uint64_t kOnes = 0x0101010101010101;
constexpr uint64_t kHighs = 0x8080808080808080;
constexpr uint64_t below(uint64_t w, uint8_t n) { return (w - kOnes * n) & ~w & kHighs; }
constexpr uint64_t equal(uint64_t w, char c) {
  return below(w ^ (kOnes * static_cast<uint8_t>(c)), 1);
}

// RFC 8259 §7: '"', '\\' and U+0000..U+001F must be escaped.
struct ToEscape {
  static constexpr uint64_t word(uint64_t w) {
    return below(w, 0x20) | equal(w, '"') | equal(w, '\\');
  }
#ifdef __SSE2__
  static uint32_t block(__m128i v) {
    const __m128i control = _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x1f)), v);
    const __m128i quote = _mm_cmpeq_epi8(v, _mm_set1_epi8('"'));
    const __m128i backslash = _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'));
    return static_cast<uint32_t>(
        _mm_movemask_epi8(_mm_or_si128(control, _mm_or_si128(quote, backslash))));
  }
#endif
};

// WHATWG HTML §9.2.6: CR and LF end lines.
struct LineBreaks {
  static constexpr uint64_t word(uint64_t w) { return equal(w, '\r') | equal(w, '\n'); }
#ifdef __SSE2__
  static uint32_t block(__m128i v) {
    const __m128i cr = _mm_cmpeq_epi8(v, _mm_set1_epi8('\r'));
    const __m128i lf = _mm_cmpeq_epi8(v, _mm_set1_epi8('\n'));
    return static_cast<uint32_t>(_mm_movemask_epi8(_mm_or_si128(cr, lf)));
  }
#endif
};

// The `n` bytes at `p` (all 8 if there are more) as a word, the first the
// least significant, the rest of it `pad`. Fixed-size copies: no call to
// memcpy.
uint64_t load_word(const char* p, size_t n, uint64_t pad) {
  char b[8];
  std::memcpy(b, &pad, 8);
  if (n >= 8) {
    std::memcpy(b, p, 8);
  } else {
    size_t k = 0;
    if (n & 4) {
      std::memcpy(b, p, 4);
      k = 4;
    }
    if (n & 2) {
      std::memcpy(b + k, p + k, 2);
      k += 2;
    }
    if (n & 1) b[k] = p[k];
  }
  uint64_t w;
  std::memcpy(&w, b, 8);
  if constexpr (std::endian::native == std::endian::big) w = __builtin_bswap64(w);
  return w;
}

// Calls fn(j) for each index j of `s` that `Scan` flags, in order.
template <class Scan, class Fn>
void for_each_hit(std::string_view s, Fn&& fn) {
  size_t i = 0;
#ifdef __SSE2__
  const auto flags = [&s](size_t at) {
    return Scan::block(_mm_loadu_si128(reinterpret_cast<const __m128i*>(s.data() + at)));
  };
  for (; i + 64 <= s.size(); i += 64) {
    uint64_t hits = uint64_t{flags(i)} | uint64_t{flags(i + 16)} << 16 |
                    uint64_t{flags(i + 32)} << 32 | uint64_t{flags(i + 48)} << 48;
    for (; hits != 0; hits &= hits - 1) fn(i + static_cast<size_t>(std::countr_zero(hits)));
  }
  for (; i + 16 <= s.size(); i += 16) {
    for (uint32_t hits = flags(i); hits != 0; hits &= hits - 1) {
      fn(i + static_cast<size_t>(std::countr_zero(hits)));
    }
  }
#endif
  // 8 bytes a step; the last partial word padded with a byte no scan flags.
  // Only the lowest flag of a word is sure, so the scan resumes after it.
  constexpr uint64_t kPad = kOnes * 'a';
  static_assert(Scan::word(kPad) == 0);
  while (i < s.size()) {
    const uint64_t hits = Scan::word(load_word(s.data() + i, s.size() - i, kPad));
    if (hits == 0) {
      i += 8;
      continue;
    }
    i += static_cast<size_t>(std::countr_zero(hits) / 8);
    fn(i++);
  }
}

std::string_view text_of(std::span<const std::byte> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

template <class Out>
void put_json_string(Out& out, std::string_view s) {
  out.ch('"');
  size_t done = 0;  // bytes of `s` written
  for_each_hit<ToEscape>(s, [&](size_t j) {
    out.raw(s.substr(done, j - done));
    const auto c = static_cast<uint8_t>(s[j]);
    if (c < 0x20) {
      const char esc[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 15]};
      out.raw({esc, sizeof(esc)});
    } else {
      out.ch('\\');
      out.ch(s[j]);
    }
    done = j + 1;
  });
  out.raw(s.substr(done));
  out.ch('"');
}

// A connection's id: SHARD-SLOT-GEN, NODE-SHARD-SLOT-GEN in cluster mode.
template <class Out>
void put_from(Out& out, const Sender& s, uint32_t node) {
  if (node != 0) {
    out.num(node);
    out.ch('-');
  }
  out.num(s.shard);
  out.ch('-');
  out.num(s.slot);
  out.ch('-');
  out.num(s.gen);
}

template <class Out>
void put_member(Out& out, const Present& m) {
  out.raw("{\"id\":\"");
  put_from(out, m.who, m.node);
  out.ch('"');
  if (!m.user.empty()) {
    out.raw(",\"user\":");
    put_json_string(out, m.user);
  }
  out.ch('}');
}

// ,"data":... or ,"data_base64":"..." (a JSON payload is a validated value:
// it goes in as it is).
template <class Out>
void put_data(Out& out, const Message& m) {
  switch (m.kind) {
    case Kind::kJson:
      out.raw(",\"data\":");
      out.raw(text_of(m.payload));
      return;
    case Kind::kText:
      out.raw(",\"data\":");
      put_json_string(out, text_of(m.payload));
      return;
    case Kind::kBinary:
      out.raw(",\"data_base64\":\"");
      out.base64(m.payload);
      out.ch('"');
      return;
  }
}

// "seq":N,"ts":MS,"from":"ID",DATA: what history reads and the envelope share.
template <class Out>
void put_fields(Out& out, const Message& m) {
  out.raw("\"seq\":");
  out.num(m.seq);
  out.raw(",\"ts\":");
  out.num(m.ts_ms);
  out.raw(",\"from\":");
  if (m.user.empty()) {
    out.ch('"');
    put_from(out, m.from, m.node);
    out.ch('"');
  } else {
    put_json_string(out, m.user);
  }
  put_data(out, m);
}

// {"seq":N,...,DATA}: a message in a history answer.
template <class Out>
void put_object(Out& out, const Message& m) {
  out.ch('{');
  put_fields(out, m);
  out.ch('}');
}

template <class Out>
void put_envelope(Out& out, const Message& m) {
  out.raw("{\"type\":\"msg\",\"room\":");
  put_json_string(out, m.room);
  out.ch(',');
  put_fields(out, m);
  out.ch('}');
}

// WHATWG HTML §9.2.6: a line ends at CRLF, LF or CR, and the parser strips
// one space after "data:". Every line of `s` gets its own field, so none can
// be read as another field or as the blank line that ends the event.
template <class Out>
void put_sse_data(Out& out, std::string_view s) {
  size_t done = 0;  // bytes of `s` written or skipped
  for_each_hit<LineBreaks>(s, [&](size_t j) {
    if (j < done) return;  // the LF of a CRLF
    out.raw("data: ");
    out.raw(s.substr(done, j - done));
    out.ch('\n');
    done = j + 1;
    if (s[j] == '\r' && done < s.size() && s[done] == '\n') ++done;
  });
  out.raw("data: ");
  out.raw(s.substr(done));
  out.ch('\n');
}

template <class Out>
void put_sse_event(Out& out, const Message& m) {
  out.raw("id: ");
  out.hex16(m.epoch);
  out.ch(':');
  out.num(m.seq);
  out.ch('\n');
  if (m.kind == Kind::kBinary) {
    out.raw("event: binary\ndata: ");
    out.base64(m.payload);
    out.ch('\n');
  } else {
    put_sse_data(out, text_of(m.payload));
  }
  out.ch('\n');
}

template <class Put>
size_t measure(const Put& put) {
  Measure m;
  put(m);
  return m.n;
}

template <class Put>
void write_exact(char* dst, size_t len, const Put& put) {
  Write w{dst};
  put(w);
  RC_CHECK(w.p == dst + len);
}

template <class Put>
void append_exact(std::string& out, const Put& put) {
  const size_t len = measure(put);
  const size_t start = out.size();
  out.resize(start + len);
  write_exact(out.data() + start, len, put);
}

net::SharedBuf* json_frame(const Message& m) {
  const auto put = [&m](auto& out) { put_envelope(out, m); };
  const size_t len = measure(put);
  std::array<std::byte, ws::kMaxHeaderBytes> hdr;
  const size_t n = ws::encode_header(hdr, ws::Opcode::kText, len);
  net::SharedBuf* b = net::SharedBuf::create(n + len);
  std::memcpy(b->data(), hdr.data(), n);
  write_exact(reinterpret_cast<char*>(b->data() + n), len, put);
  return b;
}

net::SharedBuf* sse_event(const Message& m) {
  const auto put = [&m](auto& out) { put_sse_event(out, m); };
  const size_t len = measure(put);
  net::SharedBuf* b = net::SharedBuf::create(len);
  write_exact(reinterpret_cast<char*>(b->data()), len, put);
  return b;
}

}  // namespace

net::SharedBuf* encode(Format f, const Message& m) {
  switch (f) {
    case Format::kRawWs:
      // A raw room socket gets the payload as it was sent: text (JSON is
      // text) or binary.
      return ws::make_server_frame(
          m.kind == Kind::kBinary ? ws::Opcode::kBinary : ws::Opcode::kText, m.payload);
    case Format::kJsonWs:
      return json_frame(m);
    case Format::kSse:
      return sse_event(m);
  }
  return nullptr;
}

void append_member(std::string& out, const Present& member) {
  append_exact(out, [&member](auto& o) { put_member(o, member); });
}

void append_members(std::string& out, std::span<const Present> members) {
  append_exact(out, [members](auto& o) {
    o.ch('[');
    for (size_t i = 0; i < members.size(); ++i) {
      if (i > 0) o.ch(',');
      put_member(o, members[i]);
    }
    o.ch(']');
  });
}

void append_json_string(std::string& out, std::string_view s) {
  append_exact(out, [s](auto& o) { put_json_string(o, s); });
}

void append_base64(std::string& out, std::span<const std::byte> bytes) {
  append_exact(out, [bytes](auto& o) { o.base64(bytes); });
}

void append_json(std::string& out, const Message& m) {
  append_exact(out, [&m](auto& o) { put_object(o, m); });
}

void append_messages(std::string& out, std::span<Sequenced* const> msgs) {
  append_exact(out, [msgs](auto& o) {
    o.ch('[');
    for (size_t i = 0; i < msgs.size(); ++i) {
      if (i > 0) o.ch(',');
      put_object(o, msgs[i]->message());
    }
    o.ch(']');
  });
}

std::string error_body(std::string_view code, std::string_view reason) {
  std::string body = R"({"code":)";
  append_json_string(body, code);
  body += R"(,"reason":)";
  append_json_string(body, reason);
  body += "}\n";
  return body;
}

}  // namespace ringchat::chat
