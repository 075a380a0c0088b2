#pragma once
#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string_view>

#include "ringchat/auth/rate.h"

namespace ringchat::auth {

// An IPv6 address, IPv4 as IPv4-mapped (::ffff:a.b.c.d), as net::PeerAddr holds it.
using Ip = std::array<uint8_t, 16>;

struct ConnLimits {
  uint32_t max_conns = 0;         // open connections in all; 0: no limit here
  uint32_t max_conns_per_ip = 0;  // open connections per address; 0: no limit
  // New connections per second per address (a token bucket of conn_burst,
  // refilled at conn_rate); 0: no limit.
  uint32_t conn_rate = 0;
  uint32_t conn_burst = 0;  // 0: conn_rate (one second's worth)
  // Loopback peers (127.0.0.0/8, ::1) are subject to the per-address limits
  // only if set: behind a reverse proxy on the same host every client would
  // otherwise share one address.
  bool limit_loopback = false;
};

enum class Admit : uint8_t {
  kOk,
  kTooManyConns,   // --max-conns
  kTooManyFromIp,  // --max-conns-per-ip
  kTooFast,        // --conn-rate
};
std::string_view to_string(Admit a);

// Counts open connections in all and per address, and new connections per
// address over time, for every shard at once. An IPv6 peer is counted by
// its /64 (what one subscriber is routed), an IPv4 peer by its address.
// Addresses are spread over kStripes mutex-guarded maps, so shards admitting
// at once rarely wait for each other, and each call holds a lock for a map
// lookup only. An address whose count is 0 and whose bucket is full again
// is forgotten, so the maps hold only addresses that matter now.
// Thread: any.
class ConnLimiter {
 public:
  static constexpr size_t kStripes = 64;

  explicit ConnLimiter(const ConnLimits& limits);
  ~ConnLimiter();
  ConnLimiter(const ConnLimiter&) = delete;
  ConnLimiter& operator=(const ConnLimiter&) = delete;

  // Counts a new connection from `ip` at `now_us` (a monotonic clock), or
  // says which limit refuses it (and counts nothing). Every kOk must be
  // matched by one release(ip). The total never exceeds max_conns; at the
  // edge, an attempt another address's limit refuses may hold its place for
  // a moment, so a racing attempt can be refused with one place free.
  Admit admit(const Ip& ip, uint64_t now_us);
  void release(const Ip& ip);

  // Open connections counted (all shards).
  uint32_t open() const { return open_.load(std::memory_order_relaxed); }
  // Addresses held in the maps (for tests).
  size_t tracked() const;

  static bool is_loopback(const Ip& ip);

 private:
  struct Stripe;
  bool per_ip() const { return limits_.max_conns_per_ip > 0 || limits_.conn_rate > 0; }

  const ConnLimits limits_;
  const Rate rate_;  // new connections per address
  std::atomic<uint32_t> open_{0};
  std::unique_ptr<Stripe[]> stripes_;
};

}  // namespace ringchat::auth
