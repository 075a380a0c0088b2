#include "ringchat/core/op.h"

#include <gtest/gtest.h>

#include <cstdint>

namespace ringchat::core {
namespace {

constexpr Op kAllOps[] = {Op::kNone,  Op::kAccept, Op::kRecv,     Op::kSend, Op::kShutdown,
                          Op::kClose, Op::kCancel, Op::kDoorbell, Op::kStop, Op::kRedis};

void expect_round_trip(Op op, uint32_t slot, uint32_t gen) {
  const Tag t = unpack(pack(op, slot, gen));
  EXPECT_EQ(t.op, op);
  EXPECT_EQ(t.slot, slot);
  EXPECT_EQ(t.gen, gen & kGenMask);
}

TEST(Op, EveryOpRoundTripsWithSlotAndGeneration) {
  for (Op op : kAllOps) {
    SCOPED_TRACE(static_cast<int>(op));
    expect_round_trip(op, 0, 0);
    expect_round_trip(op, 1, 1);
    expect_round_trip(op, 12345, 678);
    expect_round_trip(op, UINT32_MAX, kGenMask);
  }
}

TEST(Op, MaxSlotDoesNotLeakIntoGenerationOrOp) {
  const Tag t = unpack(pack(Op::kRecv, UINT32_MAX, 0));
  EXPECT_EQ(t.op, Op::kRecv);
  EXPECT_EQ(t.gen, 0u);
  EXPECT_EQ(t.slot, UINT32_MAX);
}

TEST(Op, MaxGenerationDoesNotLeakIntoOpOrSlot) {
  const Tag t = unpack(pack(Op::kNone, 0, kGenMask));
  EXPECT_EQ(t.op, Op::kNone);
  EXPECT_EQ(t.gen, kGenMask);
  EXPECT_EQ(t.slot, 0u);
}

TEST(Op, GenerationWrapsAtTwentyFourBits) {
  EXPECT_EQ(kGenMask, (1u << 24) - 1);
  expect_round_trip(Op::kSend, 7, kGenMask + 1);  // wraps to 0
  EXPECT_EQ(unpack(pack(Op::kSend, 7, kGenMask + 1)).gen, 0u);
  EXPECT_EQ(unpack(pack(Op::kSend, 7, kGenMask + 5)).gen, 4u);
  // High generation bits never corrupt the op byte.
  EXPECT_EQ(unpack(pack(Op::kSend, 7, UINT32_MAX)).op, Op::kSend);
  EXPECT_EQ(unpack(pack(Op::kSend, 7, UINT32_MAX)).gen, kGenMask);
}

TEST(Op, LayoutIsOpGenerationSlot) {
  EXPECT_EQ(pack(Op::kNone, 0, 0), 0u);
  EXPECT_EQ(pack(Op::kStop, 0, 0) >> 56, static_cast<uint64_t>(Op::kStop));
  EXPECT_EQ(pack(Op::kNone, 0, 1), uint64_t{1} << 32);
  EXPECT_EQ(pack(Op::kNone, 0xABCD, 0), 0xABCDu);
}

TEST(Op, DistinctTagsPackToDistinctValues) {
  EXPECT_NE(pack(Op::kRecv, 1, 2), pack(Op::kSend, 1, 2));
  EXPECT_NE(pack(Op::kRecv, 1, 2), pack(Op::kRecv, 2, 2));
  EXPECT_NE(pack(Op::kRecv, 1, 2), pack(Op::kRecv, 1, 3));
}

TEST(Op, PackIsConstexpr) {
  static_assert(unpack(pack(Op::kDoorbell, 3, 4)).op == Op::kDoorbell);
  static_assert(unpack(pack(Op::kDoorbell, 3, 4)).slot == 3);
  static_assert(unpack(pack(Op::kDoorbell, 3, 4)).gen == 4);
  SUCCEED();
}

TEST(Op, RedisTagRoundTripsLinkGenerationAndSubOp) {
  for (RedisOp sub :
       {RedisOp::kConnect, RedisOp::kRecv, RedisOp::kSend, RedisOp::kCancel, RedisOp::kClose}) {
    for (uint32_t gen : {0u, 1u, 12345u, kRedisGenMask}) {
      const Tag t = unpack(pack_redis(UINT32_MAX, gen, sub));
      EXPECT_EQ(t.op, Op::kRedis);
      const RedisTag r = unpack_redis(t);
      EXPECT_EQ(r.link, UINT32_MAX);
      EXPECT_EQ(r.conn_gen, gen);
      EXPECT_EQ(r.sub, sub);
    }
  }
  // The connection generation wraps at 21 bits without touching the sub-op.
  EXPECT_EQ(unpack_redis(unpack(pack_redis(3, kRedisGenMask + 2, RedisOp::kSend))).conn_gen, 1u);
  EXPECT_EQ(unpack_redis(unpack(pack_redis(3, UINT32_MAX, RedisOp::kRecv))).sub, RedisOp::kRecv);
}

}  // namespace
}  // namespace ringchat::core
