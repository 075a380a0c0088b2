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
    case kAscii:
      return kAccept;
    case kLead2:
      return kNeed1;
    case kLeadE0:
      return kAfterE0;
    case kLead3:
      return kNeed2;
    case kLeadED:
      return kAfterED;
    case kLeadF0:
      return kAfterF0;
    case kLead4:
      return kNeed3;
    case kLeadF4:
      return kAfterF4;
    default:
      return kReject;
  }
}

constexpr State step(State s, Class c) {
  const bool cont = c == kCont8 || c == kCont9 || c == kContA;
  switch (s) {
    case kAccept:
      return from_accept(c);
    case kNeed1:
      return cont ? kAccept : kReject;
    case kNeed2:
      return cont ? kNeed1 : kReject;
    case kNeed3:
      return cont ? kNeed2 : kReject;
    case kAfterE0:
      return c == kContA ? kNeed1 : kReject;
    case kAfterED:
      return (c == kCont8 || c == kCont9) ? kNeed1 : kReject;
    case kAfterF0:
      return (c == kCont9 || c == kContA) ? kNeed2 : kReject;
    case kAfterF4:
      return c == kCont8 ? kNeed2 : kReject;
    default:
      return kReject;
  }
}

// Shift-based DFA: a state is stored as a bit offset (6 * state), and row
// kRow[b] holds, at each state's offset, the offset of the next state. One
// step is a load that does not depend on the state, a shift and a mask, so
// the loop-carried chain is one shift per byte.
constexpr unsigned kBitsPerState = 6;
static_assert(kStateCount * kBitsPerState <= 64);
constexpr uint8_t kRejectOffset = kReject * kBitsPerState;

constexpr auto kRow = [] {
  std::array<uint64_t, 256> rows{};
  for (unsigned b = 0; b < 256; ++b) {
    for (unsigned s = 0; s < kStateCount; ++s) {
      const uint64_t next = step(static_cast<State>(s), class_of(b));
      rows[b] |= (next * kBitsPerState) << (s * kBitsPerState);
    }
  }
  return rows;
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
  // Only the low 6 bits of `s` are the state; x86-64 and AArch64 shifts
  // ignore the rest, so `>> (s & 63)` is a single instruction and the upper
  // bits are masked off once per run rather than per byte.
  uint64_t s = state_;
  while (p < end && s != kRejectOffset) {
    if (s == 0) {
      p = skip_ascii(p, end);
      if (p == end) break;
    }
    // Stepping 16 bytes between checks keeps the loop branch-light; reject
    // is absorbing, so checking after the run loses nothing.
    const uint8_t* stop = end - p > 16 ? p + 16 : end;
    while (p < stop) s = kRow[*p++] >> (s & 63);
    s &= 63;
  }
  state_ = static_cast<uint8_t>(s);
  return s != kRejectOffset;
}

bool Utf8Validator::failed() const { return state_ == kRejectOffset; }

bool is_valid_utf8(std::span<const std::byte> bytes) {
  Utf8Validator v;
  return v.feed(bytes) && v.complete();
}

}  // namespace ringchat::ws
