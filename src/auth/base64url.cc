#include "ringchat/auth/base64url.h"

#include <array>
#include <cstdint>

namespace ringchat::auth {

namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr uint8_t kInvalid = 0xFF;

constexpr auto kValue = [] {
  std::array<uint8_t, 256> t{};
  t.fill(kInvalid);
  for (uint8_t i = 0; i < 64; ++i) t[static_cast<unsigned char>(kAlphabet[i])] = i;
  return t;
}();

uint8_t value(char c) { return kValue[static_cast<unsigned char>(c)]; }

}  // namespace

std::optional<std::string> base64url_decode(std::string_view in) {
  // Four characters carry three bytes; a tail of two carries one, of three
  // two. A tail of one carries six bits: less than a byte, never produced.
  const size_t tail = in.size() % 4;
  if (tail == 1) return std::nullopt;
  std::string out;
  out.reserve(in.size() / 4 * 3 + (tail == 0 ? 0 : tail - 1));
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    const uint8_t v = value(c);
    if (v == kInvalid) return std::nullopt;
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  // The 2 or 4 bits left over must be zero, or a second text would decode
  // to the same bytes.
  if ((acc & ((1u << bits) - 1)) != 0) return std::nullopt;
  return out;
}

std::string base64url_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() * 4 + 2) / 3);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : bytes) {
    acc = (acc << 8) | static_cast<unsigned char>(c);
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kAlphabet[(acc >> bits) & 0x3F]);
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(acc << (6 - bits)) & 0x3F]);
  return out;
}

}  // namespace ringchat::auth
