#include "ringchat/http/request.h"

namespace ringchat::http {
namespace {

char lower(char c) { return (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c; }

// RFC 9110 §5.6.3: optional whitespace is spaces and horizontal tabs.
std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

}  // namespace

std::string_view to_string(Method method) {
  switch (method) {
    case Method::kGet:
      return "GET";
    case Method::kHead:
      return "HEAD";
    case Method::kPost:
      return "POST";
    case Method::kPut:
      return "PUT";
    case Method::kDelete:
      return "DELETE";
    case Method::kOptions:
      return "OPTIONS";
    case Method::kOther:
      break;
  }
  return "OTHER";
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

bool header_has_token(std::string_view value, std::string_view token) {
  if (token.empty()) return false;
  while (true) {
    size_t comma = value.find(',');
    if (iequals(trim_ows(value.substr(0, comma)), token)) return true;
    if (comma == std::string_view::npos) return false;
    value.remove_prefix(comma + 1);
  }
}

bool none_match_hits(std::string_view if_none_match, std::string_view etag) {
  // RFC 9110 §13.1.2: "*" matches any current representation; otherwise the
  // weak comparison, so a "W/" prefix on either side is ignored. A comma
  // inside a quoted tag would split it; ours are hex, and a split one only
  // fails to match (a 200 instead of a 304).
  auto opaque = [](std::string_view t) { return t.starts_with("W/") ? t.substr(2) : t; };
  if (etag.empty()) return false;
  while (true) {
    const size_t comma = if_none_match.find(',');
    const std::string_view tag = trim_ows(if_none_match.substr(0, comma));
    if (tag == "*" || (!tag.empty() && opaque(tag) == opaque(etag))) return true;
    if (comma == std::string_view::npos) return false;
    if_none_match.remove_prefix(comma + 1);
  }
}

}  // namespace ringchat::http
