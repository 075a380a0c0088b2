#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ringchat/redis/reply.h"

namespace ringchat::redis {

// Redis Cluster's key space: 16384 hash slots, each owned by one master.
inline constexpr uint16_t kSlots = 16384;

// CRC16-CCITT (XMODEM: polynomial 0x1021, init 0, no reflection), as the
// Redis Cluster spec uses it: crc16("123456789") == 0x31C3.
uint16_t crc16(std::string_view bytes);

// The slot of a key (or a sharded pub/sub channel): CRC16 of its hash tag
// mod 16384. The hash tag is what lies between the first '{' and the first
// '}' after it, when that is not empty; otherwise the whole key:
//   "{user1000}.following" -> slot of "user1000"
//   "foo{}{bar}"           -> slot of the whole key (the first tag is empty)
//   "foo{{bar}}zap"        -> slot of "{bar"
uint16_t key_slot(std::string_view key);

// A node as the cluster names it.
struct NodeAddr {
  std::string host;
  uint16_t port = 0;
  std::string text() const;  // host:port ([v6]:port)
  bool operator==(const NodeAddr&) const = default;
};

// "host:port" (host may be empty, or a [v6] address); nullopt if malformed.
std::optional<NodeAddr> parse_node_addr(std::string_view text);

// A redirection error: "MOVED <slot> <host>:<port>" (the slot lives
// elsewhere now: update the map) or "ASK <slot> <host>:<port>" (this once,
// ask there after ASKING). The host may be empty (Redis 7 with an unknown
// endpoint): the same host as the node that answered.
struct Redirect {
  bool ask = false;  // false: MOVED
  uint16_t slot = 0;
  NodeAddr to;
};
// nullopt: the error is not a redirection (or is malformed).
std::optional<Redirect> parse_redirect(std::string_view error);

// Which master owns each slot, as CLUSTER SLOTS tells.
// Thread: a plain value.
class SlotMap {
 public:
  SlotMap();
  // Replaces the map with a CLUSTER SLOTS reply:
  //   [[start, end, [host, port, id, ...], replica...], ...]
  // A master with an empty host ("" or "?") is `answered_by`'s host. Slots
  // not listed have no owner. False (the map unchanged): not such a reply.
  bool parse(const Reply& r, std::string_view answered_by_host);
  // The owner of `slot`; nullptr: none known.
  const NodeAddr* owner(uint16_t slot) const;
  // After MOVED: `slot` is `to`'s.
  void set(uint16_t slot, const NodeAddr& to);
  // Every slot has an owner.
  bool complete() const;
  // The masters that own at least one slot (also any that a set() named).
  const std::vector<NodeAddr>& nodes() const { return nodes_; }
  void clear();

 private:
  uint16_t index_of(const NodeAddr& n);
  std::vector<NodeAddr> nodes_;
  std::vector<uint16_t> owner_;  // per slot: index into nodes_ + 1, 0: none
};

}  // namespace ringchat::redis
