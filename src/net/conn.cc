#include "ringchat/net/conn.h"

#include <arpa/inet.h>

#include <cstring>

namespace ringchat::net {

namespace {
constexpr std::array<uint8_t, 12> kV4Mapped = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
}  // namespace

PeerAddr PeerAddr::from(const sockaddr_storage& ss) {
  PeerAddr p;
  if (ss.ss_family == AF_INET) {
    const auto& in = reinterpret_cast<const sockaddr_in&>(ss);
    std::memcpy(p.ip.data(), kV4Mapped.data(), kV4Mapped.size());
    std::memcpy(p.ip.data() + 12, &in.sin_addr, 4);
    p.port = ntohs(in.sin_port);
  } else if (ss.ss_family == AF_INET6) {
    const auto& in6 = reinterpret_cast<const sockaddr_in6&>(ss);
    std::memcpy(p.ip.data(), &in6.sin6_addr, 16);
    p.port = ntohs(in6.sin6_port);
  }
  return p;
}

bool PeerAddr::is_v4() const { return std::memcmp(ip.data(), kV4Mapped.data(), 12) == 0; }

std::string PeerAddr::to_string() const {
  char buf[INET6_ADDRSTRLEN];
  if (is_v4()) {
    inet_ntop(AF_INET, ip.data() + 12, buf, sizeof(buf));
    std::string out = buf;
    out += ':';
    out += std::to_string(port);
    return out;
  }
  inet_ntop(AF_INET6, ip.data(), buf, sizeof(buf));
  std::string out = "[";
  out += buf;
  out += "]:";
  out += std::to_string(port);
  return out;
}

}  // namespace ringchat::net
