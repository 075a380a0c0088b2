#pragma once
#include <cstdint>

namespace ringchat::core {

// What a completion is for. Only this header packs or reads user_data.
enum class Op : uint8_t {
  kNone = 0,
  kAccept,    // multishot accept on a shard's listener
  kRecv,      // multishot recv on a connection
  kSend,      // one sendmsg of a connection's queue
  kShutdown,  // shutdown(SHUT_WR) during a lingering close
  kClose,     // close of a direct descriptor; result ignored
  kCancel,    // cancellation request; result ignored
  kDoorbell,  // MSG_RING from another shard: mailboxes have work
  kStop,      // MSG_RING from the control thread: drain and stop
  kRedis,     // a redis::Link's connect, recv, send (and its cancel, close)
};

// user_data = op (8 bits) | generation (24 bits) | slot (32 bits).
// The generation lets a handler drop completions of a slot that was closed
// and reused earlier in the same batch.
struct Tag {
  Op op = Op::kNone;
  uint32_t gen = 0;
  uint32_t slot = 0;
};

inline constexpr uint32_t kGenMask = 0xFFFFFF;

constexpr uint64_t pack(Op op, uint32_t slot, uint32_t gen) {
  return (uint64_t{static_cast<uint8_t>(op)} << 56) | (uint64_t{gen & kGenMask} << 32) | slot;
}

constexpr Tag unpack(uint64_t user_data) {
  return Tag{static_cast<Op>(user_data >> 56), static_cast<uint32_t>(user_data >> 32) & kGenMask,
             static_cast<uint32_t>(user_data)};
}

// Op::kRedis packs its own fields into Tag's slot and gen:
//   slot = the link's id in its shard's redis::Dispatcher;
//   gen  = the link's connection generation (21 bits; a new one for every
//          socket, so completions of a closed socket are dropped after a
//          reconnect) << 3 | the sub-op (3 bits, RedisOp).
enum class RedisOp : uint8_t { kConnect = 1, kRecv, kSend, kCancel, kClose };
inline constexpr uint32_t kRedisGenMask = kGenMask >> 3;

struct RedisTag {
  uint32_t link = 0;
  uint32_t conn_gen = 0;
  RedisOp sub = RedisOp::kConnect;
};

constexpr uint64_t pack_redis(uint32_t link, uint32_t conn_gen, RedisOp sub) {
  return pack(Op::kRedis, link, ((conn_gen & kRedisGenMask) << 3) | static_cast<uint8_t>(sub));
}

// REQUIRES: tag.op == Op::kRedis.
constexpr RedisTag unpack_redis(Tag tag) {
  return RedisTag{tag.slot, tag.gen >> 3, static_cast<RedisOp>(tag.gen & 7)};
}

}  // namespace ringchat::core
