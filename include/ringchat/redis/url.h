#pragma once
#include <cstdint>
#include <string>
#include <string_view>

#include "ringchat/core/result.h"

namespace ringchat::redis {

// Where a Redis server is and how to log in to it: TCP (host, port) or a
// unix socket (unix_path set, host empty), an optional ACL user and
// password (AUTH), and the database to SELECT.
// Thread: a plain value.
struct Endpoint {
  std::string host;  // a name, an IPv4 address or an IPv6 address without brackets
  uint16_t port = 6379;
  std::string unix_path;
  std::string user, password;  // user empty: AUTH <password> alone
  unsigned db = 0;
};

// Parses, and names what is wrong otherwise:
//   redis://[[user]:password@]host[:port][/db]   (host may be [v6 address])
//   unix:///path/to/socket[?db=N]
// user and password are percent-decoded (%40 is '@'); a user without a
// password ("redis://u@h") is refused, as Redis's AUTH needs one. db is
// 0..2^31-1 (the server's `databases` bounds it); port 1..65535. rediss://
// (TLS) is refused as not supported.
Result<Endpoint, std::string> parse_url(std::string_view url);

// The endpoint as a URL for logs: the password shown as "***", never itself.
std::string redacted(const Endpoint& ep);

}  // namespace ringchat::redis
