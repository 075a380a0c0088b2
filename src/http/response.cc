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
bool has_no_content(int status) {
  return (status >= 100 && status < 200) || status == 204;
}

void append_head(std::string& out, int status, std::string_view content_type,
                 size_t content_length, bool keep_alive,
                 std::string_view extra_headers) {
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
  if (!has_no_content(status)) {
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
  switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 426: return "Upgrade Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
  }
}

std::string make_response(int status, std::string_view content_type,
                          std::string_view body, bool keep_alive,
                          std::string_view extra_headers) {
  if (has_no_content(status)) body = {};
  std::string out;
  out.reserve(kHeadReserve + extra_headers.size() + body.size());
  append_head(out, status, content_type, body.size(), keep_alive,
              extra_headers);
  out += body;
  return out;
}

std::string make_response_head(int status, std::string_view content_type,
                               size_t content_length, bool keep_alive,
                               std::string_view extra_headers) {
  std::string out;
  out.reserve(kHeadReserve + extra_headers.size());
  append_head(out, status, content_type, content_length, keep_alive,
              extra_headers);
  return out;
}

std::string make_error(int status, std::string_view detail,
                       std::string_view extra_headers) {
  std::string body;
  append_number(body, size_t(status < 0 ? 0 : status));
  body += ' ';
  body += reason_phrase(status);
  if (!detail.empty()) {
    body += ": ";
    body += detail;
  }
  body += '\n';
  return make_response(status, "text/plain; charset=utf-8", body, false,
                       extra_headers);
}

}  // namespace ringchat::http
