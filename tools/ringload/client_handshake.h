#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace ringchat::ringload {

// `v` without the spaces and tabs around it (RFC 9110 §5.6.3 OWS).
std::string_view trim_ows(std::string_view v);

// The client side of the RFC 6455 §4.1 opening handshake.
// Thread: a plain value; owned by one connection while it handshakes.

// base64 of 16 bytes: a Sec-WebSocket-Key.
std::string make_client_key(const std::array<uint8_t, 16>& nonce);

// "GET <path> HTTP/1.1" with Host, Upgrade, Connection, Sec-WebSocket-Key,
// Sec-WebSocket-Version: 13.
std::string build_upgrade_request(std::string_view host, uint16_t port, std::string_view path,
                                  std::string_view key);

enum class HandshakeStatus : uint8_t {
  kNeedMore,    // no blank line yet
  kOk,          // 101 with the right Sec-WebSocket-Accept
  kBadStatus,   // not 101
  kBadAccept,   // missing or wrong Sec-WebSocket-Accept
  kBadUpgrade,  // missing Upgrade: websocket / Connection: upgrade
  kTooLarge,    // headers over kMaxResponseBytes
};
inline constexpr size_t kMaxResponseBytes = 8192;

struct HandshakeResult {
  HandshakeStatus status = HandshakeStatus::kNeedMore;
  size_t header_bytes = 0;  // kOk: bytes of the response head (frames follow)
  int http_status = 0;
};

// Checks the response head in `buf` (everything received so far).
HandshakeResult check_upgrade_response(std::string_view buf, std::string_view expected_accept);
std::string_view to_string(HandshakeStatus s);

}  // namespace ringchat::ringload
