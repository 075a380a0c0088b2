#include "ringchat/chat/room_service.h"

#include <gtest/gtest.h>

#include <algorithm>
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

  explicit Cluster(unsigned shards, HistoryConfig history = {}) : n_(shards) {
    for (unsigned i = 0; i < n_; ++i) {
      hosts_.push_back(std::make_unique<Host>(*this, i));
      metrics_.push_back(std::make_unique<obs::ShardMetrics>());
      services_.push_back(
          std::make_unique<RoomService>(i, n_, *hosts_[i], *metrics_[i], 42 + i, history));
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
  auto& answers(unsigned shard) { return hosts_[shard]->answers; }
  auto& host_reads(unsigned shard) { return hosts_[shard]->reads; }
  auto& host_read_seqs(unsigned shard) { return hosts_[shard]->read_seqs; }
  std::vector<std::array<uint64_t, 4>>& acks(unsigned shard) { return hosts_[shard]->acks; }
  // A publish that asks for an ack, as the HTTP API sends it (no membership).
  void publish_acked(unsigned shard, uint32_t slot, std::string_view room, std::string_view text) {
    services_[shard]->publish(make_publish(
        room, ws::as_bytes(text), {slot, 9, static_cast<uint16_t>(shard)}, Kind::kText, 9));
  }
  std::vector<uint8_t>& built(unsigned shard) { return hosts_[shard]->built; }
  auto& events(unsigned shard) { return hosts_[shard]->events; }
  auto& present(unsigned shard) { return hosts_[shard]->present; }
  // Users of this shard's connections, as the host tells them (user_of).
  std::map<uint32_t, std::string>& users(unsigned shard) { return hosts_[shard]->users; }
  auto& listed(unsigned shard) { return hosts_[shard]->listed; }
  std::map<uint32_t, RoomService::Membership>& members(unsigned shard) {
    return hosts_[shard]->members;
  }

  // Joins `member` on `shard`, keeping its membership up to date.
  bool join(unsigned shard, std::string_view room, uint32_t member) {
    auto j = services_[shard]->join(room, member, 1, Format::kRawWs);
    hosts_[shard]->members[member] = j.membership;
    return j.confirmed;
  }
  void leave(unsigned shard, uint32_t member) {
    auto it = hosts_[shard]->members.find(member);
    ASSERT_NE(it, hosts_[shard]->members.end());
    const RoomService::Membership m = it->second;
    hosts_[shard]->members.erase(it);
    services_[shard]->leave(m, 1);
  }
  void publish(unsigned shard, uint32_t member, std::string_view payload) {
    const RoomService::Membership& m = hosts_[shard]->members.at(member);
    services_[shard]->publish(make_publish(m.room->name, ws::as_bytes(payload),
                                           {member, 7, static_cast<uint16_t>(shard)}, Kind::kText));
  }

  // Joins `member` resuming after `since`.
  void resume(unsigned shard, std::string_view room, uint32_t member, Position since,
              uint32_t gen = 1, Format format = Format::kRawWs) {
    auto j = services_[shard]->join(room, member, gen, format, since);
    // The owner's answer may have come already (and moved the member).
    hosts_[shard]->members.try_emplace(member, j.membership);
  }
  // The room's epoch, as a resume from nothing sees it (a probe member on
  // the owner joins and leaves).
  uint64_t epoch_of(std::string_view room) {
    const unsigned o = services_[0]->owner_of(room);
    resume(o, room, 999, Position{});
    const uint64_t epoch = hosts_[o]->answers.back().epoch;
    leave(o, 999);
    return epoch;
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
    // The raw frame, as the owner built it (or "" when it did not).
    static std::string raw_bytes(const Sequenced& s) {
      const net::SharedBuf* b = s.wire(Format::kRawWs);
      return b ? std::string(b->view()) : std::string();
    }
    void deliver(std::span<const uint32_t> to, const Sequenced& msg) override {
      if (msg.is_event()) {
        const net::SharedBuf* frame = msg.wire(Format::kJsonWs);
        for (uint32_t member : to) events.push_back({member, std::string(frame->view())});
        return;
      }
      uint8_t formats = 0;
      for (Format f : {Format::kRawWs, Format::kJsonWs, Format::kSse}) {
        if (msg.wire(f)) formats |= format_bit(f);
      }
      built.push_back(formats);
      const Message m = msg.message();
      for (uint32_t member : to) {
        got.push_back(
            {member, std::string(m.room), m.seq,
             std::string(reinterpret_cast<const char*>(m.payload.data()), m.payload.size()),
             raw_bytes(msg)});
      }
    }
    void confirmed(std::span<const uint32_t> to) override {
      told.insert(told.end(), to.begin(), to.end());
    }
    void acked(uint32_t slot, uint32_t token, uint64_t epoch, uint64_t seq) override {
      acks.push_back({slot, token, epoch, seq});
    }
    void answered(uint32_t slot, uint32_t, const HistoryBatch& b) override {
      present = b.present;
      for (const auto& r : b.rooms) listed.push_back({r.name, r.members});
      reads.push_back({slot, b.recovered, b.epoch, b.seq});
      for (const Sequenced* s : b.msgs) read_seqs.push_back(s->seq());
    }
    void history(uint32_t member, const HistoryBatch& b) override {
      answers.push_back({member, b.recovered, b.epoch, b.seq});
      for (const Sequenced* s : b.msgs) {
        const Message m = s->message();
        got.push_back(
            {member, std::string(m.room), m.seq,
             std::string(reinterpret_cast<const char*>(m.payload.data()), m.payload.size()),
             raw_bytes(*s)});
      }
    }
    std::string_view user_of(uint32_t slot) override {
      auto it = users.find(slot);
      return it == users.end() ? std::string_view{} : std::string_view(it->second);
    }
    void moved(uint32_t member, const LocalRoom* room, uint32_t index) override {
      auto& m = members[member];  // a resuming member may be moved before join() returns
      m.room = const_cast<LocalRoom*>(room);
      m.index = index;
    }
    Cluster& cluster;
    unsigned id;
    std::vector<Got> got;
    std::vector<uint8_t> built;  // format_bit()s of each delivered message's wire bytes
    std::vector<std::pair<uint32_t, std::string>> events;  // member, presence event frame
    std::vector<Present> present;                          // the last presence answer
    std::map<uint32_t, std::string> users;                 // slot -> user (user_of)
    std::vector<std::pair<std::string, size_t>> listed;    // rooms answers, in arrival order
    std::vector<uint32_t> told;                            // confirmed members
    std::vector<std::array<uint64_t, 4>> acks;             // slot, gen, epoch, seq
    struct Answer {
      uint32_t member;
      bool recovered;
      uint64_t epoch;
      uint64_t seq;
    };
    std::vector<Answer> answers;
    std::vector<Answer> reads;
    std::vector<uint64_t> read_seqs;
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

TEST(RoomService, PublishToARoomNobodyIsInIsKeptUntilTheRoomTtl) {
  Cluster c(2);
  const std::string room = room_owned_by(c.shard(0), 0);
  c.publish_acked(0, 1, room, "a");  // on the owner: acked at once
  c.publish_acked(1, 2, room, "b");
  c.settle();
  ASSERT_EQ(c.acks(0).size(), 1u);
  ASSERT_EQ(c.acks(1).size(), 1u);
  EXPECT_EQ(c.acks(0)[0][3], 1u);
  EXPECT_EQ(c.acks(1)[0][3], 2u);
  EXPECT_EQ(c.acks(0)[0][2], c.acks(1)[0][2]) << "one epoch while the history lasts";
  EXPECT_EQ(c.shard(0).owned_rooms(), 1u);
  c.shard(0).tick(HistoryConfig{}.room_ttl_ms - 1);
  EXPECT_EQ(c.shard(0).owned_rooms(), 1u);
  c.shard(0).tick(HistoryConfig{}.room_ttl_ms);
  EXPECT_EQ(c.shard(0).owned_rooms(), 0u) << "an idle room without members outlived its TTL";
  EXPECT_EQ(c.metrics(0).get(obs::Metric::kRoomsOwned), 0u);
}

TEST(RoomService, OneMemberInTwoRoomsGetsBoth) {
  Cluster c(2);
  const std::string a = room_owned_by(c.shard(0), 0);
  const std::string b = room_owned_by(c.shard(0), 1);
  auto ja = c.shard(1).join(a, 7, 1, Format::kRawWs);
  auto jb = c.shard(1).join(b, 7, 1, Format::kRawWs);  // the same member id in a second room
  c.join(0, a, 1);
  c.join(0, b, 2);
  c.settle();
  c.publish(0, 1, "to a");
  c.publish(0, 2, "to b");
  c.settle();
  std::vector<std::string> seen;
  for (const auto& g : c.got(1)) seen.push_back(g.room + ":" + g.payload);
  EXPECT_EQ(seen, (std::vector<std::string>{a + ":to a", b + ":to b"}));
  c.shard(1).leave(ja.membership, 1);
  c.publish(0, 2, "b again");
  c.settle();
  EXPECT_EQ(c.got(1).back().payload, "b again") << "leaving one room left the other";
  c.shard(1).leave(jb.membership, 1);
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

TEST(RoomService, LastLeaveTellsTheOwnerWhichForgetsTheRoomAfterItsTtl) {
  Cluster c(2);
  const std::string room = room_owned_by(c.shard(0), 0);
  c.join(1, room, 5);
  c.settle();
  c.publish(1, 5, "a");
  c.settle();
  const uint64_t epoch = c.epoch_of(room);
  c.leave(1, 5);
  EXPECT_EQ(c.shard(1).local_rooms(), 0u);
  c.settle();
  EXPECT_EQ(c.shard(0).owned_rooms(), 1u) << "its history keeps the room for a resume";
  c.shard(0).tick(HistoryConfig{}.room_ttl_ms);
  EXPECT_EQ(c.shard(0).owned_rooms(), 0u);
  // A new membership starts a new epoch and sequence.
  c.join(1, room, 6);
  c.settle();
  c.publish(1, 6, "b");
  c.settle();
  EXPECT_EQ(c.got(1).back().seq, 1u);
  EXPECT_NE(c.epoch_of(room), epoch);
}

TEST(RoomService, PublishAfterEveryMemberLeftIsKeptForAResume) {
  Cluster c(2);
  const std::string room = room_owned_by(c.shard(0), 0);
  c.join(1, room, 5);
  c.settle();
  c.publish(1, 5, "late");
  c.leave(1, 5);
  c.settle();  // publish, then leave: the owner sequences it for nobody
  EXPECT_TRUE(c.got(1).empty());
  EXPECT_EQ(c.shard(0).owned_rooms(), 1u);
  EXPECT_GT(c.shard(0).history_bytes(), 0u);
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
  // (A join is JoinMsg, WantMsg, MemberMsg; a leave MemberMsg, LeaveMsg.)
  c.pump(1, 0, 5);  // leave, join #2: shard 1 counted again
  c.publish(0, 1, "p1");
  c.pump(1, 0, 2);  // leave: not counted
  c.publish(0, 1, "p2");
  c.pump(1, 0, 1);  // join #3
  c.publish(0, 1, "p3");
  c.settle();
  std::vector<std::string> seen;
  for (const auto& g : c.got(1)) seen.push_back(g.payload);
  EXPECT_EQ(seen, (std::vector<std::string>{"p3"}))
      << "member 4 must start at the first message after its own join, with no gap";
}

// The seqs member `m` got, in order.
std::vector<uint64_t> seqs_of(const std::vector<Cluster::Got>& got, uint32_t m) {
  std::vector<uint64_t> out;
  for (const auto& g : got) {
    if (g.member == m) out.push_back(g.seq);
  }
  return out;
}

TEST(RoomService, ResumeGetsWhatWasMissedThenTheLiveStreamWithoutGapOrDuplicate) {
  Cluster c(2);
  const std::string room = room_owned_by(c.shard(0), 0);
  c.join(0, room, 1);  // a publisher on the owner
  c.join(1, room, 5);
  c.settle();
  for (int i = 0; i < 3; ++i) c.publish(0, 1, "x");
  c.settle();
  const uint64_t epoch = c.epoch_of(room);
  c.leave(1, 5);  // disconnects having seen 1..3
  c.publish(0, 1, "4");
  c.publish(0, 1, "5");
  c.resume(1, room, 6, {epoch, 3});
  c.publish(0, 1, "6");  // sequenced while the history question is on its way
  c.settle();
  c.publish(0, 1, "7");
  c.settle();
  EXPECT_EQ(seqs_of(c.got(1), 6), (std::vector<uint64_t>{4, 5, 6, 7}));
  ASSERT_EQ(c.answers(1).size(), 1u);
  EXPECT_TRUE(c.answers(1)[0].recovered);
  EXPECT_EQ(c.answers(1)[0].epoch, epoch);
}

TEST(RoomService, AStaleHistoryAnswerDoesNotAdmitALaterJoinOfTheSameMember) {
  Cluster c(2);
  const std::string room = room_owned_by(c.shard(0), 0);
  c.publish_acked(0, 1, room, "1");
  c.publish_acked(0, 1, room, "2");
  const uint64_t epoch = c.epoch_of(room);
  // A JSON socket joins, leaves and joins again (same slot, same gen)
  // before the owner has answered the first join.
  c.resume(1, room, 5, {epoch, 0});
  c.leave(1, 5);
  c.resume(1, room, 5, {epoch, 0});
  c.pump(1, 0, 4);                   // join, formats, history question #1, leave: not counted
  c.publish_acked(0, 1, room, "3");  // so it is not delivered to shard 1
  c.settle();                        // join again, question #2; the answers come back in order
  EXPECT_EQ(seqs_of(c.got(1), 5), (std::vector<uint64_t>{1, 2, 3}))
      << "the first answer (up to 2) must not admit the second join: 3 would be lost";
  c.publish_acked(0, 1, room, "4");
  c.settle();
  EXPECT_EQ(seqs_of(c.got(1), 5), (std::vector<uint64_t>{1, 2, 3, 4}));
}

TEST(RoomService, QueryReadsTheNewestBeforeASeq) {
  Cluster c(2);
  const std::string room = room_owned_by(c.shard(0), 0);
  for (int i = 0; i < 10; ++i) c.publish_acked(0, 1, room, "m");
  c.shard(1).query(room, 40, 1, std::nullopt, 3, 8);
  c.settle();
  EXPECT_EQ(c.host_read_seqs(1), (std::vector<uint64_t>{5, 6, 7}));
  c.host_read_seqs(1).clear();
  c.shard(1).query(room, 40, 2, std::nullopt, 100, 4);
  c.settle();
  EXPECT_EQ(c.host_read_seqs(1), (std::vector<uint64_t>{1, 2, 3})) << "fewer than the limit";
  c.host_read_seqs(1).clear();
  c.shard(1).query(room, 40, 3, std::nullopt, 2, 1000);
  c.shard(1).query(room, 40, 4, std::nullopt, 5, 1);
  c.settle();
  EXPECT_EQ(c.host_read_seqs(1), (std::vector<uint64_t>{9, 10})) << "nothing before seq 1";
}

TEST(RoomService, TheOwnerBuildsTheFormatsItsMembersRead) {
  Cluster c(2);
  const std::string room = room_owned_by(c.shard(0), 0);
  c.join(0, room, 1);  // raw, on the owner
  c.join(1, room, 5);  // raw, elsewhere
  c.settle();
  c.publish(0, 1, "a");
  c.settle();
  ASSERT_FALSE(c.built(1).empty());
  EXPECT_EQ(c.built(1).back(), format_bit(Format::kRawWs)) << "no JSON member: no envelope";
  c.resume(1, room, 6, {}, 1, Format::kJsonWs);  // a JSON socket joins on shard 1
  c.settle();
  c.publish(0, 1, "b");
  c.settle();
  EXPECT_EQ(c.built(1).back(), format_bit(Format::kRawWs) | format_bit(Format::kJsonWs));
}

// The JSON of a presence event frame (after its WebSocket header).
std::string event_of(const std::string& frame) {
  const size_t start = frame.find('{');
  return start == std::string::npos ? frame : frame.substr(start);
}
std::string event_json(const char* type, const std::string& room, const char* member) {
  std::string out = R"({"type":")";
  out += type;
  out += R"(","room":")";
  out += room;
  out += R"(","member":{"id":")";
  out += member;
  out += R"("}})";
  return out;
}

TEST(RoomService, TheOwnerKnowsWhoIsInARoomOnEveryShard) {
  Cluster c(3);
  const std::string room = room_owned_by(c.shard(0), 0);
  c.users(2)[7] = "seven";  // a token's sub, told to the owner on another shard
  c.users(0)[8] = "eight";  // and on the owner's own
  c.join(1, room, 5);
  c.join(2, room, 6);
  c.join(2, room, 7);
  c.join(0, room, 8);
  c.settle();
  c.leave(2, 6);
  c.settle();
  c.shard(1).presence(room, 40, 1);
  c.settle();
  auto present = c.present(1);
  std::sort(present.begin(), present.end(),
            [](const Present& a, const Present& b) { return a.who.slot < b.who.slot; });
  EXPECT_EQ(present,
            (std::vector<Present>{{{5, 1, 1}, ""}, {{7, 1, 2}, "seven"}, {{8, 1, 0}, "eight"}}));
  c.shard(0).presence("nowhere", 40, 2);
  EXPECT_TRUE(c.present(0).empty());
}

TEST(RoomService, RoomsUpToTheLimitHearWhoComesAndGoes) {
  HistoryConfig cfg;
  cfg.presence_events_max = 2;
  Cluster c(2, cfg);
  const std::string room = room_owned_by(c.shard(0), 0);
  // The events every member of every shard was handed (leaving out the
  // member an event is about is the protocols' business).
  auto heard = [&] {
    std::vector<std::string> out;
    for (unsigned s = 0; s < 2; ++s) {
      for (const auto& [member, frame] : c.events(s)) {
        out.push_back(std::to_string(member) + " " + event_of(frame));
      }
      c.events(s).clear();
    }
    return out;
  };
  c.join(0, room, 1);
  c.settle();
  EXPECT_EQ(heard(), (std::vector<std::string>{"1 " + event_json("join", room, "0-1-1")}));
  c.join(1, room, 5);
  c.settle();
  EXPECT_EQ(heard(), (std::vector<std::string>{"1 " + event_json("join", room, "1-5-1"),
                                               "5 " + event_json("join", room, "1-5-1")}));
  c.join(1, room, 6);  // a third member: over the limit, no event
  c.leave(1, 6);       // the leave of a room of three is not told either
  c.settle();
  EXPECT_TRUE(heard().empty());
  c.leave(1, 5);
  c.settle();
  EXPECT_EQ(heard(), (std::vector<std::string>{"1 " + event_json("leave", room, "1-5-1")}));
}

TEST(RoomService, EveryShardListsTheRoomsItOwnsByName) {
  Cluster c(3);
  for (const char* r : {"b", "a", "d", "c", "e"}) c.join(1, r, 5);
  c.join(2, "c", 6);
  c.settle();
  c.shard(1).rooms("a", 2, 40, 1);
  c.settle();
  auto listed = c.listed(1);
  std::sort(listed.begin(), listed.end());
  // Each shard gives at most 2 of its rooms after "a"; the asker merges.
  EXPECT_GE(listed.size(), 2u);
  EXPECT_EQ(listed[0], (std::pair<std::string, size_t>{"b", 1}));
  EXPECT_EQ(listed[1], (std::pair<std::string, size_t>{"c", 2}));
  EXPECT_EQ(c.host_reads(1).size(), 3u) << "one answer per shard";
}

TEST(RoomService, ResumeOnTheOwnerShardIsAnsweredAtOnce) {
  Cluster c(1);
  c.join(0, "r", 1);
  c.publish(0, 1, "a");
  c.publish(0, 1, "b");
  const uint64_t epoch = c.epoch_of("r");
  c.resume(0, "r", 2, {epoch, 1});
  c.publish(0, 1, "c");
  EXPECT_EQ(seqs_of(c.got(0), 2), (std::vector<uint64_t>{2, 3}));
}

TEST(RoomService, ResumeFromAnotherEpochIsNotRecoveredAndGetsWhatHistoryHolds) {
  Cluster c(2);
  const std::string room = room_owned_by(c.shard(0), 0);
  c.join(0, room, 1);
  c.publish(0, 1, "a");
  c.publish(0, 1, "b");
  const uint64_t epoch = c.epoch_of(room);
  c.resume(1, room, 5, {epoch ^ 1, 1});
  c.settle();
  ASSERT_EQ(c.answers(1).size(), 1u);
  EXPECT_FALSE(c.answers(1)[0].recovered);
  EXPECT_EQ(c.answers(1)[0].epoch, epoch) << "the client learns the room's epoch";
  EXPECT_EQ(seqs_of(c.got(1), 5), (std::vector<uint64_t>{1, 2}));
}

TEST(RoomService, ResumeFromBeforeWhatHistoryHoldsIsNotRecovered) {
  HistoryConfig h;
  h.per_room.max_messages = 3;
  Cluster c(2, h);
  const std::string room = room_owned_by(c.shard(0), 0);
  c.join(0, room, 1);
  for (int i = 0; i < 10; ++i) c.publish(0, 1, "m");
  const uint64_t epoch = c.epoch_of(room);
  c.resume(1, room, 5, {epoch, 6});  // lacks 7..10; history holds 8..10
  c.resume(1, room, 6, {epoch, 7});  // lacks 8..10: all there
  c.settle();
  ASSERT_EQ(c.answers(1).size(), 2u);
  EXPECT_FALSE(c.answers(1)[0].recovered);
  EXPECT_TRUE(c.answers(1)[1].recovered);
  EXPECT_EQ(seqs_of(c.got(1), 5), (std::vector<uint64_t>{8, 9, 10}));
  EXPECT_EQ(seqs_of(c.got(1), 6), (std::vector<uint64_t>{8, 9, 10}));
}

TEST(RoomService, ResumeUpToDateGetsNothingButIsRecovered) {
  Cluster c(2);
  const std::string room = room_owned_by(c.shard(0), 0);
  c.join(0, room, 1);
  c.publish(0, 1, "a");
  const uint64_t epoch = c.epoch_of(room);
  c.resume(1, room, 5, {epoch, 1});
  c.settle();
  ASSERT_EQ(c.answers(1).size(), 1u);
  EXPECT_TRUE(c.answers(1)[0].recovered);
  EXPECT_TRUE(seqs_of(c.got(1), 5).empty());
}

TEST(RoomService, OverTheShardsHistoryBudgetTheLeastRecentRoomLosesItsHistoryAndEpoch) {
  HistoryConfig h;
  h.shard_total = 6000;  // a few records' worth
  Cluster c(1, h);
  c.join(0, "old", 1);
  c.join(0, "new", 2);
  c.publish(0, 1, "o");
  const uint64_t old_epoch = c.epoch_of("old");
  for (int i = 0; i < 40; ++i) c.publish(0, 2, std::string(100, 'n'));
  EXPECT_LE(c.shard(0).history_bytes(), h.shard_total);
  EXPECT_NE(c.epoch_of("old"), old_epoch) << "lost history must show as a new epoch";
  c.resume(0, "old", 3, {old_epoch, 0});
  EXPECT_FALSE(c.answers(0).back().recovered);
}

TEST(RoomService, QueryReadsHistoryWithoutJoining) {
  Cluster c(2);
  const std::string room = room_owned_by(c.shard(0), 0);
  c.join(0, room, 1);
  for (int i = 0; i < 5; ++i) c.publish(0, 1, "m");
  const uint64_t epoch = c.epoch_of(room);
  c.shard(1).query(room, 40, 2, std::nullopt, 2);  // the newest two
  c.shard(1).query(room, 41, 2, Position{epoch, 2}, 100);
  c.shard(1).query("nowhere", 42, 2, std::nullopt, 100);
  c.settle();
  auto& reads = c.host_reads(1);
  ASSERT_EQ(reads.size(), 3u);
  // "nowhere" may be owned by shard 1 (answered at once): find each by slot.
  auto by_slot = [&](uint32_t slot) {
    for (const auto& r : reads) {
      if (r.member == slot) return r;
    }
    ADD_FAILURE() << "no answer for " << slot;
    return reads[0];
  };
  EXPECT_FALSE(by_slot(40).recovered) << "no position given";
  EXPECT_TRUE(by_slot(41).recovered);
  EXPECT_EQ(by_slot(41).epoch, epoch);
  EXPECT_EQ(by_slot(42).epoch, 0u) << "an unknown room has no epoch";
  auto seqs = c.host_read_seqs(1);
  std::sort(seqs.begin(), seqs.end());
  EXPECT_EQ(seqs, (std::vector<uint64_t>{3, 4, 4, 5, 5})) << "4,5 (newest two) and 3,4,5";
  EXPECT_EQ(c.shard(1).local_rooms(), 0u) << "a reader is no member";
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

// Members reconnect at random, resuming from the last message they got,
// while others publish and the mail drains in random interleavings; the
// history is short, so some resumes come too late. Every incarnation sees a
// gapless run of seqs, and a recovered one starts right after its position.
TEST(RoomService, RandomReconnectsResumeWithoutGapOrDuplicate) {
  for (unsigned seed = 1; seed <= 20; ++seed) {
    std::mt19937 rng(seed);
    HistoryConfig h;
    h.per_room.max_messages = 30;
    Cluster c(3, h);
    const std::string room = "lobby";
    struct Live {
      unsigned shard;
      uint64_t since = 0;
      bool resumed = false;
    };
    std::map<uint32_t, Live> live;
    std::map<uint32_t, Live> all;
    uint32_t next = 1;
    auto last_seq = [&](uint32_t m) {
      uint64_t last = 0;
      for (unsigned s = 0; s < 3; ++s) {
        for (const auto& g : c.got(s)) {
          if (g.member == m) last = g.seq;
        }
      }
      return last;
    };
    for (int step = 0; step < 1500; ++step) {
      const unsigned op = rng() % 10;
      if (op < 1 || live.size() < 2) {
        const unsigned s = rng() % 3;
        c.join(s, room, next);
        all[next] = live[next] = {s};
        ++next;
      } else if (op < 2) {
        auto it = std::next(live.begin(), static_cast<long>(rng() % live.size()));
        const uint32_t old = it->first;
        const uint64_t since = last_seq(old);
        c.leave(it->second.shard, old);
        live.erase(it);
        const unsigned s = rng() % 3;
        c.resume(s, room, next, {c.epoch_of(room), since});
        all[next] = live[next] = {s, since, true};
        ++next;
      } else if (op < 5) {
        auto it = std::next(live.begin(), static_cast<long>(rng() % live.size()));
        c.publish(it->second.shard, it->first, "m");
      } else {
        c.pump_random(rng);
      }
    }
    c.settle();
    std::map<uint32_t, bool> recovered;
    for (unsigned s = 0; s < 3; ++s) {
      for (const auto& a : c.answers(s)) recovered[a.member] = a.recovered;
    }
    for (const auto& [m, info] : all) {
      const unsigned s = info.shard;
      const std::vector<uint64_t> seqs = seqs_of(c.got(s), m);
      for (size_t i = 1; i < seqs.size(); ++i) {
        ASSERT_EQ(seqs[i], seqs[i - 1] + 1) << "seed " << seed << " member " << m;
      }
      if (info.resumed && recovered[m] && !seqs.empty()) {
        ASSERT_EQ(seqs.front(), info.since + 1) << "seed " << seed << " member " << m;
      }
    }
  }
}

}  // namespace
}  // namespace ringchat::chat
