#pragma once
// Messages the stress test publishes, and how a reader checks one.
//
// A message of kHeaderBytes or more starts with an ASCII header:
//   'T' or 'B' (text or binary), publisher (4 hex) ':' counter (8 hex) ':'
//   length (8 hex) ':' xxh3 of the rest, seeded with publisher and counter
//   (16 hex) '|'
// followed by a body: valid UTF-8 (code points of 1 to 4 bytes) for text,
// random bytes for binary. A shorter message is anonymous filler, all '~'.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace ringchat::testing::stress {

inline constexpr size_t kHeaderBytes = 41;

struct MessageId {
  uint32_t publisher = 0;
  uint32_t counter = 0;
};

// Random text and binary bytes from which bodies are sliced, so a 16 MiB
// message costs a copy, not 16 million draws.
// Thread: any; immutable after construction.
class PayloadPool {
 public:
  PayloadPool(uint64_t seed, size_t max_size);
  PayloadPool(const PayloadPool&) = delete;
  PayloadPool& operator=(const PayloadPool&) = delete;

  // Appends a message of exactly `size` bytes; `pick` chooses the slice.
  // REQUIRES: size <= the pool's max_size.
  void append(std::string& out, bool text, MessageId id, size_t size, uint64_t pick) const;

 private:
  void append_text_body(std::string& out, size_t n, uint64_t pick) const;

  std::string text_;
  std::string binary_;
};

struct Verdict {
  const char* error = nullptr;  // null: the message is intact
  bool anonymous = false;
  MessageId id;
};

// Checks a received message against its header: kind, length, checksum.
Verdict check_payload(bool text, std::span<const std::byte> payload);

}  // namespace ringchat::testing::stress
