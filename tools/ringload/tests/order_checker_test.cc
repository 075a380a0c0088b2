#include "order_checker.h"

#include <gtest/gtest.h>

#include <initializer_list>

namespace ringchat::ringload {
namespace {

OrderCounts feed(std::initializer_list<uint64_t> seqs, uint64_t sender = 7) {
  OrderChecker c;
  for (uint64_t q : seqs) c.on_message(sender, q);
  return c.counts();
}

TEST(OrderChecker, InOrderIsClean) {
  const OrderCounts c = feed({1, 2, 3, 4, 5});
  EXPECT_TRUE(c.clean());
}

TEST(OrderChecker, CatchesPlantedGap) {
  const OrderCounts c = feed({1, 2, 4, 5});
  EXPECT_EQ(c.gaps, 1u);
  EXPECT_EQ(c.duplicates, 0u);
  EXPECT_EQ(c.reorders, 0u);
}

TEST(OrderChecker, CatchesPlantedDuplicate) {
  const OrderCounts c = feed({1, 2, 3, 3, 4});
  EXPECT_EQ(c.duplicates, 1u);
  EXPECT_EQ(c.gaps, 0u);
  EXPECT_EQ(c.reorders, 0u);
}

TEST(OrderChecker, CatchesPlantedReorder) {
  const OrderCounts c = feed({1, 3, 2, 4});
  EXPECT_EQ(c.reorders, 1u);
  EXPECT_EQ(c.gaps, 0u);
  EXPECT_EQ(c.duplicates, 0u);
  EXPECT_FALSE(c.clean());
}

TEST(OrderChecker, OldDuplicateIsNotReorder) {
  const OrderCounts c = feed({1, 2, 3, 1});
  EXPECT_EQ(c.duplicates, 1u);
  EXPECT_EQ(c.reorders, 0u);
}

TEST(OrderChecker, FirstMessageSetsBaseline) {
  const OrderCounts c = feed({100, 101, 102});
  EXPECT_TRUE(c.clean());
}

TEST(OrderChecker, SendersAreIndependent) {
  OrderChecker c;
  c.on_message(1, 1);
  c.on_message(2, 1);
  c.on_message(1, 2);
  c.on_message(2, 2);
  EXPECT_TRUE(c.counts().clean());
  c.on_message(2, 4);
  EXPECT_EQ(c.counts().gaps, 1u);
}

TEST(OrderChecker, HugeGapCountsEveryMissingNumber) {
  const OrderCounts c = feed({1, 1 + OrderChecker::kMaxTrackedMissing + 11});
  EXPECT_EQ(c.gaps, OrderChecker::kMaxTrackedMissing + 10);
}

TEST(OrderChecker, JumpAcrossReconnectIsMissedNotGap) {
  OrderChecker c;
  c.on_message(1, 1);
  c.mark_reconnect();
  c.on_message(1, 5);
  c.on_message(1, 7);
  EXPECT_EQ(c.counts().missed, 3u);
  EXPECT_EQ(c.counts().gaps, 1u);
}

}  // namespace
}  // namespace ringchat::ringload

namespace ringchat::ringload {
namespace {

TEST(OrderChecker, ManySendersAgreeWithASimpleModel) {
  // Thousands of senders (the table grows) with planted faults at known places.
  OrderChecker c;
  for (uint64_t round = 1; round <= 20; ++round) {
    for (uint64_t sender = 0; sender < 3000; ++sender) {
      if (sender == 17 && round == 5) continue;  // a gap
      c.on_message(sender, round);
      if (sender == 2999 && round == 7) c.on_message(sender, round);  // a duplicate
    }
  }
  const OrderCounts k = c.counts();
  EXPECT_EQ(c.senders(), 3000u);
  EXPECT_EQ(k.gaps, 1u);
  EXPECT_EQ(k.duplicates, 1u);
  EXPECT_EQ(k.reorders, 0u);
}

TEST(OrderChecker, LateArrivalAfterManyGapsIsReorder) {
  OrderChecker c;
  c.on_message(5, 1);
  c.on_message(5, 10);
  c.on_message(5, 4);
  c.on_message(5, 4);
  const OrderCounts k = c.counts();
  EXPECT_EQ(k.reorders, 1u);
  EXPECT_EQ(k.duplicates, 1u);
  EXPECT_EQ(k.gaps, 7u);
}

}  // namespace
}  // namespace ringchat::ringload
