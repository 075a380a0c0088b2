#pragma once
#include <cstddef>
#include <cstdint>
#include <span>

namespace ringchat::ws {

// Streaming UTF-8 validator (RFC 3629). A byte DFA whose state says which
// continuation bytes may follow; runs of ASCII are skipped 16 bytes at a time.
// Fails fast: the first byte that makes the text impossible (overlong form,
// surrogate U+D800..U+DFFF, code point above U+10FFFF, bad or missing
// continuation) makes feed() return false, even when the sequence it breaks
// began in an earlier call.
// Thread: owned by one parser; no shared state.
class Utf8Validator {
 public:
  // Validates the next bytes of the text. Returns false once the text so far
  // can no longer be valid; stays false until reset().
  bool feed(std::span<const std::byte> bytes);
  // True if the text so far ends on a code point boundary (and is valid).
  bool complete() const { return state_ == 0; }
  // True once feed() has returned false.
  bool failed() const;
  void reset() { state_ = 0; }

 private:
  uint8_t state_ = 0;  // 0 = between code points
};

// Whole-buffer convenience: valid and complete.
bool is_valid_utf8(std::span<const std::byte> bytes);

}  // namespace ringchat::ws
