#include "ringchat/net/listener.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace ringchat::net {

namespace {

std::string sys_error(const char* what) { return std::string(what) + ": " + std::strerror(errno); }

bool set_int(int fd, int level, int opt, int value) {
  return setsockopt(fd, level, opt, &value, sizeof(value)) == 0;
}

bool set_options(int fd, const SocketOptions& opts) {
  bool ok = set_int(fd, SOL_SOCKET, SO_REUSEADDR, 1) && set_int(fd, SOL_SOCKET, SO_REUSEPORT, 1) &&
            set_int(fd, IPPROTO_TCP, TCP_NODELAY, 1) && set_int(fd, SOL_SOCKET, SO_KEEPALIVE, 1);
  // Keepalive probes find dead peers of idle connections: start after 60 s
  // idle, probe every 10 s, give up after 6 misses.
  ok = ok && set_int(fd, IPPROTO_TCP, TCP_KEEPIDLE, 60) &&
       set_int(fd, IPPROTO_TCP, TCP_KEEPINTVL, 10) && set_int(fd, IPPROTO_TCP, TCP_KEEPCNT, 6);
  if (ok && opts.rcvbuf > 0) ok = set_int(fd, SOL_SOCKET, SO_RCVBUF, opts.rcvbuf);
  if (ok && opts.sndbuf > 0) ok = set_int(fd, SOL_SOCKET, SO_SNDBUF, opts.sndbuf);
  return ok;
}

// Fills `ss` from an IPv4 or IPv6 literal; returns the address length.
Result<socklen_t, std::string> to_sockaddr(const std::string& bind, uint16_t port,
                                           sockaddr_storage* ss) {
  auto* v4 = reinterpret_cast<sockaddr_in*>(ss);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(ss);
  if (inet_pton(AF_INET, bind.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    return socklen_t{sizeof(*v4)};
  }
  if (inet_pton(AF_INET6, bind.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    return socklen_t{sizeof(*v6)};
  }
  return Err("bind address is not an IP literal: " + bind);
}

}  // namespace

Result<int, std::string> listen_tcp(const std::string& bind, uint16_t port,
                                    const SocketOptions& opts, uint16_t* port_out) {
  sockaddr_storage ss{};
  auto len = to_sockaddr(bind, port, &ss);
  if (!len) return Err(len.error());
  int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Err(sys_error("socket"));
  if (!set_options(fd, opts)) {
    std::string e = sys_error("setsockopt");
    close(fd);
    return Err(e);
  }
  if (::bind(fd, reinterpret_cast<sockaddr*>(&ss), *len) != 0) {
    std::string e = sys_error(("bind " + bind + ":" + std::to_string(port)).c_str());
    close(fd);
    return Err(e);
  }
  if (listen(fd, opts.backlog) != 0) {
    std::string e = sys_error("listen");
    close(fd);
    return Err(e);
  }
  if (port_out) {
    sockaddr_storage got{};
    socklen_t got_len = sizeof(got);
    getsockname(fd, reinterpret_cast<sockaddr*>(&got), &got_len);
    *port_out = ntohs(got.ss_family == AF_INET ? reinterpret_cast<sockaddr_in*>(&got)->sin_port
                                               : reinterpret_cast<sockaddr_in6*>(&got)->sin6_port);
  }
  return fd;
}

Result<bool, std::string> port_in_use(const std::string& bind, uint16_t port) {
  sockaddr_storage ss{};
  auto len = to_sockaddr(bind, port, &ss);
  if (!len) return Err(len.error());
  int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Err(sys_error("socket"));
  // SO_REUSEADDR, as our listeners set it, so that sockets which do not
  // listen (TIME_WAIT, a draining server's connections) do not conflict.
  // No SO_REUSEPORT: that is what makes a listener's port conflict.
  if (!set_int(fd, SOL_SOCKET, SO_REUSEADDR, 1)) {
    std::string e = sys_error("setsockopt");
    close(fd);
    return Err(e);
  }
  const bool bound = ::bind(fd, reinterpret_cast<sockaddr*>(&ss), *len) == 0;
  const int err = errno;
  close(fd);
  if (bound) return false;
  if (err == EADDRINUSE) return true;
  errno = err;
  return Err(sys_error(("bind " + bind + ":" + std::to_string(port)).c_str()));
}

}  // namespace ringchat::net
