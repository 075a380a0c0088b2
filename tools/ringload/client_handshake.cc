#include "client_handshake.h"

#include <algorithm>
#include <cctype>

#include "ringchat/http/request.h"

namespace ringchat::ringload {

using http::iequals;

std::string_view trim_ows(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  return v;
}

namespace {

constexpr std::string_view kB64 =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int parse_status(std::string_view status_line) {
  // "HTTP/1.1 101 Switching Protocols"
  if (!status_line.starts_with("HTTP/1.") || status_line.size() < 12) return 0;
  const std::string_view code = status_line.substr(9, 3);
  if (!std::all_of(code.begin(), code.end(), [](char c) { return c >= '0' && c <= '9'; })) return 0;
  return (code[0] - '0') * 100 + (code[1] - '0') * 10 + (code[2] - '0');
}

}  // namespace

std::string make_client_key(const std::array<uint8_t, 16>& nonce) {
  std::string out;
  for (size_t i = 0; i < 15; i += 3) {
    const uint32_t v = (uint32_t{nonce[i]} << 16) | (uint32_t{nonce[i + 1]} << 8) | nonce[i + 2];
    for (int s = 18; s >= 0; s -= 6) out.push_back(kB64[(v >> s) & 63]);
  }
  const uint32_t last = uint32_t{nonce[15]} << 16;
  out.push_back(kB64[(last >> 18) & 63]);
  out.push_back(kB64[(last >> 12) & 63]);
  out += "==";
  return out;
}

std::string build_upgrade_request(std::string_view host, uint16_t port, std::string_view path,
                                  std::string_view key) {
  std::string r;
  r.reserve(200 + path.size());
  r.append("GET ").append(path).append(" HTTP/1.1\r\nHost: ").append(host);
  r.append(":").append(std::to_string(port));
  r.append("\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ").append(key);
  r.append("\r\nSec-WebSocket-Version: 13\r\n\r\n");
  return r;
}

HandshakeResult check_upgrade_response(std::string_view buf, std::string_view expected_accept) {
  HandshakeResult r;
  const size_t end = buf.find("\r\n\r\n");
  if (end == std::string_view::npos) {
    if (buf.size() > kMaxResponseBytes) r.status = HandshakeStatus::kTooLarge;
    return r;
  }
  if (end + 4 > kMaxResponseBytes) return {HandshakeStatus::kTooLarge, 0, 0};
  std::string_view head = buf.substr(0, end + 2);
  size_t eol = head.find("\r\n");
  r.http_status = parse_status(head.substr(0, eol));
  if (r.http_status != 101) return {HandshakeStatus::kBadStatus, 0, r.http_status};
  bool upgrade = false, connection = false, accept = false;
  for (head.remove_prefix(eol + 2); !head.empty(); head.remove_prefix(eol + 2)) {
    eol = head.find("\r\n");
    const std::string_view line = head.substr(0, eol);
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    const std::string_view name = trim_ows(line.substr(0, colon));
    const std::string_view value = trim_ows(line.substr(colon + 1));
    if (iequals(name, "upgrade")) upgrade = iequals(value, "websocket");
    if (iequals(name, "connection")) connection = http::header_has_token(value, "upgrade");
    if (iequals(name, "sec-websocket-accept")) accept = value == expected_accept;
  }
  if (!upgrade || !connection) return {HandshakeStatus::kBadUpgrade, 0, 101};
  if (!accept) return {HandshakeStatus::kBadAccept, 0, 101};
  return {HandshakeStatus::kOk, end + 4, 101};
}

std::string_view to_string(HandshakeStatus s) {
  switch (s) {
    case HandshakeStatus::kNeedMore:
      return "need_more";
    case HandshakeStatus::kOk:
      return "ok";
    case HandshakeStatus::kBadStatus:
      return "bad_status";
    case HandshakeStatus::kBadAccept:
      return "bad_accept";
    case HandshakeStatus::kBadUpgrade:
      return "bad_upgrade";
    case HandshakeStatus::kTooLarge:
      return "too_large";
  }
  return "?";
}

}  // namespace ringchat::ringload
