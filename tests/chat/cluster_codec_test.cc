#include "cluster_codec.h"

#include <gtest/gtest.h>

#include <string>

#include "ringchat/ws/frame_encoder.h"

namespace ringchat::chat {
namespace {

// What the publish script stores: "EPOCH SEQ " and the publisher's part.
std::string stored(uint64_t epoch, uint64_t seq, const std::string& part) {
  return epoch_text(epoch).append(" ").append(std::to_string(seq)).append(" ").append(part);
}

TEST(ClusterCodec, ARecordRoundTripsWithItsPublisherAndBinaryPayload) {
  const std::string payload("a\0b\r\n\xff", 6);
  PublishMsg m =
      make_publish("room-1", ws::as_bytes(payload), {77, 0xABCDEF, 3}, Kind::kBinary, 9, "alice");
  const std::string rec = stored(0x0123456789abcdefULL, 42, encode_publish(m, 5, 1700000000123));
  m.body->release();
  ClusterRecord r;
  ASSERT_TRUE(decode_record(rec, &r));
  EXPECT_EQ(r.node, 5u);
  EXPECT_EQ(r.epoch, 0x0123456789abcdefULL);
  EXPECT_EQ(r.seq, 42u);
  EXPECT_EQ(r.ts_ms, 1700000000123u);
  EXPECT_EQ(r.kind, Kind::kBinary);
  EXPECT_EQ(r.from, (Sender{77, 0xABCDEF, 3}));
  EXPECT_EQ(r.user, "alice");
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(r.payload.data()), r.payload.size()),
            payload);
}

TEST(ClusterCodec, AnEmptyPayloadAndNoUserDecode) {
  PublishMsg m = make_publish("r", {}, {1, 1, 0}, Kind::kText);
  const std::string rec = stored(1, 1, encode_publish(m, 1, 0));
  m.body->release();
  ClusterRecord r;
  ASSERT_TRUE(decode_record(rec, &r));
  EXPECT_TRUE(r.user.empty());
  EXPECT_TRUE(r.payload.empty());
}

TEST(ClusterCodec, EveryTruncationAndCorruptionIsRefused) {
  PublishMsg m = make_publish("r", ws::as_bytes("hi"), {1, 1, 0}, Kind::kJson, 0, "bob");
  const std::string rec = stored(7, 3, encode_publish(m, 1, 0));
  m.body->release();
  ClusterRecord r;
  // Cut before the payload: refused (the payload may be empty, so cuts
  // inside it are records with a shorter payload).
  const size_t payload_at = rec.size() - 2;
  for (size_t n = 0; n < payload_at; ++n) {
    EXPECT_FALSE(decode_record(std::string_view(rec).substr(0, n), &r)) << n;
  }
  EXPECT_FALSE(decode_record("zzzzzzzzzzzzzzzz 1 " + rec.substr(19), &r)) << "hex epoch";
  EXPECT_FALSE(decode_record(epoch_text(7) + " 0 " + rec.substr(19), &r)) << "seq 0";
  EXPECT_FALSE(decode_record(epoch_text(7) + " 1x " + rec.substr(19), &r));
  std::string bad_kind = rec;
  bad_kind[19] = 9;
  EXPECT_FALSE(decode_record(bad_kind, &r));
  std::string long_user = rec;
  long_user[20] = static_cast<char>(200);
  EXPECT_FALSE(decode_record(long_user, &r));
}

TEST(ClusterCodec, KeysShareTheRoomsHashTagAndChannelsNameTheirRoom) {
  EXPECT_EQ(room_meta_key("a:b"), "rc:{a:b}:m");
  EXPECT_EQ(room_log_key("a:b"), "rc:{a:b}:log");
  EXPECT_EQ(room_channel("a:b"), "rc:{a:b}");
  EXPECT_EQ(channel_room("rc:{a:b}"), "a:b");
  EXPECT_EQ(channel_room("rc:{}"), "");
  EXPECT_EQ(channel_room("other"), "");
  uint64_t e = 0;
  EXPECT_TRUE(parse_epoch(epoch_text(0xfedcba9876543210ULL), &e));
  EXPECT_EQ(e, 0xfedcba9876543210ULL);
  EXPECT_FALSE(parse_epoch("123", &e));
}

TEST(ClusterCodec, MemberIdsAndPresenceRecordsRoundTrip) {
  const Present p{{12, 0xABCDEF, 3}, "alice bob", 4000000000u};
  EXPECT_EQ(member_id(p), "4000000000-3-12-11259375");
  Present q;
  ASSERT_TRUE(parse_member_id(member_id(p), &q));
  EXPECT_EQ(q.who, p.who);
  EXPECT_EQ(q.node, p.node);
  for (const char* bad : {"", "1-2-3", "1-2-3-", "a-1-2-3", "1-70000-1-1", "1-1-1-1x", "-1-1-1"}) {
    EXPECT_FALSE(parse_member_id(bad, &q)) << bad;
  }
  bool here = false;
  uint64_t count = 0;
  const std::string rec = "P 7 1 " + member_id(p) + " alice bob";
  ASSERT_TRUE(is_presence_record(rec));
  ASSERT_TRUE(decode_presence(rec, &q, &here, &count));
  EXPECT_TRUE(here);
  EXPECT_EQ(count, 7u);
  EXPECT_EQ(q.user, "alice bob");
  EXPECT_EQ(q.node, p.node);
  EXPECT_FALSE(decode_presence("P 7 2 1-1-1-1 x", &q, &here, &count));
  EXPECT_FALSE(decode_presence("P 7 1 1-1-1", &q, &here, &count));
  EXPECT_FALSE(is_presence_record(epoch_text(1) + " 1 x"));
  EXPECT_EQ(room_presence_key("r"), "rc:{r}:p");
}

}  // namespace
}  // namespace ringchat::chat
