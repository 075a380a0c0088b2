#include "ringchat/ws/handshake.h"

// wolfSSL's configuration must precede any of its headers.
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/coding.h>
#include <wolfssl/wolfcrypt/hash.h>
#include <wolfssl/wolfcrypt/sha.h>

#include <array>

#include "ringchat/core/check.h"

namespace ringchat::ws {
namespace {

constexpr size_t kKeyChars = 24;  // base64 of 16 bytes, with "=="

bool is_base64_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
         c == '/';
}

}  // namespace

bool is_valid_client_key(std::string_view key) {
  if (key.size() != kKeyChars) return false;
  if (key[22] != '=' || key[23] != '=') return false;
  for (size_t i = 0; i < 22; ++i) {
    if (!is_base64_char(key[i])) return false;
  }
  return true;
}

std::string accept_key(std::string_view client_key) {
  std::string input;
  input.reserve(client_key.size() + kWebSocketGuid.size());
  input.append(client_key);
  input.append(kWebSocketGuid);

  std::array<byte, WC_SHA_DIGEST_SIZE> digest{};
  const int hashed = wc_ShaHash(reinterpret_cast<const byte*>(input.data()),
                                static_cast<word32>(input.size()), digest.data());
  RC_CHECK(hashed == 0);

  std::array<byte, 32> encoded{};  // 28 characters for a 20-byte digest
  word32 encoded_len = encoded.size();
  const int coded = Base64_Encode_NoNl(digest.data(), digest.size(), encoded.data(), &encoded_len);
  RC_CHECK(coded == 0);
  return std::string(reinterpret_cast<const char*>(encoded.data()), encoded_len);
}

Upgrade check_upgrade(const http::Request& req) {
  // RFC 6455 §4.2.1: what a server must find in an opening handshake.
  if (!http::header_has_token(req.upgrade_header, "websocket")) {
    return {426, "this is a WebSocket endpoint; send Upgrade: websocket",
            "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"};
  }
  if (req.sec_websocket_version != "13") {
    return {426, "unsupported Sec-WebSocket-Version (need 13)", "Sec-WebSocket-Version: 13\r\n"};
  }
  if (req.version_minor < 1 || req.host.empty() ||
      !http::header_has_token(req.connection, "upgrade") || req.has_header_dupes ||
      !is_valid_client_key(req.sec_websocket_key)) {
    return {400, "invalid WebSocket handshake (Host, Connection: Upgrade, Sec-WebSocket-Key)", {}};
  }
  return {101,
          {},
          "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " +
              accept_key(req.sec_websocket_key) + "\r\n"};
}

}  // namespace ringchat::ws
