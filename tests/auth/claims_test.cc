#include "ringchat/auth/claims.h"

#include <gtest/gtest.h>

namespace ringchat::auth {
namespace {

TEST(Claims, NoPatternsGrantNoRooms) {
  const Claims c{.sub = "alice"};
  EXPECT_FALSE(c.may_join("lobby"));
  EXPECT_FALSE(c.may_publish("lobby"));
  EXPECT_FALSE(c.may_join(""));
}

TEST(Claims, JoinUsesRoomsAndPublishUsesPub) {
  const Claims c{.sub = "alice", .rooms = {"team-*", "lobby"}, .pub = {"lobby"}};
  EXPECT_TRUE(c.may_join("lobby"));
  EXPECT_TRUE(c.may_join("team-a"));
  EXPECT_FALSE(c.may_join("teams"));
  EXPECT_TRUE(c.may_publish("lobby"));
  EXPECT_FALSE(c.may_publish("team-a"));  // joining is not publishing
}

TEST(Claims, PublishDoesNotImplyJoin) {
  const Claims c{.sub = "bot", .pub = {"*"}};
  EXPECT_TRUE(c.may_publish("anything"));
  EXPECT_FALSE(c.may_join("anything"));
}

TEST(Claims, AnyMatchingPatternGrants) {
  const Claims c{.sub = "u", .rooms = {"a", "b*", "*c"}};
  EXPECT_TRUE(c.may_join("a"));
  EXPECT_TRUE(c.may_join("bz"));
  EXPECT_TRUE(c.may_join("zc"));
  EXPECT_FALSE(c.may_join("z"));
}

}  // namespace
}  // namespace ringchat::auth
