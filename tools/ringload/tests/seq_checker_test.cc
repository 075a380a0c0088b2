#include "seq_checker.h"

#include <gtest/gtest.h>

#include <initializer_list>

namespace ringchat::ringload {
namespace {

constexpr uint64_t kEpoch = 0xabc;

class SeqCheckerTest : public ::testing::Test {
 protected:
  void msgs(std::initializer_list<uint64_t> seqs) {
    for (uint64_t s : seqs) c_.on_message(s);
  }
  SeqChecker c_;
};

TEST_F(SeqCheckerTest, ConsecutiveAfterStartIsClean) {
  c_.start(kEpoch, 10);
  msgs({11, 12, 13});
  EXPECT_TRUE(c_.counts().clean());
  EXPECT_EQ(c_.last(), 13u);
}

TEST_F(SeqCheckerTest, CatchesGapAndDuplicate) {
  c_.start(kEpoch, 0);
  msgs({1, 3, 3});
  EXPECT_EQ(c_.counts().gaps, 1u);
  EXPECT_EQ(c_.counts().duplicates, 1u);
}

TEST_F(SeqCheckerTest, FirstMessageAfterStartMustFollow) {
  c_.start(kEpoch, 10);
  msgs({12});
  EXPECT_EQ(c_.counts().gaps, 1u);
}

TEST_F(SeqCheckerTest, RecoveredResumeContinues) {
  c_.start(kEpoch, 0);
  msgs({1, 2});
  c_.resumed(kEpoch, true, 3, 5);
  msgs({3, 4, 5});
  EXPECT_TRUE(c_.counts().clean());
  EXPECT_EQ(c_.counts().recovered, 1u);
}

TEST_F(SeqCheckerTest, RecoveredResumeThatSkipsIsAGap) {
  c_.start(kEpoch, 0);
  msgs({1, 2});
  c_.resumed(kEpoch, true, 0, 0);
  msgs({4});
  EXPECT_EQ(c_.counts().gaps, 1u);
}

TEST_F(SeqCheckerTest, RecoveredResumeThatRepeatsIsADuplicate) {
  c_.start(kEpoch, 0);
  msgs({1, 2});
  c_.resumed(kEpoch, true, 2, 0);
  msgs({2, 3});
  EXPECT_EQ(c_.counts().duplicates, 1u);
}

TEST_F(SeqCheckerTest, NotRecoveredIsExcusedWhenHistoryNoLongerReaches) {
  c_.start(kEpoch, 0);
  msgs({1});
  c_.resumed(kEpoch, false, 50, 60);
  msgs({50, 51});
  EXPECT_TRUE(c_.counts().clean());
  EXPECT_EQ(c_.counts().unrecoverable, 1u);
  EXPECT_EQ(c_.counts().missed, 48u);
}

TEST_F(SeqCheckerTest, NotRecoveredWithNothingMissingIsAnError) {
  c_.start(kEpoch, 0);
  msgs({1});
  c_.resumed(kEpoch, false, 2, 5);
  EXPECT_EQ(c_.counts().not_recovered, 1u);
  EXPECT_FALSE(c_.counts().clean());
}

TEST_F(SeqCheckerTest, JsonNotRecoveredIsJudgedAtTheFirstMessage) {
  c_.start(kEpoch, 0);
  msgs({1});
  c_.resumed(kEpoch, false, 0, 90);
  EXPECT_EQ(c_.counts().not_recovered + c_.counts().unrecoverable, 0u);
  msgs({40});
  EXPECT_EQ(c_.counts().unrecoverable, 1u);
  EXPECT_TRUE(c_.counts().clean());
}

TEST_F(SeqCheckerTest, JsonNotRecoveredThoughRoomHadNothingNewIsAnError) {
  c_.start(kEpoch, 0);
  msgs({1, 2});
  c_.resumed(kEpoch, false, 0, 2);
  EXPECT_EQ(c_.counts().not_recovered, 1u);
}

TEST_F(SeqCheckerTest, AnotherEpochIsUnrecoverableAndRestarts) {
  c_.start(kEpoch, 0);
  msgs({1, 2});
  c_.resumed(kEpoch + 1, false, 0, 7);
  msgs({5, 6});
  EXPECT_TRUE(c_.counts().clean());
  EXPECT_EQ(c_.counts().unrecoverable, 1u);
  EXPECT_EQ(c_.epoch(), kEpoch + 1);
}

TEST_F(SeqCheckerTest, RecoveredAcrossEpochsIsAnError) {
  c_.start(kEpoch, 0);
  c_.resumed(kEpoch + 1, true, 1, 0);
  EXPECT_EQ(c_.counts().not_recovered, 1u);
}

}  // namespace
}  // namespace ringchat::ringload
