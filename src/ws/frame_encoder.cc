#include "ringchat/ws/frame_encoder.h"

#include <array>
#include <bit>
#include <cstring>

namespace ringchat::ws {
namespace {

constexpr std::byte kFinBit{0x80};
constexpr std::byte kMaskBit{0x80};

// The 8-byte XOR pattern, in memory order, for key bytes starting at
// `offset % 4`: rotating the big-endian key left by a byte starts it one key
// byte later.
uint64_t mask_pattern(uint32_t mask, size_t offset) {
  const uint32_t rotated = std::rotl(mask, static_cast<int>(8 * (offset & 3)));
  const uint32_t in_memory =
      std::endian::native == std::endian::little ? __builtin_bswap32(rotated) : rotated;
  return (uint64_t{in_memory} << 32) | in_memory;
}

void append_frame(std::string& out, Opcode op, std::span<const std::byte> payload, bool fin,
                  const uint32_t* mask) {
  std::array<std::byte, kMaxHeaderBytes> header{};
  size_t n = encode_header(header, op, payload.size(), fin);
  if (mask != nullptr) {
    header[1] |= kMaskBit;
    for (int i = 0; i < 4; ++i) {
      header[n++] = static_cast<std::byte>(*mask >> (24 - 8 * i));
    }
  }
  const size_t start = out.size();
  out.resize(start + n + payload.size());
  char* dst = out.data() + start;
  std::memcpy(dst, header.data(), n);
  if (!payload.empty()) std::memcpy(dst + n, payload.data(), payload.size());
  if (mask != nullptr) {
    auto* body = reinterpret_cast<std::byte*>(dst + n);
    mask_bytes({body, payload.size()}, *mask);
  }
}

}  // namespace

size_t encode_header(std::span<std::byte, kMaxHeaderBytes> out, Opcode op, uint64_t payload_len,
                     bool fin) {
  out[0] = static_cast<std::byte>(op) | (fin ? kFinBit : std::byte{0});
  if (payload_len < 126) {
    out[1] = static_cast<std::byte>(payload_len);
    return 2;
  }
  if (payload_len <= 0xFFFF) {
    out[1] = std::byte{126};
    out[2] = static_cast<std::byte>(payload_len >> 8);
    out[3] = static_cast<std::byte>(payload_len);
    return 4;
  }
  out[1] = std::byte{127};
  for (int i = 0; i < 8; ++i) {
    out[2 + i] = static_cast<std::byte>(payload_len >> (56 - 8 * i));
  }
  return 10;
}

void append_client_frame(std::string& out, Opcode op, std::span<const std::byte> payload,
                         uint32_t mask, bool fin) {
  append_frame(out, op, payload, fin, &mask);
}

net::SharedBuf* make_server_frame(Opcode op, std::span<const std::byte> payload) {
  std::array<std::byte, kMaxHeaderBytes> hdr;
  const size_t n = encode_header(hdr, op, payload.size());
  net::SharedBuf* b = net::SharedBuf::create(n + payload.size());
  std::memcpy(b->data(), hdr.data(), n);
  if (!payload.empty()) std::memcpy(b->data() + n, payload.data(), payload.size());
  return b;
}

void append_server_frame(std::string& out, Opcode op, std::span<const std::byte> payload,
                         bool fin) {
  append_frame(out, op, payload, fin, nullptr);
}

std::string close_payload(uint16_t code, std::string_view reason) {
  constexpr size_t kMaxReason = kMaxControlPayload - 2;
  if (reason.size() > kMaxReason) {
    size_t cut = kMaxReason;
    // Back up over continuation bytes (10xxxxxx) so no code point is split.
    while (cut > 0 && (static_cast<uint8_t>(reason[cut]) & 0xC0) == 0x80) {
      --cut;
    }
    reason = reason.substr(0, cut);
  }
  std::string body;
  body.reserve(2 + reason.size());
  body.push_back(static_cast<char>(code >> 8));
  body.push_back(static_cast<char>(code & 0xFF));
  body.append(reason);
  return body;
}

void mask_bytes(std::span<std::byte> data, uint32_t mask, size_t offset) {
  const uint64_t pattern = mask_pattern(mask, offset);
  std::byte* p = data.data();
  size_t n = data.size();
  while (n >= 32) {
    uint64_t w[4];
    std::memcpy(w, p, 32);
    w[0] ^= pattern;
    w[1] ^= pattern;
    w[2] ^= pattern;
    w[3] ^= pattern;
    std::memcpy(p, w, 32);
    p += 32;
    n -= 32;
  }
  while (n >= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    w ^= pattern;
    std::memcpy(p, &w, 8);
    p += 8;
    n -= 8;
  }
  // The pattern's first bytes are key[(offset + consumed) % 4] again, since
  // every step above consumed a multiple of 4 bytes.
  uint8_t tail[8];
  std::memcpy(tail, &pattern, 8);
  for (size_t i = 0; i < n; ++i) p[i] ^= std::byte{tail[i]};
}

}  // namespace ringchat::ws
