#pragma once
#include <cstdint>
#include <string>

#include "ringchat/core/errc.h"
#include "ringchat/core/result.h"

namespace ringchat::net {

struct SocketOptions {
  int rcvbuf = 0;  // SO_RCVBUF for accepted sockets; 0 = kernel default
  int sndbuf = 0;  // SO_SNDBUF for accepted sockets; 0 = kernel default
  int backlog = 4096;
};

// Opens a TCP listening socket with SO_REUSEPORT, so every shard can have its
// own and the kernel spreads connections across them. SO_REUSEPORT also lets
// another process of the same user join the group: check port_in_use() first
// unless that is wanted (a rolling restart). Options that accepted
// sockets inherit (TCP_NODELAY, SO_KEEPALIVE, buffer sizes) are set here once
// instead of per connection. `bind` is an IPv4 or IPv6 literal.
// Returns the fd; *port_out gets the bound port (useful with port 0).
Result<int, std::string> listen_tcp(const std::string& bind, uint16_t port,
                                    const SocketOptions& opts, uint16_t* port_out);

// Whether a socket already listens on `bind`:`port` (another ringchat, which
// listens with SO_REUSEPORT, or any other server). The probe is a socket with
// SO_REUSEADDR and without SO_REUSEPORT that binds and never listens: its
// bind fails with EADDRINUSE only when a listener overlaps the address
// (a wildcard such as 0.0.0.0 overlaps
// every specific address), not for connections left in
// TIME_WAIT or still draining from a server that stopped listening. A server
// that starts listening after the probe is not seen.
// Errors: `bind` not an IP literal, or a bind failure other than EADDRINUSE.
// Thread: any.
Result<bool, std::string> port_in_use(const std::string& bind, uint16_t port);

}  // namespace ringchat::net
