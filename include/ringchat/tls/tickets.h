#pragma once
#include <array>
#include <cstdint>
#include <mutex>
#include <span>

namespace ringchat::tls {

// The keys that seal session tickets (TLS 1.3 resumption, and TLS 1.2
// tickets), shared by every shard, so that a client resumes on whichever
// core its new connection lands. A new key every `period_ms`; the previous
// one still opens tickets for one more period (a ticket is good for at
// least one period, at most two), and a ticket it opens is replaced by one
// under the current key. Keys are random, never leave the process, and a
// restart makes every ticket a full handshake again.
// Sealing: ChaCha20-Poly1305 with a random nonce, the key's name as the
// associated data.
// Thread: any (a mutex; it is taken once per handshake).
class TicketKeys {
 public:
  static constexpr size_t kNameSize = 16;  // WOLFSSL_TICKET_NAME_SZ
  static constexpr size_t kIvSize = 16;    // WOLFSSL_TICKET_IV_SZ (12 used)
  static constexpr size_t kMacSize = 32;   // WOLFSSL_TICKET_MAC_SZ (16 used)
  using Name = std::array<uint8_t, kNameSize>;

  // `now_ms`: a monotonic clock, injectable for tests.
  explicit TicketKeys(uint64_t period_ms, uint64_t (*now_ms)() = nullptr);

  // Encrypts `ticket` in place under the current key (rotating first if its
  // period is over); fills the name, nonce and tag. False only if the
  // system's randomness fails.
  bool seal(std::span<uint8_t> ticket, Name& name, uint8_t (&iv)[kIvSize],
            uint8_t (&mac)[kMacSize]);
  enum class Opened { kCurrent, kPrevious, kRejected };
  // Decrypts `ticket` in place if a key of that name still exists and the
  // tag verifies; kPrevious: valid, but the client should get a new one.
  Opened open(std::span<uint8_t> ticket, const Name& name, const uint8_t (&iv)[kIvSize],
              const uint8_t (&mac)[kMacSize]);
  // Starts a new period now (the current key becomes the previous one).
  void rotate();

 private:
  struct Key {
    Name name{};
    std::array<uint8_t, 32> secret{};
  };
  bool fresh(Key& k);
  void rotate_locked(uint64_t now);
  void catch_up(uint64_t now);

  const uint64_t period_ms_;
  uint64_t (*const now_ms_)();
  std::mutex mu_;
  Key current_, previous_;
  bool has_previous_ = false;
  uint64_t rotate_at_ms_ = 0;
};

}  // namespace ringchat::tls
