#pragma once
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>

#include "ringchat/chat/cluster.h"
#include "ringchat/chat/mail.h"
#include "ringchat/chat/message.h"
#include "ringchat/chat/rooms.h"
#include "ringchat/obs/metrics.h"

namespace ringchat::chat {

// One shard's part of the rooms: the local member lists of rooms it has
// members in, and the authority (epoch, seq, member shards) over the rooms
// it owns. Members are opaque 32-bit ids (connection slots); the service
// knows no connection, no socket and no wire format but the ones chat/wire
// builds. Everything it does to the world goes through its Host: mail to
// other shards and fan-out to local members. That seam lets tests run
// several services as simulated shards with no sockets.
//
// Protocol (per room, owner O, member shard M):
//   M: first local member joins     -> JoinMsg to O (or counted at once if M == O)
//   O: counts M, answers            -> JoinedMsg to M, in order before any DeliverMsg
//   M: confirmed: waiting members may be told they joined
//   any member publishes            -> PublishMsg to O
//   O: assigns seq, builds the wire bytes once, keeps the message in the
//      room's history, one DeliverMsg per member shard (and an AckMsg to the
//      publisher's shard if it asked; a room with no member is sequenced too)
//   M: hands the message to its local members in seq order
//   M: last local member leaves     -> LeaveMsg to O; O forgets the room when
//                                      no shard has members, once its history
//                                      has been idle for the room TTL.
//   M: a member joins with EPOCH:SEQ -> HistoryReqMsg to O; the member gets no
//      live message until O's HistoryMsg (in order with the deliveries)
//      brings it up to date: no gap, no duplicate.
// Cluster mode (follow(), chat/cluster.h): O does not sequence. A publish
// goes to the authority (its answer: AckMsg, or RefusedMsg to the
// publisher's shard); O watches every room it has member shards or
// questions for, and fans out what the authority broadcasts, in seq order:
// a gap waits for the missing messages from the authority's history. A room
// is not in step until the authority's first answer: the JoinedMsgs and
// history answers of its members wait for it (parked), so they too see no
// gap and no duplicate. After a lost connection every watched room is
// synced again, delivering what it missed. A resume older than O's cache
// fetches from the authority.
// Thread: owner shard only (one service per shard).
class RoomService final : public Cluster::Events {
 public:
  class Host {
   public:
    virtual ~Host() = default;
    // Mail to another shard (never this one), in posting order.
    virtual void post(unsigned shard, const MailMsg& m) = 0;
    // `msg` has reached this shard: queue it on `members` (the room's local
    // members, possibly none), in seq order per room. The host takes no
    // reference unless it keeps the message's bytes.
    virtual void deliver(std::span<const uint32_t> members, const Sequenced& msg) = 0;
    // The owner has counted this shard: members that waited for it may be
    // told they joined; every later message of the room reaches them.
    virtual void confirmed(std::span<const uint32_t> members) = 0;
    // A leave moved `member`'s entry in `room` to `index`.
    virtual void moved(uint32_t member, const LocalRoom* room, uint32_t index) = 0;
    // A publish of `slot` on this shard that asked for it (PublishMsg::ack
    // == `token`) was sequenced at `epoch`:`seq`.
    virtual void acked(uint32_t slot, uint32_t token, uint64_t epoch, uint64_t seq) = 0;
    // The history answer for `member`, which joined with a position: queue
    // batch.msgs (with seq > batch.since.seq when recovered) before any live
    // message; the member is a full member when this returns.
    virtual void history(uint32_t member, const HistoryBatch& batch) = 0;
    // The answer to query(), presence() or rooms() of (slot, token) on this
    // shard (rooms(): one per shard).
    virtual void answered(uint32_t slot, uint32_t token, const HistoryBatch& batch) = 0;
    // The user connection `slot` of this shard is (its token's sub), for
    // presence; empty: anonymous.
    virtual std::string_view user_of(uint32_t /*slot*/) { return {}; }
    // Cluster mode: a publish of (`slot`, `gen`) on this shard was not
    // sequenced, or maybe_applied: may have been (Cluster::Events::refused);
    // `token` is its PublishMsg::ack (0: it asked for none).
    virtual void refused(uint32_t /*slot*/, uint32_t /*gen*/, uint32_t /*token*/,
                         bool /*maybe_applied*/) {}
  };

  // A member's place in a room, for an O(1) leave.
  struct Membership {
    LocalRoom* room = nullptr;
    uint32_t index = 0;
  };

  // `host` and `metrics` (publishes sequenced, rooms owned) outlive it.
  RoomService(unsigned shard, unsigned shards, Host& host, obs::ShardMetrics& metrics,
              uint64_t seed, const HistoryConfig& history = {});
  ~RoomService() override;
  RoomService(const RoomService&) = delete;
  RoomService& operator=(const RoomService&) = delete;

  unsigned shard() const { return shard_; }
  unsigned owner_of(std::string_view room) const;
  // Cluster mode: the rooms this shard owns follow `cluster` (which
  // outlives the service and calls it back as its Events). Before any room.
  // REQUIRES: the HistoryConfig had `follows` set.
  // `node` tells this process's members apart in presence.
  void follow(Cluster& cluster, uint32_t node) {
    cluster_ = &cluster;
    node_ = node;
  }

  // Cluster::Events
  void cluster_up() override;
  void watch_lost(std::string_view room) override;
  void cluster_down() override;
  void published(const Publisher& p, uint64_t epoch, uint64_t seq) override;
  void refused(const Publisher& p, bool maybe_applied) override;
  void message(std::string_view room, const ClusterRecord& r) override;
  void synced(std::string_view room, uint64_t epoch, uint64_t seq,
              std::span<const ClusterRecord> msgs) override;
  void fetched(std::string_view room, uint64_t token, bool ok,
               std::span<const ClusterRecord> msgs) override;
  void presence_event(std::string_view room, const Present& who, bool here, size_t count) override;
  void members_answer(std::string_view room, uint64_t token, bool ok,
                      std::span<const Present> present) override;

  // Adds `member` to `room` (a valid name). `confirmed` is false until the
  // owner counts this shard (Host::confirmed() tells when).
  struct Joined {
    Membership membership;
    bool confirmed;
  };
  // `gen` tells the member (a connection slot) from a later one on its
  // slot; `format`: what it reads (the owner builds it once per message).
  // The owner counts it in the room's presence.
  Joined join(std::string_view room, uint32_t member, uint32_t gen, Format format);
  // Joins resuming after `since`: Host::history() brings the member up to
  // date (at most `limit` messages: 0 just tells where the room stands),
  // then live messages follow. `confirmed`: the history answer came already
  // (this shard owns the room), and the membership returned is the member's
  // place among members.
  Joined join(std::string_view room, uint32_t member, uint32_t gen, Format format, Position since,
              uint32_t limit = UINT32_MAX);
  // REQUIRES: `m` is the current membership of the member of generation
  // `gen`. Frees the room's local entry after its last member.
  void leave(Membership m, uint32_t gen);
  // The member's user changed (an anonymous socket refreshed to a token):
  // the owner's presence shows the new one, and a room with presence events
  // hears `join` again for the member, with its user.
  void renamed(Membership m, uint32_t gen);
  // Asks the room's owner for its history on behalf of `slot`, not a
  // member (`token`, from ShardContext::ack_token(), comes back with the
  // answer): at most `limit` messages after `since`, or without it the
  // newest `limit` before seq `before` (0: the newest). Host::answered()
  // gets the answer (maybe before this returns, on the owner's shard).
  void query(std::string_view room, uint32_t slot, uint32_t token, std::optional<Position> since,
             uint32_t limit, uint64_t before = 0);
  // Asks the room's owner who is in it (HistoryBatch::present).
  void presence(std::string_view room, uint32_t slot, uint32_t token);
  // Asks every shard for the rooms it owns named after `after`, at most
  // `limit` (HistoryBatch::rooms): Host::answered() is called once per shard.
  void rooms(std::string_view after, uint32_t limit, uint32_t slot, uint32_t token);
  // A local member's message for its room: to the owner for a seq.
  // Takes the reference of `m.body`.
  void publish(const PublishMsg& m);
  // Mail from shard `from`; takes the references it carries.
  void on_mail(unsigned from, const MailMsg& m);

  size_t local_rooms() const { return local_.size(); }
  size_t owned_rooms() const { return owned_.size(); }
  size_t history_bytes() const { return owned_.history_bytes(); }
  // Calls fn(const OwnedRoom&) for every room this shard owns (/stats).
  template <typename Fn>
  void each_owned(Fn&& fn) const {
    owned_.each(fn);
  }
  // The monotonic clock for room TTLs; forgets idle rooms (call about once
  // a second).
  void tick(uint64_t now_ms);

  // Unix time in ms for the next sequenced message (tests set a clock).
  void set_clock(uint64_t (*now_ms)()) { clock_ = now_ms; }

 private:
  void tell_owner_join(LocalRoom& room);
  void want(LocalRoom& room, Format format);
  // Tells the owner `who` joined (`here`) or left `room`.
  static uint32_t slot_of(Membership m);
  void report(const LocalRoom& room, Sender who, bool here);
  void on_member(std::string_view room, Sender who, bool here, std::string_view user);
  // Sends `msg` to every member shard of `room` (this one included), with
  // `extra` more references for the caller's own use.
  void fan_out(const OwnedRoom& room, Sequenced* msg, uint32_t extra);
  void ask(HistoryQuery* q, unsigned shard);
  void sequence(const PublishMsg& m);
  void deliver(Sequenced& msg);
  void on_joined(std::string_view room, uint32_t token);
  // Answers `q` for shard `to`: at once, or (cluster mode) once the room is
  // in step and, for a resume older than the cache, fetched.
  void answer(HistoryQuery* q, unsigned to);
  // The answer from what is here: `older`, fetched, precedes the history;
  // `present`, when given, is the room's presence (else the owner's own).
  void reply(HistoryQuery* q, unsigned to, std::span<Sequenced* const> older = {},
             const std::vector<Present>* present = nullptr);
  // Tells the room's JSON members `who` joined or left (an event, not a message).
  void announce(const OwnedRoom& room, const Present& who, bool here);
  void on_history(HistoryBatch* batch);
  OwnedRoom& count_shard(std::string_view room, unsigned shard);
  void uncount_shard(std::string_view room, unsigned shard);
  // Tells shard `shard` its join (`token`) of `room` is counted.
  void confirm(const OwnedRoom& room, unsigned shard, uint32_t token);

  // Cluster mode.
  void watch(OwnedRoom& room);
  // Watches a followed room again (after the authority came back, or lost
  // its watch) and resyncs it.
  void rewatch(OwnedRoom& room);
  // The room's next message (or a later one, past a gap), as broadcast.
  void advance(OwnedRoom& room, Sequenced* m);
  // Fans out the room's next message and keeps it.
  void emit(OwnedRoom& room, Sequenced* m);
  void drain_ahead(OwnedRoom& room);
  void fill(OwnedRoom& room);
  void unpark(OwnedRoom& room);
  // The authority's room has a new epoch: what was kept belongs to the old one.
  void restart(OwnedRoom& room, uint64_t epoch);
  // A Sequenced record of `room` for `r` (no wire bytes yet).
  static Sequenced* make(std::string_view room, const ClusterRecord& r);
  // What a fetch is for: a gap of its room (no query), or a resume.
  struct Fetch {
    std::string room;
    HistoryQuery* query = nullptr;
    unsigned to = 0;
  };

  unsigned shard_;
  unsigned shards_;
  Host& host_;
  obs::ShardMetrics& metrics_;
  LocalRooms local_;
  OwnedRooms owned_;
  uint64_t (*clock_)();
  uint32_t next_token_ = 0;  // of joins (JoinMsg, member HistoryQuery)
  size_t presence_events_max_;
  uint32_t sync_limit_;  // the newest messages a first sync keeps (--history)
  Cluster* cluster_ = nullptr;
  uint32_t node_ = 0;
  std::unordered_map<uint64_t, Fetch> fetches_;
  uint64_t next_fetch_ = 0;
};

}  // namespace ringchat::chat
