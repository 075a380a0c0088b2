#include "plan.h"

#include <gtest/gtest.h>

#include <numeric>

namespace ringchat::ringload {
namespace {

TEST(Plan, EchoGivesEveryClientItsOwnRoom) {
  Scenario s;
  s.mode = Mode::kEcho;
  s.connections = 5;
  const Plan p = build_plan(s);
  EXPECT_EQ(p.room_name(s, 3), "load-3");
  EXPECT_EQ(p.senders_in_room, (std::vector<uint32_t>{1, 1, 1, 1, 1}));
}

TEST(Plan, FanoutLimitsSendersPerRoom) {
  Scenario s;
  s.mode = Mode::kFanout;
  s.connections = 1000;
  s.rooms = 1;
  s.senders = 10;
  const Plan p = build_plan(s);
  EXPECT_EQ(p.members_in_room[0], 1000u);
  EXPECT_EQ(p.senders_in_room[0], 10u);
  EXPECT_EQ(std::accumulate(p.sender.begin(), p.sender.end(), 0u), 10u);
}

TEST(Plan, PortsSpreadEveryRoomAndItsSenders) {
  Scenario s;
  s.mode = Mode::kRate;
  s.connections = 200;
  s.rooms = 2;  // rooms and ports both 2: a client id's parity alone would split by room
  s.senders = 8;
  s.ports = {9000, 9001};
  const Plan p = build_plan(s);
  ASSERT_EQ(p.port.size(), 200u);
  uint32_t on[2][2] = {};  // [room][port]
  uint32_t senders_on[2] = {};
  for (uint32_t c = 0; c < 200; ++c) {
    ++on[p.room[c]][p.port[c]];
    if (p.sender[c]) ++senders_on[p.port[c]];
  }
  for (auto& room : on) {
    EXPECT_EQ(room[0], 50u);
    EXPECT_EQ(room[1], 50u);
  }
  EXPECT_EQ(senders_on[0], 4u);
  EXPECT_EQ(senders_on[1], 4u);
  s.mode = Mode::kEcho;
  s.connections = 4;
  EXPECT_EQ(build_plan(s).port, (std::vector<uint32_t>{0, 1, 0, 1}));
  s.ports.clear();
  EXPECT_TRUE(build_plan(s).port.empty());
}

TEST(Plan, UniformSpreadsEvenly) {
  Scenario s;
  s.mode = Mode::kFanout;
  s.connections = 10000;
  s.rooms = 100;
  const Plan p = build_plan(s);
  for (uint32_t m : p.members_in_room) EXPECT_EQ(m, 100u);
}

TEST(Plan, ZipfFavoursFirstRoomsAndIsDeterministic) {
  Scenario s;
  s.mode = Mode::kRate;
  s.connections = 10000;
  s.rooms = 50;
  s.room_dist = RoomDist::kZipf;
  const Plan a = build_plan(s);
  const Plan b = build_plan(s);
  EXPECT_EQ(a.room, b.room);
  EXPECT_GT(a.members_in_room[0], 5 * a.members_in_room[49]);
}

TEST(Plan, IdleHasNoSenders) {
  Scenario s;
  s.mode = Mode::kIdle;
  const Plan p = build_plan(s);
  EXPECT_EQ(std::accumulate(p.sender.begin(), p.sender.end(), 0u), 0u);
}

}  // namespace
}  // namespace ringchat::ringload
