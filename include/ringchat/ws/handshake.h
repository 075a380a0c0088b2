#pragma once
#include <string>
#include <string_view>

#include "ringchat/http/request.h"

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

// What an opening handshake (RFC 6455 §4.2.1) earns: a 101 and its headers,
// or the error status, a detail for the body and extra headers to send.
struct Upgrade {
  int status = 101;         // 101, 400 or 426
  std::string_view detail;  // for an error's body
  std::string headers;      // "Name: value\r\n" lines: the 101's, or the error's
};
// Checks `req` for what a server must find in an opening handshake (GET is
// the router's business) and builds the answer's headers.
Upgrade check_upgrade(const http::Request& req);

}  // namespace ringchat::ws
