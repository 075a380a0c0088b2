#pragma once
#include <cstdint>
#include <string>

#include "ringchat/core/errc.h"
#include "ringchat/core/result.h"

namespace ringchat::net {

struct SocketOptions {
  int rcvbuf = 0;   // SO_RCVBUF for accepted sockets; 0 = kernel default
  int sndbuf = 0;   // SO_SNDBUF for accepted sockets; 0 = kernel default
  int backlog = 4096;
};

// Opens a TCP listening socket with SO_REUSEPORT, so every shard can have its
// own and the kernel spreads connections across them. Options that accepted
// sockets inherit (TCP_NODELAY, SO_KEEPALIVE, buffer sizes) are set here once
// instead of per connection. `bind` is an IPv4 or IPv6 literal.
// Returns the fd; *port_out gets the bound port (useful with port 0).
Result<int, std::string> listen_tcp(const std::string& bind, uint16_t port,
                                    const SocketOptions& opts,
                                    uint16_t* port_out);

}  // namespace ringchat::net
