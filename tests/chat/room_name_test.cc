#include "ringchat/chat/room_name.h"

#include <gtest/gtest.h>

#include <array>
#include <string>

namespace ringchat::chat {
namespace {

constexpr std::string_view kAllowed =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:@-";

bool valid(std::string_view name) { return room_name_error(name) == nullptr; }

std::string numbered(std::string prefix, int i) {
  prefix += std::to_string(i);
  return prefix;
}

TEST(RoomName, OneByteIsValid) { EXPECT_TRUE(valid("a")); }

TEST(RoomName, TwoHundredBytesIsValid) {
  EXPECT_TRUE(valid(std::string(kMaxRoomName, 'x')));
  EXPECT_EQ(kMaxRoomName, 200u);
}

TEST(RoomName, EveryAllowedCharacterIsValidAlone) {
  for (char c : kAllowed) EXPECT_TRUE(valid(std::string(1, c))) << c;
}

TEST(RoomName, AllAllowedCharactersTogetherAreValid) { EXPECT_TRUE(valid(kAllowed)); }

TEST(RoomName, EveryOtherByteIsRejected) {
  for (int b = 0; b < 256; ++b) {
    const char c = static_cast<char>(b);
    if (kAllowed.find(c) != std::string_view::npos) continue;
    const std::string name = std::string("ok") + c + "ok";
    EXPECT_FALSE(valid(name)) << "byte " << b;
  }
}

TEST(RoomName, EmptyIsRejected) {
  ASSERT_FALSE(valid(""));
  EXPECT_NE(std::string(room_name_error("")).find("empty"), std::string::npos);
}

TEST(RoomName, TwoHundredOneBytesIsRejected) {
  const char* why = room_name_error(std::string(kMaxRoomName + 1, 'x'));
  ASSERT_NE(why, nullptr);
  EXPECT_NE(std::string(why).find("200"), std::string::npos) << why;
}

TEST(RoomName, SpaceIsRejected) { EXPECT_FALSE(valid("my room")); }
TEST(RoomName, SlashIsRejected) { EXPECT_FALSE(valid("a/b")); }
TEST(RoomName, PercentIsRejected) { EXPECT_FALSE(valid("a%20b")); }
TEST(RoomName, NonAsciiIsRejected) { EXPECT_FALSE(valid("caf\xc3\xa9")); }
TEST(RoomName, NulByteIsRejected) { EXPECT_FALSE(valid(std::string_view("a\0b", 3))); }

TEST(RoomName, BadCharacterAtEitherEndIsRejected) {
  EXPECT_FALSE(valid(" room"));
  EXPECT_FALSE(valid("room "));
  EXPECT_FALSE(valid(std::string(kMaxRoomName - 1, 'x') + "/"));
}

TEST(RoomName, RejectReasonNamesTheAllowedSet) {
  const char* why = room_name_error("a b");
  ASSERT_NE(why, nullptr);
  EXPECT_NE(std::string(why).find("A-Z a-z 0-9"), std::string::npos) << why;
}

TEST(RoomHash, SameInputGivesSameValue) {
  EXPECT_EQ(room_hash("lobby"), room_hash(std::string("lobby")));
  EXPECT_NE(room_hash("lobby"), room_hash("lobby2"));
}

// Pinned once from xxh3_64 with the seed "ringchat": every node of a cluster
// must agree, so a change of seed or algorithm has to be deliberate.
TEST(RoomHash, KnownValuesArePinned) {
  EXPECT_EQ(room_hash("lobby"), 0xec606588deebbd14ull);
  EXPECT_EQ(room_hash("a"), 0xfcc538eaf3104d51ull);
}

TEST(RoomHash, HashesOnlyTheViewedBytes) {
  const std::string s = "lobbyXYZ";
  EXPECT_EQ(room_hash(std::string_view(s).substr(0, 5)), room_hash("lobby"));
}

TEST(ShardFor, StaysInRange) {
  for (unsigned shards : {1u, 2u, 3u, 7u, 64u}) {
    for (int i = 0; i < 100; ++i) {
      EXPECT_LT(shard_for(room_hash(numbered("room", i)), shards), shards);
    }
  }
}

TEST(ShardFor, OneShardOwnsEverything) {
  EXPECT_EQ(shard_for(room_hash("x"), 1), 0u);
  EXPECT_EQ(shard_for(UINT64_MAX, 1), 0u);
}

TEST(ShardFor, SpreadsTenThousandNamesEvenlyOverFourShards) {
  constexpr int kNames = 10000;
  constexpr unsigned kShards = 4;
  std::array<int, kShards> per{};
  for (int i = 0; i < kNames; ++i) {
    ++per[shard_for(room_hash(numbered("room-", i)), kShards)];
  }
  const double mean = double{kNames} / kShards;
  for (unsigned s = 0; s < kShards; ++s) {
    EXPECT_GE(per[s], mean * 0.8) << "shard " << s;
    EXPECT_LE(per[s], mean * 1.2) << "shard " << s;
  }
}

}  // namespace
}  // namespace ringchat::chat
