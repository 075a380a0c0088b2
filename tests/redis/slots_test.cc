#include "ringchat/redis/slots.h"

#include <gtest/gtest.h>

#include <string>

namespace ringchat::redis {
namespace {

// One RESP2 reply decoded, owned by the test.
OwnedReply decode(const std::string& wire) {
  Decoder d;
  d.feed(wire);
  auto r = d.next();
  EXPECT_TRUE(r.ok());
  EXPECT_TRUE(r->has_value());
  return std::move(**r);
}

TEST(KeySlot, Crc16MatchesTheSpecTestVector) {
  // Redis Cluster spec, appendix A: XMODEM CRC16 of "123456789".
  EXPECT_EQ(crc16("123456789"), 0x31C3);
  EXPECT_EQ(crc16(""), 0);
}

TEST(KeySlot, KnownSlots) {
  // As CLUSTER KEYSLOT answers them.
  EXPECT_EQ(key_slot("foo"), 12182);
  EXPECT_EQ(key_slot("bar"), 5061);
  EXPECT_EQ(key_slot("hello"), 866);
  EXPECT_EQ(key_slot("somekey"), 11058);
  EXPECT_EQ(key_slot("123456789"), 0x31C3 % 16384);
}

TEST(KeySlot, HashTagsPerTheSpec) {
  // Only the tag is hashed.
  EXPECT_EQ(key_slot("{user1000}.following"), key_slot("user1000"));
  EXPECT_EQ(key_slot("{user1000}.followers"), key_slot("user1000"));
  EXPECT_NE(key_slot("user1000.following"), key_slot("user1000"));
  // The first '{' and the first '}' after it.
  EXPECT_EQ(key_slot("foo{{bar}}zap"), key_slot("{bar"));
  EXPECT_EQ(key_slot("foo{bar}{zap}"), key_slot("bar"));
  // An empty tag: the whole key.
  EXPECT_EQ(key_slot("foo{}{bar}"), crc16("foo{}{bar}") % 16384);
  EXPECT_NE(key_slot("foo{}{bar}"), key_slot("bar"));
  EXPECT_EQ(key_slot("{}"), crc16("{}") % 16384);
  // No closing brace: the whole key.
  EXPECT_EQ(key_slot("foo{bar"), crc16("foo{bar") % 16384);
  // A room's keys and channel share one slot.
  EXPECT_EQ(key_slot("rc:{lobby}:m"), key_slot("lobby"));
  EXPECT_EQ(key_slot("rc:{lobby}:log"), key_slot("rc:{lobby}"));
}

TEST(Redirect, ParsesMovedAndAsk) {
  auto m = parse_redirect("MOVED 3999 127.0.0.1:6381");
  ASSERT_TRUE(m);
  EXPECT_FALSE(m->ask);
  EXPECT_EQ(m->slot, 3999);
  EXPECT_EQ(m->to, (NodeAddr{"127.0.0.1", 6381}));
  auto a = parse_redirect("ASK 16383 ::1:7000");
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->ask);
  EXPECT_EQ(a->slot, 16383);
  EXPECT_EQ(a->to, (NodeAddr{"::1", 7000}));
  auto v6 = parse_redirect("MOVED 1 [fe80::1]:7001");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->to.host, "fe80::1");
  EXPECT_EQ(v6->to.text(), "[fe80::1]:7001");
  // An unknown endpoint: the host is empty (the answering node's).
  auto e = parse_redirect("MOVED 12 :7002");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->to, (NodeAddr{"", 7002}));
}

TEST(Redirect, RefusesOtherErrors) {
  EXPECT_FALSE(parse_redirect("ERR unknown command"));
  EXPECT_FALSE(parse_redirect("TRYAGAIN Multiple keys request during rehashing of slot"));
  EXPECT_FALSE(parse_redirect("MOVED 16384 127.0.0.1:1"));  // no such slot
  EXPECT_FALSE(parse_redirect("MOVED x 127.0.0.1:1"));
  EXPECT_FALSE(parse_redirect("MOVED 1 127.0.0.1"));
  EXPECT_FALSE(parse_redirect("MOVED 1 127.0.0.1:0"));
  EXPECT_FALSE(parse_redirect("MOVED 1 127.0.0.1:70000"));
  EXPECT_FALSE(parse_redirect("MOVED 1"));
}

TEST(SlotMap, ParsesClusterSlots) {
  // Three masters, the second without a known endpoint, the third with a
  // replica (ignored); Redis 7 adds a map of extra fields per node.
  const std::string wire =
      "*3\r\n"
      "*3\r\n:0\r\n:5460\r\n*4\r\n$9\r\n127.0.0.1\r\n:7000\r\n$3\r\nid1\r\n*0\r\n"
      "*3\r\n:5461\r\n:10922\r\n*3\r\n$0\r\n\r\n:7001\r\n$3\r\nid2\r\n"
      "*4\r\n:10923\r\n:16383\r\n*3\r\n$9\r\n127.0.0.1\r\n:7002\r\n$3\r\nid3\r\n"
      "*3\r\n$9\r\n127.0.0.1\r\n:7005\r\n$3\r\nid4\r\n";
  OwnedReply r = decode(wire);
  SlotMap m;
  EXPECT_FALSE(m.complete());
  EXPECT_EQ(m.owner(0), nullptr);
  ASSERT_TRUE(m.parse(*r, "10.0.0.9"));
  EXPECT_TRUE(m.complete());
  ASSERT_NE(m.owner(0), nullptr);
  EXPECT_EQ(*m.owner(0), (NodeAddr{"127.0.0.1", 7000}));
  EXPECT_EQ(*m.owner(5460), (NodeAddr{"127.0.0.1", 7000}));
  EXPECT_EQ(*m.owner(5461), (NodeAddr{"10.0.0.9", 7001}));
  EXPECT_EQ(*m.owner(16383), (NodeAddr{"127.0.0.1", 7002}));
  EXPECT_EQ(m.nodes().size(), 3u) << "replicas are not owners";
  // MOVED: one slot changes hands.
  m.set(100, NodeAddr{"127.0.0.1", 7002});
  EXPECT_EQ(*m.owner(100), (NodeAddr{"127.0.0.1", 7002}));
  EXPECT_EQ(*m.owner(101), (NodeAddr{"127.0.0.1", 7000}));
  m.set(7, NodeAddr{"127.0.0.1", 7009});
  EXPECT_EQ(m.nodes().size(), 4u);
}

TEST(SlotMap, PartialCoverageAndBadReplies) {
  SlotMap m;
  OwnedReply part = decode("*1\r\n*3\r\n:0\r\n:99\r\n*2\r\n$1\r\nh\r\n:1\r\n");
  ASSERT_TRUE(m.parse(*part, "x"));
  EXPECT_FALSE(m.complete());
  EXPECT_NE(m.owner(99), nullptr);
  EXPECT_EQ(m.owner(100), nullptr);
  // Not a slots reply: refused, the map kept.
  for (const char* bad : {"-ERR This instance has cluster support disabled\r\n", ":1\r\n",
                          "*1\r\n*3\r\n:5\r\n:4\r\n*2\r\n$1\r\nh\r\n:1\r\n",      // end < start
                          "*1\r\n*3\r\n:0\r\n:16384\r\n*2\r\n$1\r\nh\r\n:1\r\n",  // past the last
                          "*1\r\n*3\r\n:0\r\n:1\r\n*2\r\n$1\r\nh\r\n:0\r\n",      // port 0
                          "*1\r\n*2\r\n:0\r\n:1\r\n"}) {                          // no master
    OwnedReply b = decode(bad);
    EXPECT_FALSE(m.parse(*b, "x")) << bad;
    EXPECT_NE(m.owner(99), nullptr) << bad;
  }
  // Empty (a node not yet in a cluster): no owner at all.
  OwnedReply none = decode("*0\r\n");
  ASSERT_TRUE(m.parse(*none, "x"));
  EXPECT_EQ(m.owner(0), nullptr);
  EXPECT_TRUE(m.nodes().empty());
}

}  // namespace
}  // namespace ringchat::redis
