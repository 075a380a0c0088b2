#include "ringchat/http/response.h"

#include <charconv>

namespace ringchat::http {
namespace {

void append_number(std::string& out, size_t n) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), n);
  (void)ec;  // 24 digits hold any size_t
  out.append(buf, end);
}

// RFC 9110 §6.4.1 and §15.3.5: 1xx and 204 have no content and must not
// announce any.
// RFC 9110 §6.4.1: 1xx, 204 and 304 never have content (a 304's
// Content-Length would describe the 200's, which we do not send).
bool has_no_content(int status) {
  return (status >= 100 && status < 200) || status == 204 || status == 304;
}

// A body of `content_length` bytes, or (kUntilClose) one that runs until
// the connection closes.
constexpr size_t kUntilClose = SIZE_MAX;

void append_head(std::string& out, int status, std::string_view content_type, size_t content_length,
                 bool keep_alive, std::string_view extra_headers) {
  out += "HTTP/1.1 ";
  append_number(out, size_t(status < 0 ? 0 : status));
  out += ' ';
  out += reason_phrase(status);
  out += "\r\nServer: ringchat\r\n";
  if (!content_type.empty()) {
    out += "Content-Type: ";
    out += content_type;
    out += "\r\n";
  }
  if (!has_no_content(status) && content_length != kUntilClose) {
    out += "Content-Length: ";
    append_number(out, content_length);
    out += "\r\n";
  }
  // A 101 switches protocols; its Connection header is the caller's.
  if (status != 101) {
    out += keep_alive ? "Connection: keep-alive\r\n" : "Connection: close\r\n";
  }
  out += extra_headers;
  out += "\r\n";
}

constexpr size_t kHeadReserve = 128;

}  // namespace

std::string_view reason_phrase(int status) {
  struct Entry {
    int status;
    std::string_view reason;
  };
  // RFC 9110 §15, the statuses a chat server has reason to send.
  static constexpr Entry kReasons[] = {
      {100, "Continue"},
      {101, "Switching Protocols"},
      {200, "OK"},
      {201, "Created"},
      {202, "Accepted"},
      {204, "No Content"},
      {206, "Partial Content"},
      {301, "Moved Permanently"},
      {302, "Found"},
      {303, "See Other"},
      {304, "Not Modified"},
      {307, "Temporary Redirect"},
      {308, "Permanent Redirect"},
      {400, "Bad Request"},
      {401, "Unauthorized"},
      {403, "Forbidden"},
      {404, "Not Found"},
      {405, "Method Not Allowed"},
      {406, "Not Acceptable"},
      {408, "Request Timeout"},
      {409, "Conflict"},
      {410, "Gone"},
      {411, "Length Required"},
      {413, "Content Too Large"},
      {414, "URI Too Long"},
      {415, "Unsupported Media Type"},
      {426, "Upgrade Required"},
      {429, "Too Many Requests"},
      {431, "Request Header Fields Too Large"},
      {500, "Internal Server Error"},
      {501, "Not Implemented"},
      {502, "Bad Gateway"},
      {503, "Service Unavailable"},
      {504, "Gateway Timeout"},
      {505, "HTTP Version Not Supported"},
  };
  for (const Entry& e : kReasons) {
    if (e.status == status) return e.reason;
  }
  return "Unknown";
}

std::string make_response(int status, std::string_view content_type, std::string_view body,
                          bool keep_alive, std::string_view extra_headers) {
  if (has_no_content(status)) body = {};
  std::string out;
  out.reserve(kHeadReserve + extra_headers.size() + body.size());
  append_head(out, status, content_type, body.size(), keep_alive, extra_headers);
  out += body;
  return out;
}

std::string make_response_head(int status, std::string_view content_type, size_t content_length,
                               bool keep_alive, std::string_view extra_headers) {
  std::string out;
  out.reserve(kHeadReserve + extra_headers.size());
  append_head(out, status, content_type, content_length, keep_alive, extra_headers);
  return out;
}

std::string make_stream_head(int status, std::string_view content_type,
                             std::string_view extra_headers) {
  std::string out;
  out.reserve(kHeadReserve + extra_headers.size());
  append_head(out, status, content_type, kUntilClose, false, extra_headers);
  return out;
}

std::string make_error(int status, std::string_view detail, std::string_view extra_headers) {
  std::string body;
  append_number(body, size_t(status < 0 ? 0 : status));
  body += ' ';
  body += reason_phrase(status);
  if (!detail.empty()) {
    body += ": ";
    body += detail;
  }
  body += '\n';
  return make_response(status, "text/plain; charset=utf-8", body, false, extra_headers);
}

}  // namespace ringchat::http
