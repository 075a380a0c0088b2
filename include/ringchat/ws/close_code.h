#pragma once
#include <cstdint>
#include <string_view>

namespace ringchat::ws {

// RFC 6455 §5.2 opcodes. 3-7 and 11-15 are reserved and never appear here:
// the parser rejects them before building an Opcode.
enum class Opcode : uint8_t {
  kContinuation = 0,
  kText = 1,
  kBinary = 2,
  kClose = 8,
  kPing = 9,
  kPong = 10,
};

// RFC 6455 §7.4.1 status codes. 1005 and 1006 are for reporting only and
// never sent on the wire.
enum class CloseCode : uint16_t {
  kNormal = 1000,
  kGoingAway = 1001,
  kProtocolError = 1002,
  kUnsupportedData = 1003,
  kNoStatus = 1005,
  kAbnormal = 1006,
  kInvalidPayload = 1007,
  kPolicyViolation = 1008,
  kMessageTooBig = 1009,
  kMandatoryExtension = 1010,
  kInternalError = 1011,
};

// True if a peer may send `code` in a close frame: RFC 6455 §7.4 plus the
// IANA registry (1012-1014), and the library/application range 3000-4999.
// Thread: any.
constexpr bool is_valid_wire_close_code(uint16_t code) {
  if (code >= 3000 && code <= 4999) return true;
  if (code >= 1000 && code <= 1003) return true;
  return code >= 1007 && code <= 1014;
}

// Human-readable name of a close code, for logs ("protocol error").
std::string_view to_string(CloseCode code);

}  // namespace ringchat::ws
