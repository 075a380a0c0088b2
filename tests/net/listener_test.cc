#include "ringchat/net/listener.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string>
#include <vector>

namespace ringchat::net {
namespace {

// Closes the listeners a test opened.
class ListenerTest : public testing::Test {
 protected:
  void TearDown() override {
    for (int fd : fds_) close(fd);
  }
  int keep(int fd) {
    fds_.push_back(fd);
    return fd;
  }
  // Closes a kept fd before the test ends.
  void drop(int fd) {
    close(fd);
    std::erase(fds_, fd);
  }
  // Whether port_in_use() says taken; fails the test on an error.
  static bool in_use(const char* addr, uint16_t port) {
    auto r = port_in_use(addr, port);
    EXPECT_TRUE(r.ok()) << r.error();
    return r.ok() && *r;
  }
  // Connects a client to addr:port; returns its fd (kept) or -1.
  int connect_to(const char* addr, uint16_t port) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    inet_pton(AF_INET, addr, &a.sin_addr);
    int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c < 0) return -1;
    if (connect(c, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
      close(c);
      return -1;
    }
    return keep(c);
  }
  static int get_int(int fd, int level, int opt) {
    int v = -1;
    socklen_t len = sizeof(v);
    EXPECT_EQ(getsockopt(fd, level, opt, &v, &len), 0);
    return v;
  }
  // Connects a client to 127.0.0.1:port and accepts it on `lfd`.
  static bool connect_and_accept(int lfd, int family, const char* addr, uint16_t port) {
    sockaddr_storage ss{};
    socklen_t len;
    if (family == AF_INET) {
      auto* a = reinterpret_cast<sockaddr_in*>(&ss);
      a->sin_family = AF_INET;
      a->sin_port = htons(port);
      inet_pton(AF_INET, addr, &a->sin_addr);
      len = sizeof(*a);
    } else {
      auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
      a->sin6_family = AF_INET6;
      a->sin6_port = htons(port);
      inet_pton(AF_INET6, addr, &a->sin6_addr);
      len = sizeof(*a);
    }
    int c = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c < 0) return false;
    bool ok = connect(c, reinterpret_cast<sockaddr*>(&ss), len) == 0;
    int a = ok ? accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC) : -1;
    if (a >= 0) close(a);
    close(c);
    return ok && a >= 0;
  }

  std::vector<int> fds_;
};

TEST_F(ListenerTest, PortZeroGetsAnEphemeralPort) {
  uint16_t port = 0;
  auto r = listen_tcp("127.0.0.1", 0, {}, &port);
  ASSERT_TRUE(r.ok()) << r.error();
  keep(*r);
  EXPECT_NE(port, 0);
  EXPECT_TRUE(connect_and_accept(*r, AF_INET, "127.0.0.1", port));
}

TEST_F(ListenerTest, PortOutMayBeNull) {
  auto r = listen_tcp("127.0.0.1", 0, {}, nullptr);
  ASSERT_TRUE(r.ok()) << r.error();
  keep(*r);
}

TEST_F(ListenerTest, SetsOptionsAcceptedSocketsInherit) {
  uint16_t port = 0;
  auto r = listen_tcp("127.0.0.1", 0, {}, &port);
  ASSERT_TRUE(r.ok()) << r.error();
  const int fd = keep(*r);
  EXPECT_EQ(get_int(fd, SOL_SOCKET, SO_REUSEPORT), 1);
  EXPECT_EQ(get_int(fd, SOL_SOCKET, SO_KEEPALIVE), 1);
  EXPECT_NE(get_int(fd, IPPROTO_TCP, TCP_NODELAY), 0);
  EXPECT_EQ(get_int(fd, SOL_SOCKET, SO_ACCEPTCONN), 1);
  EXPECT_NE(fcntl(fd, F_GETFD) & FD_CLOEXEC, 0);
}

TEST_F(ListenerTest, BufferSizesAreApplied) {
  SocketOptions o;
  o.rcvbuf = 65536;
  o.sndbuf = 32768;
  uint16_t port = 0;
  auto r = listen_tcp("127.0.0.1", 0, o, &port);
  ASSERT_TRUE(r.ok()) << r.error();
  const int fd = keep(*r);
  // Linux doubles the requested size for bookkeeping overhead.
  EXPECT_GE(get_int(fd, SOL_SOCKET, SO_RCVBUF), 65536);
  EXPECT_GE(get_int(fd, SOL_SOCKET, SO_SNDBUF), 32768);
}

TEST_F(ListenerTest, TwoListenersShareAPortWithReusePort) {
  uint16_t port = 0;
  auto a = listen_tcp("127.0.0.1", 0, {}, &port);
  ASSERT_TRUE(a.ok()) << a.error();
  keep(*a);
  uint16_t port2 = 0;
  auto b = listen_tcp("127.0.0.1", port, {}, &port2);
  ASSERT_TRUE(b.ok()) << b.error();
  keep(*b);
  EXPECT_EQ(port2, port);
  EXPECT_NE(*a, *b);
}

TEST_F(ListenerTest, NonLiteralAddressIsAnError) {
  for (const char* bad : {"localhost", "", "256.1.1.1", "1.2.3", "::1::", "127.0.0.1 "}) {
    SCOPED_TRACE(bad);
    auto r = listen_tcp(bad, 0, {}, nullptr);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().find("not an IP literal"), std::string::npos) << r.error();
    EXPECT_NE(r.error().find(bad), std::string::npos) << "error should name the address";
  }
}

TEST_F(ListenerTest, AddressNotOnThisHostGivesABindError) {
  // 192.0.2.0/24 is TEST-NET-1 (RFC 5737): never a local address.
  auto r = listen_tcp("192.0.2.1", 0, {}, nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("bind 192.0.2.1:0"), std::string::npos) << r.error();
}

TEST_F(ListenerTest, PortTakenWithoutReusePortIsAnError) {
  int other = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(other, 0);
  keep(other);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = 0;
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  ASSERT_EQ(bind(other, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  ASSERT_EQ(listen(other, 1), 0);
  socklen_t len = sizeof(a);
  ASSERT_EQ(getsockname(other, reinterpret_cast<sockaddr*>(&a), &len), 0);
  const uint16_t port = ntohs(a.sin_port);
  auto r = listen_tcp("127.0.0.1", port, {}, nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("bind"), std::string::npos) << r.error();
  EXPECT_NE(r.error().find(std::to_string(port)), std::string::npos) << r.error();
}

// What keeps a second ringchat off a port the first one listens on: our
// listeners set SO_REUSEPORT, so listen_tcp() alone would join them.
TEST_F(ListenerTest, PortInUseWhileAReusePortListenerIsBound) {
  uint16_t port = 0;
  auto r = listen_tcp("127.0.0.1", 0, {}, &port);
  ASSERT_TRUE(r.ok()) << r.error();
  keep(*r);
  EXPECT_TRUE(in_use("127.0.0.1", port));
  EXPECT_TRUE(in_use("0.0.0.0", port)) << "the wildcard overlaps 127.0.0.1";
}

TEST_F(ListenerTest, PortIsFreeOnceTheListenerCloses) {
  uint16_t port = 0;
  auto r = listen_tcp("127.0.0.1", 0, {}, &port);
  ASSERT_TRUE(r.ok()) << r.error();
  keep(*r);
  ASSERT_TRUE(in_use("127.0.0.1", port));
  drop(*r);
  EXPECT_FALSE(in_use("127.0.0.1", port));
}

// A server that stopped listening but still drains its connections, or left
// them in TIME_WAIT, does not hold the port against its successor.
TEST_F(ListenerTest, ConnectionsOfAClosedListenerDoNotHoldThePort) {
  uint16_t port = 0;
  auto r = listen_tcp("127.0.0.1", 0, {}, &port);
  ASSERT_TRUE(r.ok()) << r.error();
  const int lfd = keep(*r);
  ASSERT_GE(connect_to("127.0.0.1", port), 0);
  const int draining = keep(accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC));
  ASSERT_GE(draining, 0);
  const int client = connect_to("127.0.0.1", port);
  ASSERT_GE(client, 0);
  const int closed = accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
  ASSERT_GE(closed, 0);
  close(closed);  // the server closes first, so its side ends in TIME_WAIT
  drop(client);
  drop(lfd);
  EXPECT_FALSE(in_use("127.0.0.1", port));
}

TEST_F(ListenerTest, PortInUseByAListenerWithoutReusePort) {
  int other = keep(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  ASSERT_GE(other, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  ASSERT_EQ(bind(other, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  ASSERT_EQ(listen(other, 1), 0);
  socklen_t len = sizeof(a);
  ASSERT_EQ(getsockname(other, reinterpret_cast<sockaddr*>(&a), &len), 0);
  EXPECT_TRUE(in_use("127.0.0.1", ntohs(a.sin_port)));
}

TEST_F(ListenerTest, PortZeroIsNeverInUse) { EXPECT_FALSE(in_use("127.0.0.1", 0)); }

TEST_F(ListenerTest, PortInUseNeedsAnIpLiteral) {
  auto r = port_in_use("localhost", 8080);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("not an IP literal"), std::string::npos) << r.error();
}

// A listen on ::1 failed because the host has no IPv6 loopback.
bool no_ipv6_loopback(const Result<int, std::string>& r) {
  return !r.ok() && (r.error().find("Address family") != std::string::npos ||
                     r.error().find("Cannot assign") != std::string::npos);
}

TEST_F(ListenerTest, PortInUseOnIpv6Loopback) {
  uint16_t port = 0;
  auto r = listen_tcp("::1", 0, {}, &port);
  if (no_ipv6_loopback(r)) GTEST_SKIP() << "no IPv6 loopback on this host: " << r.error();
  ASSERT_TRUE(r.ok()) << r.error();
  keep(*r);
  EXPECT_TRUE(in_use("::1", port));
  EXPECT_TRUE(in_use("::", port)) << "the wildcard overlaps ::1";
  drop(*r);
  EXPECT_FALSE(in_use("::1", port));
}

TEST_F(ListenerTest, Ipv6LoopbackWorks) {
  uint16_t port = 0;
  auto r = listen_tcp("::1", 0, {}, &port);
  if (no_ipv6_loopback(r)) GTEST_SKIP() << "no IPv6 loopback on this host: " << r.error();
  ASSERT_TRUE(r.ok()) << r.error();
  keep(*r);
  EXPECT_NE(port, 0);
  EXPECT_TRUE(connect_and_accept(*r, AF_INET6, "::1", port));
}

}  // namespace
}  // namespace ringchat::net
