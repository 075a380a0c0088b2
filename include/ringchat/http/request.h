#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace ringchat::http {

// Request methods the server routes on; everything else llhttp accepts
// (PATCH, CONNECT, PROPFIND, ...) is kOther and gets a 405 from the router.
enum class Method : uint8_t { kGet, kHead, kPost, kPut, kDelete, kOptions, kOther };

std::string_view to_string(Method method);

// One parsed HTTP/1.x request. Only the headers the server acts on are kept;
// the others are validated by llhttp and dropped.
// Thread: a plain value; whoever holds it.
struct Request {
  Method method = Method::kOther;
  std::string target;      // raw request-target
  std::string path;        // percent-decoded path, without query
  std::string query;       // raw query string (after '?'), may be empty
  int version_minor = 1;   // HTTP/1.x
  bool keep_alive = true;  // per llhttp_should_keep_alive
  // Connection: upgrade + Upgrade header present (llhttp's upgrade flag;
  // also set for CONNECT).
  bool upgrade = false;
  // Headers the server uses: names matched case-insensitively, values
  // trimmed of surrounding whitespace, empty if absent. List-valued headers
  // (Connection, Upgrade, Sec-WebSocket-Protocol) that repeat are joined
  // with ", " (RFC 9110 §5.3); the others keep their first value and set
  // has_header_dupes.
  std::string host, upgrade_header, connection, sec_websocket_key, sec_websocket_version,
      sec_websocket_protocol, origin, authorization, last_event_id, content_type;
  // The first User-Agent, cut at Limits::max_user_agent bytes (for the
  // access log); empty when absent or not kept. A repeat is ignored.
  std::string user_agent;
  // If-None-Match (RFC 9110 §13.1.2): the entity tags a cache holds, a
  // list (repeats joined with ", "), or "*".
  std::string if_none_match;
  std::string body;
  bool has_header_dupes = false;  // a handshake must reject

  friend bool operator==(const Request&, const Request&) = default;
};

// Bounds on what one request may make the parser hold or read.
struct Limits {
  // Request line + headers + blank line, plus the trailer section of a
  // chunked body, every byte counted (separators and line ends included).
  size_t max_header_bytes = 8192;
  size_t max_body_bytes = 1 << 20;
  // Header fields, headers and trailers together.
  size_t max_header_fields = 100;
  // User-Agent bytes kept in Request::user_agent (0: the header is not kept).
  size_t max_user_agent = 0;
};

// Pure functions. Thread: any.

// Whether the comma-separated header `value` lists `token`, compared
// case-insensitively with surrounding whitespace ignored:
// header_has_token("keep-alive, Upgrade", "upgrade") -> true.
bool header_has_token(std::string_view value, std::string_view token);

// Whether a request with If-None-Match `if_none_match` (Request's) already
// holds the representation tagged `etag` (quoted, as sent in ETag), so a
// 304 answers it: "*", or `etag` in the list by weak comparison (RFC 9110
// §13.1.2). False when either is empty.
bool none_match_hits(std::string_view if_none_match, std::string_view etag);

// ASCII case-insensitive equality, as HTTP compares names and tokens.
bool iequals(std::string_view a, std::string_view b);

}  // namespace ringchat::http
