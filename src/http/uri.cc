#include "ringchat/http/uri.h"

#include <algorithm>

#include "ringchat/http/request.h"

namespace ringchat::http {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Appends the decoding of `in` to `out`; `plus_is_space` for form data
// (WHATWG URL, application/x-www-form-urlencoded parsing).
bool decode_into(std::string_view in, bool plus_is_space, std::string& out) {
  out.reserve(out.size() + in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return false;
      int hi = hex_value(in[i + 1]);
      int lo = hex_value(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      out.push_back(char(hi * 16 + lo));
      i += 2;
    } else {
      out.push_back(plus_is_space && c == '+' ? ' ' : c);
    }
  }
  return true;
}

// Whether the form-encoded `key` decodes to `name`, without allocating for
// the common plain key.
bool key_matches(std::string_view key, std::string_view name) {
  if (key.find_first_of("%+") == std::string_view::npos) return key == name;
  std::string decoded;
  return decode_into(key, true, decoded) && decoded == name;
}

}  // namespace

bool percent_decode(std::string_view in, std::string& out) {
  out.clear();
  return decode_into(in, false, out);
}

std::optional<std::string> query_param(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    size_t eq = pair.find('=');
    std::string_view key = pair.substr(0, eq);
    if (!pair.empty() && key_matches(key, name)) {
      std::string value;
      if (eq != std::string_view::npos && !decode_into(pair.substr(eq + 1), true, value)) {
        return std::nullopt;
      }
      return value;
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

bool split_target(std::string_view target, std::string& path, std::string& query) {
  path.clear();
  query.clear();
  target = target.substr(0, target.find('#'));
  if (target == "*") {
    path.push_back('*');
    return true;
  }
  // RFC 9112 §3.2.2: absolute-form; the authority is Host's business.
  for (std::string_view scheme : {"http://", "https://"}) {
    if (target.size() >= scheme.size() && iequals(target.substr(0, scheme.size()), scheme)) {
      size_t slash = target.find_first_of("/?", scheme.size());
      target = target.substr(std::min(slash, target.size()));
      if (target.empty() || target.front() == '?') path.push_back('/');
      break;
    }
  }
  if (path.empty() && (target.empty() || target.front() != '/')) return false;
  size_t qmark = target.find('?');
  if (qmark != std::string_view::npos) query.append(target.substr(qmark + 1));
  std::string_view raw_path = target.substr(0, qmark);
  if (!raw_path.empty() && !decode_into(raw_path, false, path)) return false;
  return path.find('\0') == std::string::npos;
}

}  // namespace ringchat::http
