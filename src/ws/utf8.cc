#include "ringchat/ws/utf8.h"

#include <array>
#include <cstring>

namespace ringchat::ws {
namespace {

// DFA states. Each names what the next byte must be (RFC 3629 §4 table).
enum State : uint8_t {
  kAccept,   // between code points
  kNeed1,    // one more 80..BF
  kNeed2,    // two more 80..BF
  kNeed3,    // three more 80..BF
  kAfterE0,  // A0..BF, then one more (rejects overlong 3-byte forms)
  kAfterED,  // 80..9F, then one more (rejects surrogates)
  kAfterF0,  // 90..BF, then two more (rejects overlong 4-byte forms)
  kAfterF4,  // 80..8F, then two more (rejects > U+10FFFF)
  kReject,   // absorbing
  kStateCount,
};

// Byte classes: bytes that every state treats alike.
enum Class : uint8_t {
  kAscii,   // 00..7F
  kCont8,   // 80..8F
  kCont9,   // 90..9F
  kContA,   // A0..BF
  kBad,     // C0, C1, F5..FF: never valid
  kLead2,   // C2..DF
  kLeadE0,  // E0
  kLead3,   // E1..EC, EE..EF
  kLeadED,  // ED
  kLeadF0,  // F0
  kLead4,   // F1..F3
  kLeadF4,  // F4
  kClassCount,
};

constexpr Class class_of(unsigned b) {
  if (b < 0x80) return kAscii;
  if (b < 0x90) return kCont8;
  if (b < 0xA0) return kCont9;
  if (b < 0xC0) return kContA;
  if (b < 0xC2) return kBad;
  if (b < 0xE0) return kLead2;
  if (b == 0xE0) return kLeadE0;
  if (b == 0xED) return kLeadED;
  if (b < 0xF0) return kLead3;
  if (b == 0xF0) return kLeadF0;
  if (b < 0xF4) return kLead4;
  if (b == 0xF4) return kLeadF4;
  return kBad;
}

constexpr State from_accept(Class c) {
  switch (c) {
    case kAscii: return kAccept;
    case kLead2: return kNeed1;
    case kLeadE0: return kAfterE0;
    case kLead3: return kNeed2;
    case kLeadED: return kAfterED;
    case kLeadF0: return kAfterF0;
    case kLead4: return kNeed3;
    case kLeadF4: return kAfterF4;
    default: return kReject;
  }
}

constexpr State step(State s, Class c) {
  const bool cont = c == kCont8 || c == kCont9 || c == kContA;
  switch (s) {
    case kAccept: return from_accept(c);
    case kNeed1: return cont ? kAccept : kReject;
    case kNeed2: return cont ? kNeed1 : kReject;
    case kNeed3: return cont ? kNeed2 : kReject;
    case kAfterE0: return c == kContA ? kNeed1 : kReject;
    case kAfterED: return (c == kCont8 || c == kCont9) ? kNeed1 : kReject;
    case kAfterF0: return (c == kCont9 || c == kContA) ? kNeed2 : kReject;
    case kAfterF4: return c == kCont8 ? kNeed2 : kReject;
    default: return kReject;
  }
}

constexpr auto kClassOf = [] {
  std::array<uint8_t, 256> t{};
  for (unsigned b = 0; b < 256; ++b) t[b] = class_of(b);
  return t;
}();

constexpr auto kNext = [] {
  std::array<std::array<uint8_t, kClassCount>, kStateCount> t{};
  for (unsigned s = 0; s < kStateCount; ++s) {
    for (unsigned c = 0; c < kClassCount; ++c) {
      t[s][c] = step(static_cast<State>(s), static_cast<Class>(c));
    }
  }
  return t;
}();

constexpr uint64_t kHighBits = 0x8080808080808080ULL;

// Advances `p` past the ASCII prefix of [p, end).
const uint8_t* skip_ascii(const uint8_t* p, const uint8_t* end) {
  while (end - p >= 16) {
    uint64_t a;
    uint64_t b;
    std::memcpy(&a, p, 8);
    std::memcpy(&b, p + 8, 8);
    if (((a | b) & kHighBits) != 0) break;
    p += 16;
  }
  while (p < end && *p < 0x80) ++p;
  return p;
}

}  // namespace

bool Utf8Validator::feed(std::span<const std::byte> bytes) {
  const auto* p = reinterpret_cast<const uint8_t*>(bytes.data());
  const auto* end = p + bytes.size();
  uint8_t s = state_;
  if (s == kReject) return false;
  while (p < end) {
    if (s == kAccept) {
      p = skip_ascii(p, end);
      if (p == end) break;
    }
    s = kNext[s][kClassOf[*p++]];
    if (s == kReject) break;
  }
  state_ = s;
  return s != kReject;
}

bool Utf8Validator::failed() const { return state_ == kReject; }

bool is_valid_utf8(std::span<const std::byte> bytes) {
  Utf8Validator v;
  return v.feed(bytes) && v.complete();
}

}  // namespace ringchat::ws
