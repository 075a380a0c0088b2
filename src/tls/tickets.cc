// Session-ticket keys: sealed with ChaCha20-Poly1305, rotated by period.
#include "ringchat/tls/tickets.h"

// clang-format off
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/chacha20_poly1305.h>
// clang-format on

#include <sys/random.h>

#include <algorithm>
#include <chrono>

namespace ringchat::tls {

namespace {

uint64_t steady_ms() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}

bool random_bytes(uint8_t* out, size_t n) {
  while (n > 0) {
    const ssize_t got = getrandom(out, n, 0);
    if (got <= 0) return false;
    out += got;
    n -= static_cast<size_t>(got);
  }
  return true;
}

}  // namespace

TicketKeys::TicketKeys(uint64_t period_ms, uint64_t (*now_ms)())
    : period_ms_(period_ms), now_ms_(now_ms ? now_ms : steady_ms) {
  std::lock_guard lock(mu_);
  rotate_locked(now_ms_());
  has_previous_ = false;
}

bool TicketKeys::fresh(Key& k) {
  return random_bytes(k.name.data(), k.name.size()) &&
         random_bytes(k.secret.data(), k.secret.size());
}

void TicketKeys::rotate_locked(uint64_t now) {
  previous_ = current_;
  has_previous_ = true;
  if (!fresh(current_)) current_ = previous_;  // no randomness: keep the key
  rotate_at_ms_ = now + period_ms_;
}

void TicketKeys::catch_up(uint64_t now) {
  if (now < rotate_at_ms_) return;
  // Two periods gone by: the previous key is too old as well.
  const bool both = now >= rotate_at_ms_ + period_ms_;
  rotate_locked(now);
  if (both) has_previous_ = false;
}

void TicketKeys::rotate() {
  std::lock_guard lock(mu_);
  rotate_locked(now_ms_());
}

bool TicketKeys::seal(std::span<uint8_t> ticket, Name& name, uint8_t (&iv)[kIvSize],
                      uint8_t (&mac)[kMacSize]) {
  Key key;
  {
    std::lock_guard lock(mu_);
    catch_up(now_ms_());
    key = current_;
  }
  std::fill(std::begin(iv), std::end(iv), uint8_t{0});
  std::fill(std::begin(mac), std::end(mac), uint8_t{0});
  if (!random_bytes(iv, CHACHA20_POLY1305_AEAD_IV_SIZE)) return false;
  name = key.name;
  return wc_ChaCha20Poly1305_Encrypt(key.secret.data(), iv, name.data(), name.size(), ticket.data(),
                                     static_cast<word32>(ticket.size()), ticket.data(), mac) == 0;
}

TicketKeys::Opened TicketKeys::open(std::span<uint8_t> ticket, const Name& name,
                                    const uint8_t (&iv)[kIvSize], const uint8_t (&mac)[kMacSize]) {
  Key key;
  Opened which = Opened::kRejected;
  {
    std::lock_guard lock(mu_);
    catch_up(now_ms_());
    if (name == current_.name) {
      key = current_;
      which = Opened::kCurrent;
    } else if (has_previous_ && name == previous_.name) {
      key = previous_;
      which = Opened::kPrevious;
    }
  }
  if (which == Opened::kRejected) return which;
  if (wc_ChaCha20Poly1305_Decrypt(key.secret.data(), iv, name.data(), name.size(), ticket.data(),
                                  static_cast<word32>(ticket.size()), mac, ticket.data()) != 0) {
    return Opened::kRejected;
  }
  return which;
}

}  // namespace ringchat::tls
