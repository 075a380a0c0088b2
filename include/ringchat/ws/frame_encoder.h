#pragma once
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "ringchat/net/shared_buf.h"
#include "ringchat/ws/close_code.h"

namespace ringchat::ws {

// RFC 6455 §5.2 frame encoding. Pure functions; no state.
// Thread: any.

// The longest frame header: 2 bytes, 8-byte extended length, 4-byte mask.
inline constexpr size_t kMaxHeaderBytes = 14;
// RFC 6455 §5.5: control frame payloads are at most 125 bytes.
inline constexpr size_t kMaxControlPayload = 125;

// Writes a server->client header (no mask) with the minimal length encoding.
// Returns the bytes written: 2, 4 or 10.
size_t encode_header(std::span<std::byte, kMaxHeaderBytes> out, Opcode op, uint64_t payload_len,
                     bool fin = true);

// Appends a client->server frame masked with `mask`. The mask key goes on the
// wire big-endian: its first byte is `mask >> 24`. For tests and ringload.
void append_client_frame(std::string& out, Opcode op, std::span<const std::byte> payload,
                         uint32_t mask, bool fin = true);

// A server->client frame (header and payload) in a new SharedBuf with one
// reference: bytes to queue on one connection, or to share among many.
net::SharedBuf* make_server_frame(Opcode op, std::span<const std::byte> payload);

// Appends a server->client (unmasked) frame.
void append_server_frame(std::string& out, Opcode op, std::span<const std::byte> payload,
                         bool fin = true);

// A close frame body: 2-byte big-endian code, then `reason` cut at a UTF-8
// code point boundary so the body fits in 125 bytes.
std::string close_payload(uint16_t code, std::string_view reason);

// XORs `data` with the mask key (big-endian bytes of `mask`), starting at
// key byte `offset % 4`: data[i] ^= key[(offset + i) % 4]. Works 8 bytes at a
// time. Masking twice with the same key and offset restores the data.
void mask_bytes(std::span<std::byte> data, uint32_t mask, size_t offset = 0);

// Convenience views for string payloads.
inline std::span<const std::byte> as_bytes(std::string_view s) {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}
inline std::string_view as_string_view(std::span<const std::byte> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

}  // namespace ringchat::ws
