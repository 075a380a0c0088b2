#include "ringchat/chat/stats.h"

#include <gtest/gtest.h>

#include <cstdint>

namespace ringchat::chat {
namespace {

constexpr uint64_t kBounds[] = {10, 20, 40};

TEST(BucketQuantile, InterpolatesInsideTheBucketHoldingTheRank) {
  const uint64_t counts[] = {0, 10, 0, 0};  // all ten in (10, 20]
  EXPECT_DOUBLE_EQ(bucket_quantile(counts, kBounds, 3, 0.5), 15);
  EXPECT_DOUBLE_EQ(bucket_quantile(counts, kBounds, 3, 1.0), 20);
  const uint64_t spread[] = {5, 0, 5, 0};  // half in [0, 10], half in (20, 40]
  EXPECT_DOUBLE_EQ(bucket_quantile(spread, kBounds, 3, 0.5), 10);
  EXPECT_DOUBLE_EQ(bucket_quantile(spread, kBounds, 3, 0.9), 36);
}

TEST(BucketQuantile, SaysTheLastBoundPastItAndZeroWithoutSamples) {
  const uint64_t over[] = {1, 0, 0, 9};
  EXPECT_DOUBLE_EQ(bucket_quantile(over, kBounds, 3, 0.99), 40);
  const uint64_t none[] = {0, 0, 0, 0};
  EXPECT_DOUBLE_EQ(bucket_quantile(none, kBounds, 3, 0.5), 0);
}

TEST(StatsBoard, KeepsEachShardsListsAndHowLongItIsWatched) {
  StatsBoard board(2);
  EXPECT_FALSE(board.wanted(1000));
  board.watched(1000);
  EXPECT_TRUE(board.wanted(1000 + kStatsWatchMs - 1));
  EXPECT_FALSE(board.wanted(1000 + kStatsWatchMs));
  ShardTops t;
  t.at_ms = 7;
  t.hot.push_back({"lobby", 1, 3, 2});
  board.put(1, t);
  EXPECT_EQ(board.get(0).at_ms, 0u);
  ASSERT_EQ(board.get(1).hot.size(), 1u);
  EXPECT_EQ(board.get(1).hot[0].room, "lobby");
}

}  // namespace
}  // namespace ringchat::chat
