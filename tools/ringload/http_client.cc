#include "http_client.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "client_handshake.h"
#include "ringchat/http/request.h"

namespace ringchat::ringload {

using http::iequals;

namespace {

void append_host(std::string& r, std::string_view host, uint16_t port) {
  r.append(" HTTP/1.1\r\nHost: ").append(host).append(":").append(std::to_string(port));
}

}  // namespace

std::string build_sse_request(std::string_view host, uint16_t port, std::string_view path,
                              std::string_view last_event_id) {
  std::string r;
  r.reserve(160 + path.size());
  r.append("GET ").append(path);
  append_host(r, host, port);
  r.append("\r\nAccept: text/event-stream\r\nCache-Control: no-cache\r\n");
  if (!last_event_id.empty()) r.append("Last-Event-ID: ").append(last_event_id).append("\r\n");
  r.append("\r\n");
  return r;
}

void append_post_request(std::string& out, std::string_view host, uint16_t port,
                         std::string_view path, std::string_view body) {
  out.append("POST ").append(path);
  append_host(out, host, port);
  out.append("\r\nContent-Type: text/plain\r\nContent-Length: ");
  out.append(std::to_string(body.size())).append("\r\n\r\n").append(body);
}

std::string expand_room(std::string_view pattern, std::string_view room) {
  std::string out;
  constexpr std::string_view kKey = "{room}";
  while (true) {
    const size_t at = pattern.find(kKey);
    out.append(pattern.substr(0, at));
    if (at == std::string_view::npos) return out;
    out.append(room);
    pattern.remove_prefix(at + kKey.size());
  }
}

std::optional<std::string_view> find_header(std::string_view head, std::string_view name) {
  // Lines after the status line, each ended by CRLF, up to the blank one.
  size_t eol = head.find("\r\n");
  while (eol != std::string_view::npos) {
    head.remove_prefix(eol + 2);
    eol = head.find("\r\n");
    if (eol == std::string_view::npos || eol == 0) break;
    const std::string_view line = head.substr(0, eol);
    const size_t colon = line.find(':');
    if (colon != std::string_view::npos && iequals(trim_ows(line.substr(0, colon)), name)) {
      return trim_ows(line.substr(colon + 1));
    }
  }
  return std::nullopt;
}

HeadStatus parse_response_head(std::string_view buf, ResponseHead& out) {
  const size_t end = buf.find("\r\n\r\n");
  if (end == std::string_view::npos) {
    return buf.size() > kMaxResponseBytes ? HeadStatus::kTooLarge : HeadStatus::kNeedMore;
  }
  if (end + 4 > kMaxResponseBytes) return HeadStatus::kTooLarge;
  const std::string_view head = buf.substr(0, end + 4);
  // "HTTP/1.1 200 OK"
  if (!head.starts_with("HTTP/1.") || head.size() < 12) return HeadStatus::kBad;
  const std::string_view code = head.substr(9, 3);
  int status = 0;
  auto [ptr, ec] = std::from_chars(code.data(), code.data() + 3, status);
  if (ec != std::errc() || ptr != code.data() + 3) return HeadStatus::kBad;
  out = ResponseHead{};
  out.status = status;
  out.header_bytes = end + 4;
  if (auto cl = find_header(head, "content-length")) {
    uint64_t n = 0;
    auto [p, e] = std::from_chars(cl->data(), cl->data() + cl->size(), n);
    if (e != std::errc() || p != cl->data() + cl->size()) return HeadStatus::kBad;
    out.content_length = n;
  }
  if (auto te = find_header(head, "transfer-encoding")) out.chunked = iequals(*te, "chunked");
  return HeadStatus::kOk;
}

}  // namespace ringchat::ringload
