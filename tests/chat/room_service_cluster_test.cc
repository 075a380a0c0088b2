// RoomService in cluster mode: several nodes, each with its shards, follow
// one in-memory authority (what Redis is in production). The authority
// applies a command when it is sent, as Redis runs a script atomically; its
// answers and broadcasts reach each shard through two queues (the command
// connection's replies and the subscriber connection's pushes) that the
// test drains in any interleaving, drops, or cuts.
#include <gtest/gtest.h>

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "ringchat/chat/cluster.h"
#include "ringchat/chat/room_service.h"
#include "ringchat/ws/frame_encoder.h"

namespace ringchat::chat {
namespace {

struct Stored {
  unsigned node;  // where it was published
  uint64_t epoch, seq;
  Kind kind;
  Sender from;
  std::string user, payload;
  ClusterRecord record() const {
    return {epoch, seq, 1000, kind, from, user, ws::as_bytes(payload), node};
  }
};

class FakeCluster;

// The shared authority: per room an epoch, a seq and a capped log.
class Authority {
 public:
  struct Room {
    uint64_t epoch = 0;
    uint64_t seq = 0;
    std::deque<Stored> log;
  };
  size_t cap = 1000;
  uint64_t next_epoch = 0xE1;
  std::map<std::string, Room> rooms;
  std::set<FakeCluster*> clusters;
  // Presence: per room, its members by id; and the nodes alive.
  std::map<std::string, std::map<std::string, Present>> present;
  std::set<uint32_t> live_nodes;
  Room& room(const std::string& name) {
    Room& r = rooms[name];
    if (r.epoch == 0) r.epoch = next_epoch++;
    return r;
  }
  void broadcast(const std::string& room, const Stored& s);
  void broadcast_presence(const std::string& room, const Present& who, bool here, size_t count);
  // An empty restart: every room is lost.
  void wipe() { rooms.clear(); }
};

// One shard's connections to the authority.
class FakeCluster final : public Cluster {
 public:
  FakeCluster(Authority& a, unsigned node) : auth_(a), node_(node) { a.clusters.insert(this); }
  ~FakeCluster() override { auth_.clusters.erase(this); }
  void attach(Cluster::Events& e) { events_ = &e; }

  bool up() const override { return up_; }
  void publish(const PublishMsg& m) override {
    const Publisher p{m.from(), m.ack};
    if (!up_) {
      m.body->release();
      return events_->refused(p, false);
    }
    Authority::Room& r = auth_.room(std::string(m.room()));
    Stored s{node_,
             r.epoch,
             ++r.seq,
             m.kind,
             m.from(),
             std::string(m.user()),
             std::string(m.body->view().substr(m.room_len + m.user_len))};
    const std::string room(m.room());
    m.body->release();
    r.log.push_back(s);
    while (r.log.size() > auth_.cap) r.log.pop_front();
    const uint64_t epoch = r.epoch, seq = r.seq;
    replies_.push_back({[this, p, epoch, seq] { events_->published(p, epoch, seq); },
                        [this, p] { events_->refused(p, true); }});  // applied, answer lost
    auth_.broadcast(room, s);
  }
  void watch(std::string_view room, uint64_t epoch, uint64_t after, uint32_t limit) override {
    // Subscribed now; the sync runs when its answer is taken, as Redis runs
    // it after the subscription's confirmation: broadcasts in between come
    // both ways.
    const std::string name(room);
    watched_.insert(name);
    replies_.push_back({[this, name, epoch, after, limit] {
                          Authority::Room& r = auth_.room(name);
                          std::vector<ClusterRecord> recs;
                          if (epoch == r.epoch) {
                            for (const Stored& s : r.log) {
                              if (s.seq > after) recs.push_back(s.record());
                            }
                          } else {
                            const size_t skip = r.log.size() > limit ? r.log.size() - limit : 0;
                            for (size_t i = skip; i < r.log.size(); ++i) {
                              recs.push_back(r.log[i].record());
                            }
                          }
                          events_->synced(name, r.epoch, r.seq, recs);
                        },
                        [] {}});
  }
  void unwatch(std::string_view room) override { watched_.erase(std::string(room)); }
  void fetch(std::string_view room, uint64_t after, uint64_t upto, uint64_t token) override {
    ++fetches;
    std::vector<Stored> msgs;
    for (const Stored& s : auth_.room(std::string(room)).log) {
      if (s.seq > after && s.seq <= upto) msgs.push_back(s);
    }
    const std::string name(room);
    replies_.push_back({[this, name, token, msgs] {
                          std::vector<ClusterRecord> recs;
                          for (const Stored& s : msgs) recs.push_back(s.record());
                          events_->fetched(name, token, true, recs);
                        },
                        [this, name, token] { events_->fetched(name, token, false, {}); }});
  }

  void member(std::string_view room, const Present& who, bool here, bool quiet) override {
    if (!up_) return;
    auth_.live_nodes.insert(who.node);
    auto& p = auth_.present[std::string(room)];
    const std::string id = std::to_string(who.node) + "/" + std::to_string(who.who.shard) + "/" +
                           std::to_string(who.who.slot) + "/" + std::to_string(who.who.gen);
    if (here) {
      p[id] = who;
    } else {
      p.erase(id);
    }
    if (!quiet) auth_.broadcast_presence(std::string(room), who, here, p.size());
  }
  void members(std::string_view room, uint64_t token) override {
    const std::string name(room);
    replies_.push_back({[this, name, token] {
                          std::vector<Present> out;
                          for (const auto& [id, p] : auth_.present[name]) {
                            if (auth_.live_nodes.count(p.node)) out.push_back(p);
                          }
                          events_->members_answer(name, token, true, out);
                        },
                        [this, name, token] { events_->members_answer(name, token, false, {}); }});
  }
  void push_presence(const std::string& room, const Present& who, bool here, size_t count) {
    if (!up_ || !watched_.count(room)) return;
    pushes_.push_back(
        [this, room, who, here, count] { events_->presence_event(room, who, here, count); });
  }

  void push(const std::string& room, const Stored& s) {
    if (!up_ || !watched_.count(room)) return;
    pushes_.push_back([this, room, s] { events_->message(room, s.record()); });
  }
  // Runs at most `n` replies / pushes.
  size_t pump_replies(size_t n = SIZE_MAX) {
    size_t done = 0;
    while (!replies_.empty() && done < n) {
      auto r = std::move(replies_.front());
      replies_.pop_front();
      r.ok();
      ++done;
    }
    return done;
  }
  size_t pump_pushes(size_t n = SIZE_MAX) {
    size_t done = 0;
    while (!pushes_.empty() && done < n) {
      auto f = std::move(pushes_.front());
      pushes_.pop_front();
      f();
      ++done;
    }
    return done;
  }
  // Broadcasts lost on the way (pub/sub is at most once).
  void drop_pushes() { pushes_.clear(); }
  void down() {
    up_ = false;
    watched_.clear();
    pushes_.clear();
    auto replies = std::move(replies_);
    replies_.clear();
    for (auto& r : replies) r.failed();
    events_->cluster_down();
  }
  void bring_up() {
    up_ = true;
    events_->cluster_up();
  }
  size_t fetches = 0;

 private:
  struct Reply {
    std::function<void()> ok, failed;
  };
  Authority& auth_;
  unsigned node_;
  Cluster::Events* events_ = nullptr;
  bool up_ = true;
  std::set<std::string> watched_;
  std::deque<Reply> replies_;
  std::deque<std::function<void()>> pushes_;
};

void Authority::broadcast(const std::string& room, const Stored& s) {
  for (FakeCluster* c : clusters) c->push(room, s);
}

void Authority::broadcast_presence(const std::string& room, const Present& who, bool here,
                                   size_t count) {
  for (FakeCluster* c : clusters) c->push_presence(room, who, here, count);
}

// prefix + i (GCC 12 warns, wrongly, on "literal" + std::string).
std::string label(const char* prefix, int i) {
  return std::string(prefix).append(std::to_string(i));
}

std::string text(std::span<const std::byte> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

struct Got {
  uint64_t epoch, seq;
  std::string payload;
};

// One node: its shards, mail between them through FIFOs, and what each
// shard's host was told.
class Node {
 public:
  Node(Authority& a, unsigned id, unsigned shards, HistoryConfig history = {}) : id_(id) {
    history.follows = true;
    for (unsigned i = 0; i < shards; ++i) {
      hosts_.push_back(std::make_unique<Host>(*this, i));
      metrics_.push_back(std::make_unique<obs::ShardMetrics>());
      services_.push_back(
          std::make_unique<RoomService>(i, shards, *hosts_[i], *metrics_[i], 7 + i, history));
      clusters_.push_back(std::make_unique<FakeCluster>(a, id));
      clusters_.back()->attach(*services_.back());
      services_.back()->follow(*clusters_.back(), id + 1);
    }
  }
  ~Node() {
    for (auto& [key, q] : rings_) {
      for (const MailMsg& m : q) release(m);
    }
  }
  RoomService& shard(unsigned i) { return *services_[i]; }
  FakeCluster& cluster(unsigned i) { return *clusters_[i]; }
  obs::ShardMetrics& metrics(unsigned i) { return *metrics_[i]; }
  unsigned shards() const { return static_cast<unsigned>(services_.size()); }

  // Member `m` of shard `s` joins `room` (resuming after `since`, if given).
  void join(unsigned s, uint32_t m, const std::string& room, std::optional<Position> since = {}) {
    RoomService::Joined j = since ? services_[s]->join(room, m, 1, Format::kRawWs, *since)
                                  : services_[s]->join(room, m, 1, Format::kRawWs);
    hosts_[s]->members.try_emplace(m, j.membership);
    if (j.confirmed) hosts_[s]->told.insert(m);
  }
  void leave(unsigned s, uint32_t m) {
    auto it = hosts_[s]->members.find(m);
    ASSERT_NE(it, hosts_[s]->members.end());
    const RoomService::Membership ms = it->second;
    hosts_[s]->members.erase(it);
    services_[s]->leave(ms, 1);
  }
  void publish(unsigned s, uint32_t m, const std::string& room, const std::string& text,
               uint32_t ack = 0) {
    services_[s]->publish(
        make_publish(room, ws::as_bytes(text), {m, 1, static_cast<uint16_t>(s)}, Kind::kText, ack));
  }
  std::vector<Got>& got(unsigned s, uint32_t m) { return hosts_[s]->got[m]; }
  bool confirmed(unsigned s, uint32_t m) { return hosts_[s]->told.count(m) > 0; }
  auto& answers(unsigned s) { return hosts_[s]->answers; }
  auto& acks(unsigned s) { return hosts_[s]->acks; }
  auto& refusals(unsigned s) { return hosts_[s]->refusals; }
  auto& events(unsigned s, uint32_t m) { return hosts_[s]->events[m]; }
  // Asks shard `s` who is in `room`; the answer after settle().
  void ask_presence(unsigned s, const std::string& room) { services_[s]->presence(room, 1, 1); }
  std::vector<Present>& present(unsigned s) { return hosts_[s]->present; }

  // Mail between this node's shards until none is left; true if any moved.
  bool settle_mail() {
    bool moved = false;
    for (bool any = true; any;) {
      any = false;
      for (auto& [key, q] : rings_) {
        while (!q.empty()) {
          MailMsg msg = q.front();
          q.pop_front();
          services_[key.second]->on_mail(key.first, msg);
          any = moved = true;
        }
      }
    }
    return moved;
  }
  // Everything: mail, replies, pushes, until quiet.
  void settle() {
    for (bool any = true; any;) {
      any = settle_mail();
      for (auto& c : clusters_) any |= c->pump_replies() + c->pump_pushes() > 0;
    }
  }
  // One random step.
  bool step(std::mt19937& rng) {
    const unsigned s = rng() % shards();
    switch (rng() % 3) {
      case 0:
        return settle_mail();
      case 1:
        return clusters_[s]->pump_replies(1 + rng() % 3) > 0;
      default:
        return clusters_[s]->pump_pushes(1 + rng() % 3) > 0;
    }
  }

 private:
  struct Host : RoomService::Host {
    Host(Node& n, unsigned id) : node(n), id(id) {}
    void post(unsigned shard, const MailMsg& m) override {
      EXPECT_NE(shard, id);
      node.rings_[{id, shard}].push_back(m);
    }
    void deliver(std::span<const uint32_t> to, const Sequenced& msg) override {
      if (msg.is_event()) {
        // As Members does: a member hears no event about itself.
        const net::SharedBuf* frame = msg.wire(Format::kJsonWs);
        for (uint32_t member : to) {
          if (msg.from().shard == id && msg.from().slot == member) continue;
          events[member].push_back(std::string(frame->view().substr(2)));
        }
        return;
      }
      const Message m = msg.message();
      for (uint32_t member : to) {
        got[member].push_back({m.epoch, m.seq, text(m.payload)});
      }
    }
    void confirmed(std::span<const uint32_t> to) override { told.insert(to.begin(), to.end()); }
    void moved(uint32_t member, const LocalRoom* room, uint32_t index) override {
      auto& m = members[member];
      m.room = const_cast<LocalRoom*>(room);
      m.index = index;
    }
    void acked(uint32_t slot, uint32_t token, uint64_t epoch, uint64_t seq) override {
      acks.push_back({slot, token, epoch, seq});
    }
    void refused(uint32_t slot, uint32_t gen, uint32_t token, bool maybe_applied) override {
      refusals.push_back({slot, gen, token, maybe_applied});
    }
    void history(uint32_t member, const HistoryBatch& b) override {
      answers.push_back({member, b.recovered, b.epoch, b.seq});
      told.insert(member);
      for (const Sequenced* s : b.msgs) {
        const Message m = s->message();
        got[member].push_back({m.epoch, m.seq, text(m.payload)});
      }
    }
    void answered(uint32_t, uint32_t, const HistoryBatch& b) override { present = b.present; }
    std::string_view user_of(uint32_t slot) override {
      return slot >= 100 ? std::string_view("u") : std::string_view();
    }
    Node& node;
    unsigned id;
    std::map<uint32_t, std::vector<Got>> got;
    std::map<uint32_t, std::vector<std::string>> events;  // presence event frames' text
    std::vector<Present> present;                         // the last presence answer
    std::set<uint32_t> told;                              // confirmed members
    std::map<uint32_t, RoomService::Membership> members;
    struct Answer {
      uint32_t member;
      bool recovered;
      uint64_t epoch, seq;
    };
    std::vector<Answer> answers;
    std::vector<std::array<uint64_t, 4>> acks;
    std::vector<std::array<uint32_t, 4>> refusals;  // slot, gen, token, maybe_applied
  };

  unsigned id_;
  std::vector<std::unique_ptr<Host>> hosts_;
  std::vector<std::unique_ptr<obs::ShardMetrics>> metrics_;
  std::vector<std::unique_ptr<RoomService>> services_;
  std::vector<std::unique_ptr<FakeCluster>> clusters_;
  std::map<std::pair<unsigned, unsigned>, std::deque<MailMsg>> rings_;
};

// Seqs a member got, and whether they run first..last with no gap.
std::vector<uint64_t> seqs(const std::vector<Got>& got) {
  std::vector<uint64_t> out;
  for (const Got& g : got) out.push_back(g.seq);
  return out;
}
std::vector<uint64_t> run(uint64_t first, uint64_t last) {
  std::vector<uint64_t> out;
  for (uint64_t s = first; s <= last; ++s) out.push_back(s);
  return out;
}

TEST(RoomServiceCluster, MembersOnEveryShardOfEveryNodeGetOneSequence) {
  for (unsigned seed = 1; seed <= 20; ++seed) {
    Authority auth;
    Node a(auth, 0, 2), b(auth, 1, 3);
    std::mt19937 rng(seed);
    const std::string room = "lobby";
    // Members everywhere; the joins wait for the first sync.
    for (unsigned s = 0; s < 2; ++s) a.join(s, 10 + s, room);
    for (unsigned s = 0; s < 3; ++s) b.join(s, 20 + s, room);
    a.settle();
    b.settle();
    for (unsigned s = 0; s < 2; ++s) ASSERT_TRUE(a.confirmed(s, 10 + s)) << s;
    for (unsigned s = 0; s < 3; ++s) ASSERT_TRUE(b.confirmed(s, 20 + s)) << s;
    // Publishers on both nodes, interleaved with any order of replies,
    // pushes and mail.
    size_t acked_pubs = 0;
    for (int i = 0; i < 60; ++i) {
      const std::string text = label("m", i);
      if (rng() % 2) {
        ++acked_pubs;
        a.publish(rng() % 2, 10, room, text, 100 + i);
      } else {
        b.publish(rng() % 3, 20, room, text);
      }
      for (int k = rng() % 4; k > 0; --k) {
        a.step(rng);
        b.step(rng);
      }
    }
    a.settle();
    b.settle();
    a.settle();
    const std::vector<uint64_t> all = run(1, 60);
    std::vector<std::string> order;
    for (const Got& g : a.got(0, 10)) order.push_back(g.payload);
    for (unsigned s = 0; s < 2; ++s) {
      EXPECT_EQ(seqs(a.got(s, 10 + s)), all) << "seed " << seed << " node a shard " << s;
    }
    for (unsigned s = 0; s < 3; ++s) {
      EXPECT_EQ(seqs(b.got(s, 20 + s)), all) << "seed " << seed << " node b shard " << s;
      std::vector<std::string> theirs;
      for (const Got& g : b.got(s, 20 + s)) theirs.push_back(g.payload);
      EXPECT_EQ(theirs, order) << "the same payload under each seq";
    }
    size_t acked = 0;
    for (unsigned s = 0; s < 2; ++s) acked += a.acks(s).size();
    EXPECT_EQ(acked, acked_pubs) << "every publish that asked is acked once";
  }
}

TEST(RoomServiceCluster, ABroadcastLostOnTheWayIsFetchedBeforeLaterMessages) {
  Authority auth;
  Node a(auth, 0, 1), b(auth, 1, 2);
  const std::string room = "gaps";
  a.join(0, 1, room);
  b.join(0, 2, room);
  b.join(1, 3, room);
  a.settle();
  b.settle();
  const unsigned owner = b.shard(0).owner_of(room);
  for (int i = 0; i < 5; ++i) a.publish(0, 1, room, label("x", i));
  b.cluster(owner).drop_pushes();  // B's subscriber lost 1..5
  for (int i = 5; i < 8; ++i) a.publish(0, 1, room, label("x", i));
  a.settle();
  b.settle();
  EXPECT_EQ(seqs(b.got(0, 2)), run(1, 8));
  ASSERT_EQ(seqs(b.got(1, 3)), run(1, 8));
  EXPECT_EQ(b.got(1, 3)[0].payload, "x0");
  EXPECT_EQ(b.metrics(owner).get(obs::Metric::kClusterGapFills), 1u);
}

TEST(RoomServiceCluster, AClientResumesOnAnotherNodeWithNoGapAndNoDuplicate) {
  Authority auth;
  Node a(auth, 0, 2), b(auth, 1, 2);
  const std::string room = "resume";
  a.join(1, 1, room);
  a.settle();
  for (int i = 0; i < 10; ++i) a.publish(0, 9, room, label("p", i));
  a.settle();
  ASSERT_EQ(seqs(a.got(1, 1)), run(1, 10));
  const Position at{a.got(1, 1).back().epoch, 6};  // it had read up to 6 when it went
  a.leave(1, 1);
  a.settle();
  // B has never seen the room: the resume waits for its first sync.
  b.join(1, 5, room, at);
  for (int i = 10; i < 14; ++i) a.publish(0, 9, room, label("p", i));
  a.settle();
  b.settle();
  ASSERT_EQ(b.answers(1).size(), 1u);
  EXPECT_TRUE(b.answers(1)[0].recovered);
  EXPECT_EQ(seqs(b.got(1, 5)), run(7, 14));
  EXPECT_EQ(b.got(1, 5)[0].payload, "p6");
}

TEST(RoomServiceCluster, AResumeOlderThanTheCacheIsFetchedFromTheAuthority) {
  Authority auth;
  HistoryConfig small;
  small.per_room.max_messages = 3;  // the node keeps 3; the authority 1000
  Node a(auth, 0, 1), b(auth, 1, 1, small);
  const std::string room = "deep";
  b.join(0, 1, room);
  b.settle();
  for (int i = 0; i < 20; ++i) a.publish(0, 9, room, label("d", i));
  a.settle();
  b.settle();
  const uint64_t epoch = b.got(0, 1).back().epoch;
  b.join(0, 2, room, Position{epoch, 4});
  b.settle();
  ASSERT_EQ(b.answers(0).size(), 1u);
  EXPECT_TRUE(b.answers(0)[0].recovered);
  EXPECT_EQ(seqs(b.got(0, 2)), run(5, 20));
  EXPECT_EQ(b.cluster(0).fetches, 1u);
  // Older than the authority keeps: not recovered, what there is.
  auth.cap = 5;
  a.publish(0, 9, room, "d20");
  a.settle();
  b.settle();
  b.join(0, 3, room, Position{epoch, 2});
  b.settle();
  ASSERT_EQ(b.answers(0).size(), 2u);
  EXPECT_FALSE(b.answers(0)[1].recovered);
}

TEST(RoomServiceCluster,
     WhileTheAuthorityIsDownPublishesAreRefusedAndAResyncDeliversWhatWasMissed) {
  Authority auth;
  Node a(auth, 0, 1), b(auth, 1, 2);
  const std::string room = "outage";
  a.join(0, 1, room);
  b.join(0, 2, room);
  b.join(1, 3, room);
  a.settle();
  b.settle();
  for (int i = 0; i < 3; ++i) a.publish(0, 1, room, "before");
  a.settle();
  b.settle();
  // B loses its connections: B's publishes are refused (the publisher told,
  // with its ack token and generation); A's go on, and B misses them.
  for (unsigned s = 0; s < 2; ++s) b.cluster(s).down();
  b.publish(1, 3, room, "refused", 77);
  b.publish(0, 2, room, "refused too");  // a raw publish: no ack asked, told anyway
  b.settle();
  for (int i = 0; i < 4; ++i) a.publish(0, 1, room, "during");
  a.settle();
  EXPECT_EQ(b.refusals(1).size(), 1u);
  EXPECT_EQ(b.refusals(1)[0], (std::array<uint32_t, 4>{3, 1, 77, 0})) << "not sent: not applied";
  EXPECT_EQ(b.refusals(0).size(), 1u);
  EXPECT_EQ(seqs(b.got(1, 3)), run(1, 3));
  for (unsigned s = 0; s < 2; ++s) b.cluster(s).bring_up();
  b.settle();
  for (int i = 0; i < 2; ++i) a.publish(0, 1, room, "after");
  a.settle();
  b.settle();
  EXPECT_EQ(seqs(b.got(0, 2)), run(1, 9));
  EXPECT_EQ(seqs(b.got(1, 3)), run(1, 9));
  EXPECT_EQ(seqs(a.got(0, 1)), run(1, 9)) << "nothing refused was half-applied";
  const unsigned owner = b.shard(0).owner_of(room);
  EXPECT_EQ(b.metrics(owner).get(obs::Metric::kClusterResyncs), 1u);
}

TEST(RoomServiceCluster, AnAuthorityThatLostTheRoomStartsANewEpoch) {
  Authority auth;
  Node a(auth, 0, 1);
  const std::string room = "amnesia";
  a.join(0, 1, room);
  a.settle();
  for (int i = 0; i < 3; ++i) a.publish(0, 1, room, "old");
  a.settle();
  const uint64_t old_epoch = a.got(0, 1).back().epoch;
  auth.wipe();
  a.publish(0, 1, room, "new");
  a.settle();
  ASSERT_EQ(a.got(0, 1).size(), 4u);
  EXPECT_NE(a.got(0, 1).back().epoch, old_epoch);
  EXPECT_EQ(a.got(0, 1).back().seq, 1u);
  // A client with the old position is told history did not reach back.
  a.join(0, 2, room, Position{old_epoch, 3});
  a.settle();
  ASSERT_EQ(a.answers(0).size(), 1u);
  EXPECT_FALSE(a.answers(0)[0].recovered);
  EXPECT_EQ(seqs(a.got(0, 2)), run(1, 1));
}

TEST(RoomServiceCluster, AFirstSyncKeepsThePastAsHistoryWithoutDeliveringIt) {
  Authority auth;
  Node a(auth, 0, 1), b(auth, 1, 2);
  const std::string room = "past";
  for (int i = 0; i < 5; ++i) a.publish(0, 1, room, "old");  // nobody is in it
  a.settle();
  b.join(1, 7, room);
  EXPECT_FALSE(b.confirmed(1, 7)) << "confirmed before the room was in step";
  b.settle();
  EXPECT_TRUE(b.confirmed(1, 7));
  EXPECT_TRUE(b.got(1, 7).empty());
  a.publish(0, 1, room, "new");
  a.settle();
  b.settle();
  EXPECT_EQ(seqs(b.got(1, 7)), run(6, 6));
  b.join(0, 8, room, Position{b.got(1, 7).back().epoch, 2});
  b.settle();
  EXPECT_EQ(seqs(b.got(0, 8)), run(3, 6));
}

TEST(RoomServiceCluster, AnIdleRoomIsUnwatchedAfterItsLinger) {
  Authority auth;
  HistoryConfig h;
  h.room_ttl_ms = 2000;
  Node a(auth, 0, 1, h);
  a.join(0, 1, "brief");
  a.settle();
  a.leave(0, 1);
  a.settle();
  a.shard(0).tick(1000);
  EXPECT_EQ(a.shard(0).owned_rooms(), 1u) << "kept through the linger";
  a.shard(0).tick(5000);
  EXPECT_EQ(a.shard(0).owned_rooms(), 0u);
  a.publish(0, 1, "brief", "after");
  a.settle();
  EXPECT_EQ(a.shard(0).owned_rooms(), 0u) << "a broadcast for an unwatched room is dropped";
}

TEST(RoomServiceCluster, PresenceSpansNodesAndADeadNodesMembersLeaveIt) {
  Authority auth;
  Node a(auth, 0, 2), b(auth, 1, 1);
  const std::string room = "who";
  a.join(0, 100, room);  // user "u"
  a.settle();
  b.join(0, 5, room);  // anonymous
  b.settle();
  a.settle();
  // A's member hears B's join from the broadcast, with B's node in its id.
  ASSERT_EQ(a.events(0, 100).size(), 1u);
  EXPECT_NE(a.events(0, 100)[0].find(R"("type":"join")"), std::string::npos);
  EXPECT_NE(a.events(0, 100)[0].find(R"("member":{"id":"2-0-5-1"})"), std::string::npos)
      << a.events(0, 100)[0];
  EXPECT_TRUE(b.events(0, 5).empty()) << "no event about itself";
  // Either node's answer lists both, each with its node.
  a.ask_presence(1, room);
  a.settle();
  ASSERT_EQ(a.present(1).size(), 2u);
  std::set<uint32_t> nodes;
  for (const Present& p : a.present(1)) nodes.insert(p.node);
  EXPECT_EQ(nodes, (std::set<uint32_t>{1, 2}));
  // B dies (its heartbeat ends): its member is gone from the answers.
  auth.live_nodes.erase(2);
  a.ask_presence(0, room);
  a.settle();
  ASSERT_EQ(a.present(0).size(), 1u);
  EXPECT_EQ(a.present(0)[0].user, "u");
  // A leave is heard on the other node.
  b.leave(0, 5);
  b.settle();
  a.settle();
  ASSERT_EQ(a.events(0, 100).size(), 2u);
  EXPECT_NE(a.events(0, 100)[1].find(R"("type":"leave")"), std::string::npos);
}

}  // namespace
}  // namespace ringchat::chat
