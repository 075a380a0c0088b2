#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ringchat::ringload {

// The HTTP/1.1 client side of SSE streams and HTTP publishers.
// Pure functions over bytes; no I/O.

// "GET <path>" for an event stream, with Last-Event-ID when resuming.
std::string build_sse_request(std::string_view host, uint16_t port, std::string_view path,
                              std::string_view last_event_id);
// Appends one keep-alive "POST <path>" carrying `body` as text/plain.
void append_post_request(std::string& out, std::string_view host, uint16_t port,
                         std::string_view path, std::string_view body);
// `pattern` with every "{room}" replaced by `room`.
std::string expand_room(std::string_view pattern, std::string_view room);

struct ResponseHead {
  int status = 0;
  size_t header_bytes = 0;  // through the blank line
  std::optional<uint64_t> content_length;
  bool chunked = false;  // Transfer-Encoding: chunked
};
enum class HeadStatus : uint8_t { kNeedMore, kOk, kBad, kTooLarge };
// Reads the response head at the start of `buf`.
HeadStatus parse_response_head(std::string_view buf, ResponseHead& out);
// The value of header `name` (case-insensitive) in a response head, trimmed.
std::optional<std::string_view> find_header(std::string_view head, std::string_view name);

}  // namespace ringchat::ringload
