// Many clients in a few rooms spread over shards: every member sees every
// message of its room in one order, none lost or repeated.
#include <gtest/gtest.h>
#include <poll.h>

#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "ws_client.h"

namespace ringchat::testing {
namespace {

struct Member {
  std::unique_ptr<Client> client;
  int room;
  std::vector<std::string> got;
};

// `clients` members over `rooms` rooms, each sends `per_client` messages;
// checks every member of a room saw the identical, complete sequence.
void run_rooms(unsigned shards, int clients, int rooms, int per_client) {
  TestServer server(test_config(shards));
  ASSERT_NE(server.port(), 0);
  std::vector<Member> members(static_cast<size_t>(clients));
  for (int i = 0; i < clients; ++i) {
    members[i].client = std::make_unique<Client>(server.port());
    members[i].room = i % rooms;
    ASSERT_EQ(members[i].client->upgrade("/ws/room-" + std::to_string(i % rooms)), 101);
  }
  // A 101 means the room's owner counts the member: nothing sent from here
  // on may be missed, whichever shard the sender is on.
  for (int k = 0; k < per_client; ++k) {
    for (int i = 0; i < clients; ++i) {
      members[i].client->send_text("m " + std::to_string(i) + " " + std::to_string(k));
    }
  }
  const size_t expect = static_cast<size_t>(clients / rooms) * per_client;
  for (auto& m : members) {
    while (m.got.size() < expect) {
      auto msg = m.client->recv_data();
      ASSERT_TRUE(msg.has_value()) << "member of room " << m.room << " got " << m.got.size();
      m.got.push_back(msg->payload);
    }
  }
  std::map<int, const std::vector<std::string>*> reference;
  for (auto& m : members) {
    auto [it, fresh] = reference.emplace(m.room, &m.got);
    if (!fresh) {
      EXPECT_EQ(m.got, *it->second) << "room " << m.room << " order differs";
    }
    // Each sender's own messages in order, no gap, no duplicate.
    std::map<int, int> next;
    for (const std::string& s : m.got) {
      int sender = 0, k = 0;
      ASSERT_EQ(sscanf(s.c_str(), "m %d %d", &sender, &k), 2) << s;
      EXPECT_EQ(sender % rooms, m.room);
      EXPECT_EQ(k, next[sender]++) << "sender " << sender;
    }
  }
}

TEST(Rooms, HundredsOfClientsInFewRoomsOnTwoShards) { run_rooms(2, 200, 5, 20); }

TEST(Rooms, HundredsOfClientsInFewRoomsOnFourShards) { run_rooms(4, 240, 6, 15); }

TEST(Rooms, AloneInARoomIsAnEchoServer) {
  TestServer server(test_config(2));
  Client c(server.port());
  ASSERT_EQ(c.upgrade("/ws/solo"), 101);
  c.send_frame(ws::Opcode::kBinary, std::string("\x00\x01\xff", 3));
  auto m = c.recv_data();
  ASSERT_TRUE(m);
  EXPECT_EQ(m->op, ws::Opcode::kBinary);
  EXPECT_EQ(m->payload, std::string("\x00\x01\xff", 3));
  c.send_text("text stays text");
  m = c.recv_data();
  ASSERT_TRUE(m);
  EXPECT_EQ(m->op, ws::Opcode::kText);
}

TEST(Rooms, NoEchoSkipsOnlyTheSender) {
  auto cfg = test_config(2);
  cfg.echo = false;
  TestServer server(cfg);
  Client a(server.port()), b(server.port());
  ASSERT_EQ(a.upgrade("/ws/quiet"), 101);
  ASSERT_EQ(b.upgrade("/ws/quiet"), 101);
  a.send_text("from a");
  auto got = b.recv_data();
  ASSERT_TRUE(got);
  EXPECT_EQ(got->payload, "from a");
  b.send_text("from b");
  for (;;) {
    auto m = a.recv_data();
    ASSERT_TRUE(m) << "a never got b's message";
    ASSERT_EQ(m->payload.rfind("from a", 0), std::string::npos) << "a got its own echo";
    if (m->payload == "from b") break;
  }
}

TEST(Rooms, LargeMessageIsDeliveredWholeAcrossShards) {
  TestServer server(test_config(4));
  std::vector<std::unique_ptr<Client>> cs;
  for (int i = 0; i < 8; ++i) {
    cs.push_back(std::make_unique<Client>(server.port()));
    ASSERT_EQ(cs.back()->upgrade("/ws/big"), 101);
  }
  std::string big(300000, 'q');
  big[12345] = 'Z';
  cs[3]->send_frame(ws::Opcode::kBinary, big);
  for (auto& c : cs) {
    auto m = c->recv_data();
    ASSERT_TRUE(m);
    EXPECT_EQ(m->payload, big);
  }
}

}  // namespace
}  // namespace ringchat::testing
