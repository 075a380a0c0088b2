#include "ringchat/ws/close_code.h"

namespace ringchat::ws {

std::string_view to_string(CloseCode code) {
  switch (code) {
    case CloseCode::kNormal:
      return "normal closure";
    case CloseCode::kGoingAway:
      return "going away";
    case CloseCode::kProtocolError:
      return "protocol error";
    case CloseCode::kUnsupportedData:
      return "unsupported data";
    case CloseCode::kNoStatus:
      return "no status received";
    case CloseCode::kAbnormal:
      return "abnormal closure";
    case CloseCode::kInvalidPayload:
      return "invalid frame payload data";
    case CloseCode::kPolicyViolation:
      return "policy violation";
    case CloseCode::kMessageTooBig:
      return "message too big";
    case CloseCode::kMandatoryExtension:
      return "mandatory extension";
    case CloseCode::kInternalError:
      return "internal error";
  }
  return "unknown close code";
}

}  // namespace ringchat::ws
