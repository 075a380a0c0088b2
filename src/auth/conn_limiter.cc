#include "ringchat/auth/conn_limiter.h"

#include <algorithm>
#include <cstring>
#include <mutex>
#include <unordered_map>

namespace ringchat::auth {

namespace {

constexpr Ip kLoopback6 = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
constexpr uint8_t kV4Mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};

// What an address is counted by: an IPv4 address whole, an IPv6 one by its
// /64 (the rest is the host's to pick, so it costs an attacker nothing).
struct Key {
  uint64_t hi;
  uint64_t lo;
  bool operator==(const Key&) const = default;
};

Key key_of(const Ip& ip) {
  Key k;
  std::memcpy(&k.hi, ip.data(), 8);
  std::memcpy(&k.lo, ip.data() + 8, 8);
  if (std::memcmp(ip.data(), kV4Mapped, sizeof kV4Mapped) != 0) k.lo = 0;
  return k;
}

struct KeyHash {
  size_t operator()(const Key& k) const {
    // Multiply-xorshift of both halves: cheap and well spread for addresses
    // that differ in a few bits.
    uint64_t h = (k.hi ^ (k.lo * 0x9E3779B97F4A7C15ull)) * 0xBF58476D1CE4E5B9ull;
    return static_cast<size_t>(h ^ (h >> 31));
  }
};

}  // namespace

struct ConnLimiter::Stripe {
  struct Entry {
    uint32_t conns = 0;
    uint64_t tat_us = 0;  // GCRA: when the bucket is full again
  };
  std::mutex mu;
  std::unordered_map<Key, Entry, KeyHash> map;
  size_t sweep_at = 64;

  // Forgets addresses with no connection and a full bucket, once the map has
  // doubled since the last sweep: amortized O(1) per admit.
  void maybe_sweep(uint64_t now_us) {
    if (map.size() < sweep_at) return;
    std::erase_if(
        map, [&](const auto& kv) { return kv.second.conns == 0 && kv.second.tat_us <= now_us; });
    sweep_at = std::max<size_t>(64, 2 * map.size());
  }
};

std::string_view to_string(Admit a) {
  switch (a) {
    case Admit::kOk:
      return "ok";
    case Admit::kTooManyConns:
      return "max_conns";
    case Admit::kTooManyFromIp:
      return "max_conns_per_ip";
    case Admit::kTooFast:
      return "conn_rate";
  }
  return "?";
}

ConnLimiter::ConnLimiter(const ConnLimits& limits)
    : limits_(limits),
      rate_(Rate::per_second(limits.conn_rate, limits.conn_burst)),
      stripes_(new Stripe[kStripes]) {}

ConnLimiter::~ConnLimiter() = default;

bool ConnLimiter::is_loopback(const Ip& ip) {
  if (ip == kLoopback6) return true;
  return std::memcmp(ip.data(), kV4Mapped, sizeof kV4Mapped) == 0 && ip[12] == 127;
}

Admit ConnLimiter::admit(const Ip& ip, uint64_t now_us) {
  if (limits_.max_conns > 0) {
    // Counted first, given back if refused: two shards racing for the last
    // place cannot both take it.
    if (open_.fetch_add(1, std::memory_order_relaxed) >= limits_.max_conns) {
      open_.fetch_sub(1, std::memory_order_relaxed);
      return Admit::kTooManyConns;
    }
  } else {
    open_.fetch_add(1, std::memory_order_relaxed);
  }
  if (!per_ip() || (!limits_.limit_loopback && is_loopback(ip))) return Admit::kOk;
  const Key k = key_of(ip);
  Stripe& s = stripes_[KeyHash{}(k) % kStripes];
  std::lock_guard lock(s.mu);
  s.maybe_sweep(now_us);
  Stripe::Entry& e = s.map[k];
  Admit verdict = Admit::kOk;
  if (limits_.max_conns_per_ip > 0 && e.conns >= limits_.max_conns_per_ip) {
    verdict = Admit::kTooManyFromIp;
  } else if (!rate_.take(e.tat_us, now_us)) {
    verdict = Admit::kTooFast;
  }
  if (verdict != Admit::kOk) {
    open_.fetch_sub(1, std::memory_order_relaxed);
    return verdict;
  }
  ++e.conns;
  return Admit::kOk;
}

void ConnLimiter::release(const Ip& ip) {
  open_.fetch_sub(1, std::memory_order_relaxed);
  if (!per_ip() || (!limits_.limit_loopback && is_loopback(ip))) return;
  const Key k = key_of(ip);
  Stripe& s = stripes_[KeyHash{}(k) % kStripes];
  std::lock_guard lock(s.mu);
  auto it = s.map.find(k);
  if (it == s.map.end() || it->second.conns == 0) return;  // not ours: a bug elsewhere
  // Kept while its bucket refills: a client that connects and closes at
  // once must not find a full bucket every time.
  if (--it->second.conns == 0 && !rate_.limited()) s.map.erase(it);
}

size_t ConnLimiter::tracked() const {
  size_t n = 0;
  for (size_t i = 0; i < kStripes; ++i) {
    std::lock_guard lock(stripes_[i].mu);
    n += stripes_[i].map.size();
  }
  return n;
}

}  // namespace ringchat::auth
