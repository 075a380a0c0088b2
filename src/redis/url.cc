#include "ringchat/redis/url.h"

#include <cctype>
#include <charconv>

namespace ringchat::redis {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// RFC 3986 §2.1: "%" HEXDIG HEXDIG is one octet.
bool percent_decode(std::string_view in, std::string* out) {
  out->clear();
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      *out += in[i];
      continue;
    }
    if (i + 2 >= in.size()) return false;
    const int hi = hex_value(in[i + 1]), lo = hex_value(in[i + 2]);
    if (hi < 0 || lo < 0) return false;
    *out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return true;
}

template <typename T>
bool parse_number(std::string_view s, T max, T* out) {
  if (s.empty()) return false;
  T v{};
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v > max) return false;
  *out = v;
  return true;
}

bool parse_db(std::string_view s, unsigned* db) {
  return parse_number<unsigned>(s, 0x7FFFFFFFu, db);
}

Result<Endpoint, std::string> parse_unix(std::string_view rest) {
  Endpoint ep;
  std::string_view path = rest;
  if (size_t q = rest.find('?'); q != std::string_view::npos) {
    path = rest.substr(0, q);
    std::string_view query = rest.substr(q + 1);
    if (query.substr(0, 3) != "db=" || !parse_db(query.substr(3), &ep.db)) {
      return Err("redis URL: the only query a unix URL takes is ?db=N");
    }
  }
  if (path.empty() || path[0] != '/') {
    return Err("redis URL: unix:// needs an absolute path (unix:///path)");
  }
  ep.unix_path = std::string(path);
  return ep;
}

// userinfo = [user]:password, both percent-encoded.
Result<void, std::string> parse_userinfo(std::string_view info, Endpoint* ep) {
  const size_t colon = info.find(':');
  if (colon == std::string_view::npos) {
    return Err("redis URL: credentials need a password (user:password@)");
  }
  if (!percent_decode(info.substr(0, colon), &ep->user) ||
      !percent_decode(info.substr(colon + 1), &ep->password)) {
    return Err("redis URL: bad percent-encoding in the credentials");
  }
  if (ep->password.empty()) {
    return Err("redis URL: empty password");
  }
  return {};
}

Result<void, std::string> parse_hostport(std::string_view hp, Endpoint* ep) {
  std::string_view port;
  if (!hp.empty() && hp[0] == '[') {
    const size_t close = hp.find(']');
    if (close == std::string_view::npos || close == 1) {
      return Err("redis URL: bad [IPv6] host");
    }
    ep->host = std::string(hp.substr(1, close - 1));
    std::string_view after = hp.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') return Err("redis URL: junk after ]");
      port = after.substr(1);
      if (port.empty()) return Err("redis URL: empty port");
    }
  } else {
    const size_t colon = hp.find(':');
    ep->host = std::string(hp.substr(0, colon));
    if (colon != std::string_view::npos) {
      port = hp.substr(colon + 1);
      if (port.empty()) return Err("redis URL: empty port");
    }
    if (ep->host.find_first_of("[]") != std::string::npos) {
      return Err("redis URL: bad host (IPv6 goes in [brackets])");
    }
  }
  if (ep->host.empty()) return Err("redis URL: no host");
  if (!port.empty()) {
    uint16_t p = 0;
    if (!parse_number<uint16_t>(port, 65535, &p) || p == 0) {
      return Err("redis URL: bad port (a number, 1..65535)");
    }
    ep->port = p;
  }
  return {};
}

Result<Endpoint, std::string> parse_tcp(std::string_view rest) {
  Endpoint ep;
  std::string_view authority = rest, path;
  if (size_t slash = rest.find('/'); slash != std::string_view::npos) {
    authority = rest.substr(0, slash);
    path = rest.substr(slash + 1);
  }
  if (rest.find_first_of("?#") != std::string_view::npos) {
    return Err("redis URL: query and fragment are not supported");
  }
  // The password may hold '@' only encoded, so the last '@' ends it.
  if (size_t at = authority.rfind('@'); at != std::string_view::npos) {
    if (auto r = parse_userinfo(authority.substr(0, at), &ep); !r) return Err(r.error());
    authority = authority.substr(at + 1);
  }
  if (auto r = parse_hostport(authority, &ep); !r) return Err(r.error());
  if (!path.empty() && !parse_db(path, &ep.db)) {
    return Err("redis URL: bad database (a number after the /)");
  }
  return ep;
}

void percent_encode(std::string_view in, std::string* out) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (char c : in) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '-' || c == '.' || c == '_' || c == '~') {
      *out += c;
    } else {
      *out += '%';
      *out += kHex[u >> 4];
      *out += kHex[u & 15];
    }
  }
}

}  // namespace

Result<Endpoint, std::string> parse_url(std::string_view url) {
  constexpr std::string_view kRedis = "redis://", kUnix = "unix://", kRediss = "rediss://";
  if (url.substr(0, kRediss.size()) == kRediss) {
    return Err("redis URL: rediss:// (TLS) is not supported");
  }
  if (url.substr(0, kRedis.size()) == kRedis) return parse_tcp(url.substr(kRedis.size()));
  if (url.substr(0, kUnix.size()) == kUnix) return parse_unix(url.substr(kUnix.size()));
  return Err(std::string(
      "redis URL: expected redis://[[user]:password@]host[:port][/db] or unix:///path[?db=N]"));
}

std::string redacted(const Endpoint& ep) {
  std::string out;
  if (!ep.unix_path.empty()) {
    out = "unix://";
    out += ep.unix_path;
    if (ep.db != 0) {
      out += "?db=";
      out += std::to_string(ep.db);
    }
    return out;
  }
  out = "redis://";
  if (!ep.password.empty()) {
    percent_encode(ep.user, &out);
    out += ":***@";
  }
  if (ep.host.find(':') != std::string::npos) {
    out += '[';
    out += ep.host;
    out += ']';
  } else {
    out += ep.host;
  }
  out += ':';
  out += std::to_string(ep.port);
  if (ep.db != 0) {
    out += '/';
    out += std::to_string(ep.db);
  }
  return out;
}

}  // namespace ringchat::redis
