#include "ringchat/chat/room_service.h"

#include <gtest/gtest.h>

#include <array>
#include <deque>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "ringchat/ws/frame_encoder.h"

namespace ringchat::chat {
namespace {

// Several room services as simulated shards: mail goes into one FIFO per
// ordered pair of shards, as the SPSC rings do, and the test decides when
// each is drained. No sockets, no threads.
class Cluster {
 public:
  struct Got {
    uint32_t member;
    std::string room;
    uint64_t seq;
    std::string payload;
    std::string wire;
  };

  explicit Cluster(unsigned shards) : n_(shards) {
    for (unsigned i = 0; i < n_; ++i) {
      hosts_.push_back(std::make_unique<Host>(*this, i));
      metrics_.push_back(std::make_unique<obs::ShardMetrics>());
      services_.push_back(std::make_unique<RoomService>(i, n_, *hosts_[i], *metrics_[i], 42 + i));
      services_.back()->set_clock([] { return uint64_t{1000}; });
    }
  }
  ~Cluster() {
    for (auto& [key, q] : rings_) {
      for (const MailMsg& m : q) release(m);
    }
  }

  RoomService& shard(unsigned i) { return *services_[i]; }
  obs::ShardMetrics& metrics(unsigned i) { return *metrics_[i]; }
  std::vector<Got>& got(unsigned shard) { return hosts_[shard]->got; }
  std::vector<uint32_t>& confirmed(unsigned shard) { return hosts_[shard]->told; }
  std::vector<std::array<uint64_t, 4>>& acks(unsigned shard) { return hosts_[shard]->acks; }
  // A publish that asks for an ack, as the HTTP API sends it (no membership).
  void publish_acked(unsigned shard, uint32_t slot, std::string_view room, std::string_view text) {
    services_[shard]->publish(make_publish(room, ws::as_bytes(text),
                                           {slot, 9, static_cast<uint16_t>(shard)},
                                           ws::Opcode::kText, true));
  }
  std::map<uint32_t, RoomService::Membership>& members(unsigned shard) {
    return hosts_[shard]->members;
  }

  // Joins `member` on `shard`, keeping its membership up to date.
  bool join(unsigned shard, std::string_view room, uint32_t member) {
    auto j = services_[shard]->join(room, member);
    hosts_[shard]->members[member] = j.membership;
    return j.confirmed;
  }
  void leave(unsigned shard, uint32_t member) {
    auto it = hosts_[shard]->members.find(member);
    ASSERT_NE(it, hosts_[shard]->members.end());
    const RoomService::Membership m = it->second;
    hosts_[shard]->members.erase(it);
    services_[shard]->leave(m);
  }
  void publish(unsigned shard, uint32_t member, std::string_view payload) {
    const RoomService::Membership& m = hosts_[shard]->members.at(member);
    services_[shard]->publish(make_publish(m.room->name, ws::as_bytes(payload),
                                           {member, 7, static_cast<uint16_t>(shard)},
                                           ws::Opcode::kText, false));
  }

  // Delivers at most `max` messages of ring from->to. Returns how many.
  size_t pump(unsigned from, unsigned to, size_t max = SIZE_MAX) {
    auto& q = rings_[{from, to}];
    size_t n = 0;
    while (!q.empty() && n < max) {
      MailMsg m = q.front();
      q.pop_front();
      services_[to]->on_mail(from, m);
      ++n;
    }
    return n;
  }
  // Until no mail is left anywhere.
  void settle() {
    for (bool any = true; any;) {
      any = false;
      for (unsigned a = 0; a < n_; ++a) {
        for (unsigned b = 0; b < n_; ++b) any |= pump(a, b) > 0;
      }
    }
  }
  // One random ring, a random number of messages: any interleaving the
  // rings allow.
  void pump_random(std::mt19937& rng) { pump(rng() % n_, rng() % n_, rng() % 4); }

 private:
  struct Host : RoomService::Host {
    Host(Cluster& c, unsigned id) : cluster(c), id(id) {}
    void post(unsigned shard, const MailMsg& m) override {
      EXPECT_NE(shard, id) << "mail to itself";
      cluster.rings_[{id, shard}].push_back(m);
    }
    void deliver(std::span<const uint32_t> to, const Sequenced& msg) override {
      const Message m = msg.message();
      for (uint32_t member : to) {
        got.push_back(
            {member, std::string(m.room), m.seq,
             std::string(reinterpret_cast<const char*>(m.payload.data()), m.payload.size()),
             std::string(msg.wire(Format::kRawWs)->view())});
      }
    }
    void confirmed(std::span<const uint32_t> to) override {
      told.insert(told.end(), to.begin(), to.end());
    }
    void acked(uint32_t slot, uint32_t gen, uint64_t epoch, uint64_t seq) override {
      acks.push_back({slot, gen, epoch, seq});
    }
    void moved(uint32_t member, const LocalRoom* room, uint32_t index) override {
      auto& m = members.at(member);
      EXPECT_EQ(m.room, room);
      m.index = index;
    }
    Cluster& cluster;
    unsigned id;
    std::vector<Got> got;
    std::vector<uint32_t> told;                 // confirmed members
    std::vector<std::array<uint64_t, 4>> acks;  // slot, gen, epoch, seq
    std::map<uint32_t, RoomService::Membership> members;
  };

  unsigned n_;
  std::vector<std::unique_ptr<Host>> hosts_;
  std::vector<std::unique_ptr<obs::ShardMetrics>> metrics_;
  std::vector<std::unique_ptr<RoomService>> services_;
  std::map<std::pair<unsigned, unsigned>, std::deque<MailMsg>> rings_;
};

// A room whose owner, among `shards`, is `owner`.
std::string room_owned_by(const RoomService& s, unsigned owner) {
  for (int i = 0;; ++i) {
    std::string name = "room";
    name += std::to_string(i);
    if (s.owner_of(name) == owner) return name;
  }
}

TEST(RoomService, JoinOnOwnerShardIsConfirmedAtOnce) {
  Cluster c(2);
  const std::string room = room_owned_by(c.shard(0), 0);
  EXPECT_TRUE(c.join(0, room, 5));
  EXPECT_EQ(c.shard(0).owned_rooms(), 1u);
  EXPECT_EQ(c.metrics(0).get(obs::Metric::kRoomsOwned), 1u);
}

TEST(RoomService, JoinElsewhereWaitsForTheOwnersAnswer) {
  Cluster c(2);
  const std::string room = room_owned_by(c.shard(0), 0);
  EXPECT_FALSE(c.join(1, room, 5));
  EXPECT_FALSE(c.join(1, room, 6)) << "still unconfirmed for a second member";
  EXPECT_TRUE(c.confirmed(1).empty());
  c.pump(1, 0);  // the JoinMsg
  EXPECT_EQ(c.shard(0).owned_rooms(), 1u);
  EXPECT_TRUE(c.confirmed(1).empty()) << "confirmed before the answer arrived";
  c.pump(0, 1);  // the JoinedMsg
  EXPECT_EQ(c.confirmed(1), (std::vector<uint32_t>{5, 6}));
  EXPECT_TRUE(c.join(1, room, 7)) << "a confirmed room admits at once";
}

TEST(RoomService, OwnerSequencesAndEveryMemberShardGetsTheWireBytesOnce) {
  Cluster c(3);
  const std::string room = room_owned_by(c.shard(0), 1);
  c.join(0, room, 10);
  c.join(2, room, 20);
  c.join(2, room, 21);
  c.settle();
  c.publish(0, 10, "hello");
  c.publish(2, 21, "world");
  c.settle();
  ASSERT_EQ(c.got(0).size(), 2u);
  ASSERT_EQ(c.got(2).size(), 4u);
  EXPECT_TRUE(c.got(1).empty()) << "the owner has no members";
  EXPECT_EQ(c.metrics(1).get(obs::Metric::kPublishes), 2u);
  std::string expected;
  ws::append_server_frame(expected, ws::Opcode::kText, ws::as_bytes("hello"));
  for (unsigned s : {0u, 2u}) {
    EXPECT_EQ(c.got(s)[0].seq, 1u);
    EXPECT_EQ(c.got(s)[0].payload, "hello");
    EXPECT_EQ(c.got(s)[0].wire, expected) << "raw room sockets get a plain text frame";
    EXPECT_EQ(c.got(s).back().seq, 2u);
    EXPECT_EQ(c.got(s).back().payload, "world");
  }
}

TEST(RoomService, AckedPublishTellsThePublishersShardTheSeqAfterTheDelivery) {
  Cluster c(2);
  const std::string room = room_owned_by(c.shard(0), 0);
  c.join(1, room, 5);
  c.settle();
  c.publish(1, 5, "first");
  c.publish_acked(1, 40, room, "second");
  c.settle();
  ASSERT_EQ(c.acks(1).size(), 1u);
  EXPECT_EQ(c.acks(1)[0][0], 40u);
  EXPECT_EQ(c.acks(1)[0][1], 9u);
  EXPECT_EQ(c.acks(1)[0][3], 2u) << "the ack carries the seq the owner assigned";
  ASSERT_EQ(c.got(1).size(), 2u);
  EXPECT_EQ(c.got(1)[1].payload, "second");
  EXPECT_TRUE(c.acks(0).empty());
}

TEST(RoomService, PublishToARoomNobodyIsInIsSequencedInAFreshEpoch) {
  Cluster c(2);
  const std::string room = room_owned_by(c.shard(0), 0);
  c.publish_acked(0, 1, room, "a");  // on the owner: acked at once
  c.publish_acked(1, 2, room, "b");
  c.settle();
  ASSERT_EQ(c.acks(0).size(), 1u);
  ASSERT_EQ(c.acks(1).size(), 1u);
  EXPECT_EQ(c.acks(0)[0][3], 1u);
  EXPECT_EQ(c.acks(1)[0][3], 1u) << "nothing is kept of an empty room yet";
  EXPECT_NE(c.acks(0)[0][2], c.acks(1)[0][2]) << "so each publish gets an epoch of its own";
  EXPECT_EQ(c.shard(0).owned_rooms(), 0u);
  EXPECT_EQ(c.metrics(0).get(obs::Metric::kRoomsOwned), 0u);
}

TEST(RoomService, OneMemberInTwoRoomsGetsBoth) {
  Cluster c(2);
  const std::string a = room_owned_by(c.shard(0), 0);
  const std::string b = room_owned_by(c.shard(0), 1);
  auto ja = c.shard(1).join(a, 7);
  auto jb = c.shard(1).join(b, 7);  // the same member id in a second room
  c.join(0, a, 1);
  c.join(0, b, 2);
  c.settle();
  c.publish(0, 1, "to a");
  c.publish(0, 2, "to b");
  c.settle();
  std::vector<std::string> seen;
  for (const auto& g : c.got(1)) seen.push_back(g.room + ":" + g.payload);
  EXPECT_EQ(seen, (std::vector<std::string>{a + ":to a", b + ":to b"}));
  c.shard(1).leave(ja.membership);
  c.publish(0, 2, "b again");
  c.settle();
  EXPECT_EQ(c.got(1).back().payload, "b again") << "leaving one room left the other";
  c.shard(1).leave(jb.membership);
}

TEST(RoomService, LeaveMovesTheLastMemberIntoTheGap) {
  Cluster c(1);
  c.join(0, "r", 1);
  c.join(0, "r", 2);
  c.join(0, "r", 3);
  c.leave(0, 1);
  EXPECT_EQ(c.members(0).at(3).index, 0u);
  c.publish(0, 2, "x");
  ASSERT_EQ(c.got(0).size(), 2u);
  EXPECT_EQ(c.got(0)[0].member, 3u);
  EXPECT_EQ(c.got(0)[1].member, 2u);
}

TEST(RoomService, LastLeaveTellsTheOwnerWhichForgetsTheRoom) {
  Cluster c(2);
  const std::string room = room_owned_by(c.shard(0), 0);
  c.join(1, room, 5);
  c.settle();
  c.publish(1, 5, "a");
  c.settle();
  c.leave(1, 5);
  EXPECT_EQ(c.shard(1).local_rooms(), 0u);
  EXPECT_EQ(c.shard(0).owned_rooms(), 1u) << "forgotten before the LeaveMsg arrived";
  c.settle();
  EXPECT_EQ(c.shard(0).owned_rooms(), 0u);
  // A new membership starts a new sequence.
  c.join(1, room, 6);
  c.settle();
  c.publish(1, 6, "b");
  c.settle();
  EXPECT_EQ(c.got(1).back().seq, 1u);
}

TEST(RoomService, PublishAfterEveryMemberLeftIsDropped) {
  Cluster c(2);
  const std::string room = room_owned_by(c.shard(0), 0);
  c.join(1, room, 5);
  c.settle();
  c.publish(1, 5, "late");
  c.leave(1, 5);
  c.settle();  // publish, then leave: the owner sequences it for nobody
  EXPECT_TRUE(c.got(1).empty());
  EXPECT_EQ(c.shard(0).owned_rooms(), 0u);
}

TEST(RoomService, MessagesSequencedBeforeARejoinAreNotDeliveredToIt) {
  Cluster c(2);
  const std::string room = room_owned_by(c.shard(0), 0);
  c.join(0, room, 1);  // on the owner: keeps the room alive
  c.join(1, room, 5);
  c.settle();
  c.leave(1, 5);
  c.publish(0, 1, "between");  // shard 1 still counted: a deliver is on its way
  c.join(1, room, 6);          // rejoins before the deliver and the leave are seen
  c.settle();
  for (const auto& g : c.got(1)) {
    EXPECT_NE(g.payload, "between") << "member 6 got a message from before its join";
  }
  c.publish(0, 1, "after");
  c.settle();
  ASSERT_FALSE(c.got(1).empty());
  EXPECT_EQ(c.got(1).back().payload, "after");
}

TEST(RoomService, AStaleJoinAnswerDoesNotConfirmALaterJoin) {
  Cluster c(2);
  const std::string room = room_owned_by(c.shard(0), 0);
  c.join(0, room, 1);  // on the owner: keeps the room and its sequence alive
  c.join(1, room, 2);
  c.settle();
  c.leave(1, 2);       // LeaveMsg
  c.join(1, room, 3);  // JoinMsg #2
  c.leave(1, 3);       // LeaveMsg
  c.join(1, room, 4);  // JoinMsg #3
  c.pump(1, 0, 2);     // leave, join #2: shard 1 counted again
  c.publish(0, 1, "p1");
  c.pump(1, 0, 1);  // leave: not counted
  c.publish(0, 1, "p2");
  c.pump(1, 0, 1);  // join #3
  c.publish(0, 1, "p3");
  c.settle();
  std::vector<std::string> seen;
  for (const auto& g : c.got(1)) seen.push_back(g.payload);
  EXPECT_EQ(seen, (std::vector<std::string>{"p3"}))
      << "member 4 must start at the first message after its own join, with no gap";
}

// Random joins, leaves and publishes on 3 shards, mail drained in random
// interleavings: each member, from its confirmation on, sees its room's
// messages in seq order with no gap and no duplicate.
TEST(RoomService, RandomInterleavingsKeepOneOrderPerRoom) {
  for (unsigned seed = 1; seed <= 20; ++seed) {
    std::mt19937 rng(seed);
    Cluster c(3);
    const std::vector<std::string> rooms = {"a", "b", "c"};
    uint32_t next_member = 1;
    std::map<uint32_t, std::pair<unsigned, std::string>> live;  // member -> shard, room
    for (int step = 0; step < 2000; ++step) {
      const unsigned op = rng() % 10;
      if (op < 2 || live.empty()) {
        const unsigned s = rng() % 3;
        const std::string& r = rooms[rng() % rooms.size()];
        c.join(s, r, next_member);
        live[next_member++] = {s, r};
      } else if (op < 3) {
        auto it = std::next(live.begin(), static_cast<long>(rng() % live.size()));
        c.leave(it->second.first, it->first);
        live.erase(it);
      } else if (op < 6) {
        auto it = std::next(live.begin(), static_cast<long>(rng() % live.size()));
        c.publish(it->second.first, it->first, std::to_string(step));
      } else {
        c.pump_random(rng);
      }
    }
    c.settle();
    std::map<uint32_t, uint64_t> last;
    for (unsigned s = 0; s < 3; ++s) {
      for (const auto& g : c.got(s)) {
        auto [it, first] = last.emplace(g.member, g.seq);
        if (!first) {
          ASSERT_EQ(g.seq, it->second + 1) << "seed " << seed << " member " << g.member;
          it->second = g.seq;
        }
      }
    }
  }
}

}  // namespace
}  // namespace ringchat::chat
