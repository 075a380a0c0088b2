#pragma once
#include <string>
#include <string_view>

namespace ringchat::ws {

// RFC 6455 §4 handshake helpers. The HTTP side (llhttp) parses the request;
// these check and answer the WebSocket-specific headers.
// Thread: any.

// The GUID that RFC 6455 §1.3 appends to Sec-WebSocket-Key.
inline constexpr std::string_view kWebSocketGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

// True if `key` is base64 of exactly 16 bytes: 22 alphabet characters then
// "==" (RFC 6455 §4.1 item 7). Lenient about the 4 unused low bits of the
// last character, as common clients and decoders are.
bool is_valid_client_key(std::string_view key);

// Sec-WebSocket-Accept for `client_key`: base64(SHA-1(key + GUID)), 28 chars.
// REQUIRES: is_valid_client_key(client_key) (any string is hashed, though).
std::string accept_key(std::string_view client_key);

}  // namespace ringchat::ws
