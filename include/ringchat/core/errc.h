#pragma once
#include <string_view>

namespace ringchat {

// Errors of ringchat's own making (not a peer's protocol errors, which have
// their own codes: HTTP status, ws::CloseCode).
enum class Errc {
  kOk = 0,
  kInvalidArgument,
  kSystem,         // a syscall failed; errno is logged where it happened
  kUnsupported,    // the kernel lacks a feature we need
  kResourceLimit,  // out of slots, buffers or descriptors
  kClosed,
};

constexpr std::string_view to_string(Errc e) {
  switch (e) {
    case Errc::kOk:
      return "ok";
    case Errc::kInvalidArgument:
      return "invalid argument";
    case Errc::kSystem:
      return "system error";
    case Errc::kUnsupported:
      return "unsupported";
    case Errc::kResourceLimit:
      return "resource limit";
    case Errc::kClosed:
      return "closed";
  }
  return "unknown";
}

}  // namespace ringchat
