#include "ringchat/chat/rooms.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace ringchat::chat {
namespace {

TEST(LocalRooms, FirstJoinCreatesTheRoom) {
  LocalRooms rooms;
  LocalRooms::Joined j = rooms.join("lobby", 7);
  EXPECT_TRUE(j.first);
  EXPECT_EQ(j.index, 0u);
  ASSERT_NE(j.room, nullptr);
  EXPECT_EQ(j.room->name, "lobby");
  EXPECT_EQ(j.room->members, (std::vector<uint32_t>{7}));
  EXPECT_FALSE(j.room->confirmed);
  EXPECT_EQ(rooms.size(), 1u);
  EXPECT_EQ(rooms.find("lobby"), j.room);
}

TEST(LocalRooms, LaterJoinsAreNotFirst) {
  LocalRooms rooms;
  rooms.join("lobby", 1);
  LocalRooms::Joined j = rooms.join("lobby", 2);
  EXPECT_FALSE(j.first);
  EXPECT_EQ(j.index, 1u);
  EXPECT_EQ(rooms.size(), 1u);
}

TEST(LocalRooms, FindUnknownIsNull) {
  LocalRooms rooms;
  rooms.join("a", 1);
  EXPECT_EQ(rooms.find("b"), nullptr);
  EXPECT_EQ(rooms.find(""), nullptr);
}

TEST(LocalRooms, LeavingTheLastMemberRemovesTheRoom) {
  LocalRooms rooms;
  LocalRooms::Joined j = rooms.join("lobby", 1);
  LocalRooms::Left l = rooms.leave(j.room, j.index);
  EXPECT_TRUE(l.last);
  EXPECT_EQ(l.moved_slot, LocalRooms::kNone);
  EXPECT_EQ(rooms.find("lobby"), nullptr);
  EXPECT_EQ(rooms.size(), 0u);
  EXPECT_TRUE(rooms.join("lobby", 2).first) << "a re-created room is new";
}

TEST(LocalRooms, LeavingTheTailMovesNobody) {
  LocalRooms rooms;
  rooms.join("r", 1);
  LocalRooms::Joined j = rooms.join("r", 2);
  LocalRooms::Left l = rooms.leave(j.room, j.index);
  EXPECT_FALSE(l.last);
  EXPECT_EQ(l.moved_slot, LocalRooms::kNone);
  EXPECT_EQ(rooms.find("r")->members, (std::vector<uint32_t>{1}));
}

TEST(LocalRooms, LeavingFromTheMiddleMovesTheTailIntoThePlace) {
  LocalRooms rooms;
  LocalRooms::Joined a = rooms.join("r", 10);
  rooms.join("r", 20);
  rooms.join("r", 30);
  LocalRooms::Left l = rooms.leave(a.room, a.index);
  EXPECT_FALSE(l.last);
  EXPECT_EQ(l.moved_slot, 30u);
  EXPECT_EQ(rooms.find("r")->members, (std::vector<uint32_t>{30, 20}));
}

TEST(LocalRooms, RoomsAreIndependent) {
  LocalRooms rooms;
  LocalRooms::Joined a = rooms.join("a", 1);
  rooms.join("b", 1);
  rooms.leave(a.room, a.index);
  EXPECT_EQ(rooms.find("a"), nullptr);
  ASSERT_NE(rooms.find("b"), nullptr);
  EXPECT_EQ(rooms.find("b")->members, (std::vector<uint32_t>{1}));
}

// Random joins and leaves against a reference model: each member's index as
// the caller tracks it (updated from moved_slot) must always be where the
// member really is, and first/last must match the model's emptiness.
class LocalRoomsModel {
 public:
  explicit LocalRoomsModel(uint32_t seed) : rng_(seed) {}

  void step() {
    if (where_.empty() || rng_() % 100 < 55) {
      join();
    } else {
      leave();
    }
  }
  void check() const {
    ASSERT_EQ(rooms_.size(), members_.size());
    for (const auto& [name, set] : members_) {
      LocalRoom* r = const_cast<LocalRooms&>(rooms_).find(name);
      ASSERT_NE(r, nullptr) << name;
      ASSERT_EQ(std::set<uint32_t>(r->members.begin(), r->members.end()), set) << name;
      ASSERT_EQ(r->members.size(), set.size()) << name << " holds a duplicate";
    }
    for (const auto& [slot, pos] : where_) {
      LocalRoom* r = const_cast<LocalRooms&>(rooms_).find(pos.room);
      ASSERT_NE(r, nullptr);
      ASSERT_LT(pos.index, r->members.size());
      ASSERT_EQ(r->members[pos.index], slot) << "tracked index went stale";
    }
  }

 private:
  struct Pos {
    std::string room;
    uint32_t index;
  };

  void join() {
    std::string name = "room";
    name += std::to_string(rng_() % 6);
    const uint32_t slot = next_slot_++;
    const bool was_empty = members_[name].empty();
    LocalRooms::Joined j = rooms_.join(name, slot);
    EXPECT_EQ(j.first, was_empty);
    members_[name].insert(slot);
    where_[slot] = Pos{name, j.index};
  }

  void leave() {
    auto it = where_.begin();
    std::advance(it, static_cast<long>(rng_() % where_.size()));
    const uint32_t slot = it->first;
    const Pos pos = it->second;
    LocalRoom* r = rooms_.find(pos.room);
    ASSERT_NE(r, nullptr);
    const uint32_t tail = r->members.back();
    LocalRooms::Left l = rooms_.leave(r, pos.index);
    where_.erase(it);
    members_[pos.room].erase(slot);
    const bool now_empty = members_[pos.room].empty();
    if (now_empty) members_.erase(pos.room);
    EXPECT_EQ(l.last, now_empty);
    if (tail == slot) {
      EXPECT_EQ(l.moved_slot, LocalRooms::kNone);
    } else {
      EXPECT_EQ(l.moved_slot, tail);
      where_[tail].index = pos.index;
    }
  }

  std::mt19937 rng_;
  LocalRooms rooms_;
  std::map<std::string, std::set<uint32_t>> members_;
  std::map<uint32_t, Pos> where_;
  uint32_t next_slot_ = 0;
};

TEST(LocalRooms, RandomJoinsAndLeavesMatchAReferenceModel) {
  for (uint32_t seed = 1; seed <= 20; ++seed) {
    SCOPED_TRACE(seed);
    LocalRoomsModel model(seed);
    for (int i = 0; i < 2000; ++i) {
      model.step();
      if (i % 50 == 0) {
        ASSERT_NO_FATAL_FAILURE(model.check());
      }
    }
    ASSERT_NO_FATAL_FAILURE(model.check());
  }
}

TEST(OwnedRooms, AddShardCreatesAndCounts) {
  OwnedRooms rooms(4, 1);
  OwnedRoom& r = rooms.add_shard("lobby", 2);
  EXPECT_EQ(r.name, "lobby");
  EXPECT_EQ(r.seq, 0u);
  EXPECT_EQ(r.shard_members, (std::vector<uint32_t>{0, 0, 1, 0}));
  rooms.add_shard("lobby", 2);
  rooms.add_shard("lobby", 0);
  EXPECT_EQ(rooms.find("lobby")->shard_members, (std::vector<uint32_t>{1, 0, 2, 0}));
  EXPECT_EQ(rooms.size(), 1u);
}

TEST(OwnedRooms, AddShardKeepsTheEpochOfALiveRoom) {
  OwnedRooms rooms(2, 1);
  const uint64_t epoch = rooms.add_shard("r", 0).epoch;
  EXPECT_EQ(rooms.add_shard("r", 1).epoch, epoch);
}

TEST(OwnedRooms, RemoveShardDecrementsAndKeepsRoomWhileAnyShardHasMembers) {
  OwnedRooms rooms(3, 1);
  rooms.add_shard("r", 0);
  rooms.add_shard("r", 0);
  rooms.add_shard("r", 2);
  rooms.remove_shard("r", 0);
  ASSERT_NE(rooms.find("r"), nullptr);
  EXPECT_EQ(rooms.find("r")->shard_members, (std::vector<uint32_t>{1, 0, 1}));
  rooms.remove_shard("r", 2);
  rooms.remove_shard("r", 2);  // extra removal does not underflow
  ASSERT_NE(rooms.find("r"), nullptr);
  EXPECT_EQ(rooms.find("r")->shard_members, (std::vector<uint32_t>{1, 0, 0}));
}

TEST(OwnedRooms, RoomIsErasedWhenNoShardHasMembers) {
  OwnedRooms rooms(2, 1);
  rooms.add_shard("r", 0);
  rooms.add_shard("r", 1);
  rooms.remove_shard("r", 0);
  rooms.remove_shard("r", 1);
  EXPECT_EQ(rooms.find("r"), nullptr);
  EXPECT_EQ(rooms.size(), 0u);
}

TEST(OwnedRooms, RemoveShardOfUnknownRoomIsANoOp) {
  OwnedRooms rooms(2, 1);
  rooms.add_shard("a", 0);
  rooms.remove_shard("b", 0);
  EXPECT_EQ(rooms.size(), 1u);
}

TEST(OwnedRooms, RecreatedRoomGetsANewEpochAndSeq) {
  OwnedRooms rooms(2, 42);
  OwnedRoom& first = rooms.add_shard("r", 1);
  first.seq = 17;
  const uint64_t old_epoch = first.epoch;
  rooms.remove_shard("r", 1);
  OwnedRoom& again = rooms.add_shard("r", 1);
  EXPECT_NE(again.epoch, old_epoch);
  EXPECT_EQ(again.seq, 0u);
}

TEST(OwnedRooms, EpochsOfDistinctRoomsDiffer) {
  OwnedRooms rooms(1, 7);
  std::set<uint64_t> epochs;
  for (int i = 0; i < 100; ++i) {
    std::string name = "r";
    name += std::to_string(i);
    epochs.insert(rooms.add_shard(name, 0).epoch);
  }
  EXPECT_EQ(epochs.size(), 100u);
}

TEST(OwnedRooms, SameSeedGivesSameEpochs) {
  OwnedRooms a(1, 99);
  OwnedRooms b(1, 99);
  EXPECT_EQ(a.add_shard("x", 0).epoch, b.add_shard("x", 0).epoch);
  OwnedRooms c(1, 100);
  EXPECT_NE(a.add_shard("y", 0).epoch, c.add_shard("y", 0).epoch);
}

TEST(OwnedRoomsDeathTest, AddShardOutOfRangeAborts) {
  OwnedRooms rooms(4, 1);
  EXPECT_DEATH(rooms.add_shard("r", 4), "RC_CHECK");
}

TEST(OwnedRoomsDeathTest, RemoveShardOutOfRangeAborts) {
  OwnedRooms rooms(4, 1);
  rooms.add_shard("r", 0);
  EXPECT_DEATH(rooms.remove_shard("r", 4), "RC_CHECK");
}

}  // namespace
}  // namespace ringchat::chat
