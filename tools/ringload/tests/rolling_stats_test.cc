#include "rolling_stats.h"

#include <gtest/gtest.h>

#include "order_checker.h"
#include "seq_checker.h"

namespace ringchat::ringload {
namespace {

constexpr uint64_t kMs = 1'000'000;
constexpr uint64_t kEpochA = 0xa, kEpochB = 0xb;

// --- classifying lost messages: silently vs told ------------------------

// One receiver of one room: its room-seq checker, its payload checker, and
// the tally every receiver of the run feeds.
struct Receiver {
  SeqChecker seq;
  OrderChecker order;
  void msgs(uint64_t from, uint64_t to, uint64_t sender = 1) {
    for (uint64_t s = from; s <= to; ++s) {
      seq.on_message(s);
      order.on_message(sender, s);
    }
  }
  void feed(EpochTally& t, uint32_t room = 0) const {
    for (const SeqChecker::Left& l : seq.left()) t.left(room, l.epoch, l.last);
    if (seq.has_position()) t.seen(room, seq.epoch(), seq.last());
  }
};

LossCounts classify(std::initializer_list<const Receiver*> rs) {
  EpochTally t;
  OrderCounts o;
  SeqCounts s;
  for (const Receiver* r : rs) {
    r->feed(t);
    o.add(r->order.counts());
    s.add(r->seq.counts());
  }
  return classify_loss(o, s, t);
}

TEST(ClassifyLoss, EpochChangeOnResumeIsToldAndCountsWhatOthersSaw) {
  Receiver moved, stayed;
  moved.seq.start(kEpochA, 0);
  stayed.seq.start(kEpochA, 0);
  moved.msgs(1, 10);
  stayed.msgs(1, 25);  // the old server went on 15 more for those not yet closed
  // The moved one resumes from A:10 on the other process: recovered:false,
  // epoch B, whose history begins at 1.
  moved.seq.resumed(kEpochB, false, 1, 0);
  moved.order.mark_reconnect();
  moved.msgs(1, 5, 2);
  const LossCounts l = classify({&moved, &stayed});
  EXPECT_EQ(l.silently, 0u);
  EXPECT_EQ(l.epoch_changes, 1u);
  EXPECT_EQ(l.told_epoch, 15u);
  EXPECT_EQ(l.told, 15u);
}

TEST(ClassifyLoss, RecoveredResumeThatSkipsIsSilent) {
  Receiver r;
  r.seq.start(kEpochA, 0);
  r.msgs(1, 10);
  r.seq.resumed(kEpochA, true, 11, 0);  // a bridge that claims it recovered
  r.msgs(14, 20);                       // ... but 11-13 never come
  const LossCounts l = classify({&r});
  EXPECT_EQ(l.seq_gaps, 3u);
  EXPECT_EQ(l.payload_gaps, 3u);
  EXPECT_EQ(l.silently, 3u);  // one lost message shows in both checkers: not twice
  EXPECT_EQ(l.told, 0u);
  EXPECT_EQ(l.epoch_changes, 0u);
}

TEST(ClassifyLoss, SameEpochBeyondHistoryIsToldNotSilent) {
  Receiver r;
  r.seq.start(kEpochA, 0);
  r.msgs(1, 10);
  r.seq.resumed(kEpochA, false, 31, 0);  // history no longer reached back
  r.order.mark_reconnect();
  r.msgs(31, 40);
  const LossCounts l = classify({&r});
  EXPECT_EQ(l.silently, 0u);
  EXPECT_EQ(l.told_history, 20u);
  EXPECT_EQ(l.told, 20u);
  EXPECT_EQ(l.epoch_changes, 0u);
}

TEST(ClassifyLoss, SenderGoingOnWhereTheReceiverLeftIsToldPayloadLoss) {
  Receiver r;
  r.seq.start(kEpochA, 0);
  r.msgs(1, 5, 7);  // sender 7's numbers 1-5 are room seqs 1-5
  r.seq.resumed(kEpochB, false, 1, 0);
  r.order.mark_reconnect();
  // Sender 7 published 6-8 where nobody of the run listened any more, then
  // reached the receiver's new server as the same sender.
  r.seq.on_message(1);
  r.order.on_message(7, 9);
  const LossCounts l = classify({&r});
  EXPECT_EQ(l.silently, 0u);
  EXPECT_EQ(l.told_epoch, 0u);
  EXPECT_EQ(l.told_payload, 3u);
  EXPECT_EQ(l.told, 3u);
}

TEST(ClassifyLoss, GapWithoutAnyReconnectIsSilent) {
  Receiver r;
  r.seq.start(kEpochA, 0);
  r.msgs(1, 3);
  r.msgs(5, 6);
  const LossCounts l = classify({&r});
  EXPECT_EQ(l.silently, 1u);
  EXPECT_EQ(l.told, 0u);
}

TEST(ClassifyLoss, RecoveredTrueAcrossEpochsIsNotAnExcusedChange) {
  Receiver r;
  r.seq.start(kEpochA, 0);
  r.msgs(1, 4);
  r.seq.resumed(kEpochB, true, 1, 0);
  EXPECT_EQ(r.seq.counts().not_recovered, 1u);
  EXPECT_EQ(classify({&r}).epoch_changes, 0u);
}

TEST(EpochTally, OnlyTheSameRoomAndEpochCount) {
  EpochTally t;
  t.left(0, kEpochA, 4);
  t.seen(0, kEpochA, 9);
  t.seen(1, kEpochA, 50);  // another room with the same epoch value
  t.seen(0, kEpochB, 70);  // the same room's other epoch
  t.left(2, kEpochA, 3);   // nobody saw more of room 2
  EXPECT_EQ(t.changes(), 2u);
  EXPECT_EQ(t.told_lost(), 5u);
}

// --- the reconnect curve -------------------------------------------------

TEST(ReconnectCurve, ConnectedIsOpensMinusDropsPerBucket) {
  ReconnectCurve c;
  for (int i = 0; i < 4; ++i) c.on_open(50 * kMs, false);  // bucket 0
  c.on_drop(1010 * kMs);                                   // bucket 10
  c.on_drop(1020 * kMs);
  c.on_open(1250 * kMs, true);  // bucket 12
  const auto conn = c.connected();
  ASSERT_EQ(conn.size(), 13u);
  EXPECT_EQ(conn[0], 4);
  EXPECT_EQ(conn[9], 4);
  EXPECT_EQ(conn[10], 2);
  EXPECT_EQ(conn[11], 2);
  EXPECT_EQ(conn[12], 3);
  EXPECT_EQ(c.reopens[12], 1u);
  EXPECT_EQ(c.opens.size(), c.drops.size());
  EXPECT_EQ(c.opens.size(), c.reopens.size());
}

TEST(ReconnectCurve, MergeAddsBucketwise) {
  ReconnectCurve a, b;
  a.on_open(0, false);
  b.on_open(0, false);
  b.on_drop(500 * kMs);
  b.on_open(700 * kMs, true);
  a.merge(b);
  EXPECT_EQ(a.connected().back(), 2);
  EXPECT_EQ(a.reopens[7], 1u);
  EXPECT_EQ(a.buckets(), 8u);
}

TEST(ReconnectSummary, FullReconnectIsTheEndOfTheLastBucketSomeoneWasMissing) {
  ReconnectCurve c;
  for (int i = 0; i < 3; ++i) c.on_open(10 * kMs, false);
  c.on_drop(2050 * kMs);
  c.on_drop(2060 * kMs);
  c.on_open(2300 * kMs, true);
  c.on_open(2710 * kMs, true);  // bucket 27: the last one back
  const ReconnectSummary s = summarize(c, 2000 * kMs, 5000 * kMs, 3);
  EXPECT_EQ(s.dropped, 2u);
  EXPECT_EQ(s.reconnected, 2u);
  EXPECT_EQ(s.min_connected, 1);
  EXPECT_NEAR(s.full_reconnect_s, 0.8, 1e-9);  // 2.8 s - 2.0 s
}

TEST(ReconnectSummary, NobodyAffectedIsZeroAndStillMissingIsMinusOne) {
  ReconnectCurve c;
  c.on_open(0, false);
  c.on_open(0, false);
  EXPECT_EQ(summarize(c, 1000 * kMs, 3000 * kMs, 2).full_reconnect_s, 0);
  c.on_drop(1500 * kMs);
  const ReconnectSummary s = summarize(c, 1000 * kMs, 3000 * kMs, 2);
  EXPECT_EQ(s.full_reconnect_s, -1);
  EXPECT_EQ(s.min_connected, 1);
}

TEST(ReconnectSummary, DropAndReopenInOneBucketStillCounts) {
  ReconnectCurve c;
  c.on_open(0, false);
  c.on_drop(1210 * kMs);
  c.on_open(1290 * kMs, true);
  const ReconnectSummary s = summarize(c, 1000 * kMs, 3000 * kMs, 1);
  EXPECT_NEAR(s.full_reconnect_s, 0.3, 1e-9);
  EXPECT_EQ(s.reconnected, 1u);
}

// --- /proc/net/tcp and --rolling-args -----------------------------------

TEST(ListenInodes, PicksListenSocketsOnThePort) {
  const char* table =
      "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  "
      "timeout inode\n"
      "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000  "
      "      0 4242 1 0000000000000000 100 0 0 10 0\n"
      "   1: 0100007F:1F90 0100007F:D431 01 00000000:00000000 00:00000000 00000000  1000  "
      "      0 4343 1 0000000000000000 20 4 30 10 -1\n"
      "   2: 00000000:1F91 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000  "
      "      0 4444 1 0000000000000000 100 0 0 10 0\n"
      "   3: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000  "
      "      0 4545 1 0000000000000000 100 0 0 10 0";  // no final newline
  EXPECT_EQ(listen_inodes(table, 8080), (std::vector<uint64_t>{4242, 4545}));
  EXPECT_EQ(listen_inodes(table, 8081), (std::vector<uint64_t>{4444}));
  EXPECT_TRUE(listen_inodes(table, 9).empty());
  EXPECT_TRUE(listen_inodes("garbage\n\n  0: x y 0A\n", 8080).empty());
}

TEST(SplitArgs, SplitsOnBlanks) {
  EXPECT_EQ(split_args("  --threads 1\t--pub-rate 0\n"),
            (std::vector<std::string>{"--threads", "1", "--pub-rate", "0"}));
  EXPECT_TRUE(split_args("   ").empty());
}

}  // namespace
}  // namespace ringchat::ringload
