#pragma once
#include <cstdint>
#include <span>
#include <string_view>

#include "ringchat/chat/mail.h"
#include "ringchat/chat/message.h"

namespace ringchat::chat {

// Cluster mode (--redis, --redis-cluster): several nodes serve the same rooms, and a shared
// authority (Redis) orders them. A room's owner shard on each node follows
// the authority instead of sequencing: its publishes go to the authority,
// which assigns the room's next seq (under the room's epoch, which the
// authority keeps), appends the message to the room's history and
// broadcasts it to the nodes that watch the room; each node's owner shard
// then fans it out to its member shards as in single-node mode.
//
// This is the seam between RoomService (the ordering rules: gaps filled
// before later messages, resyncs after a reconnect, joins and resumes
// waiting until the room is in step) and the authority's protocol
// (chat/redis_cluster: commands, scripts, data layout). Tests drive
// RoomService with an in-memory authority.

// A message as the authority sequenced it: views into its answer, valid
// during the callback.
struct ClusterRecord {
  uint64_t epoch = 0;
  uint64_t seq = 0;
  uint64_t ts_ms = 0;
  Kind kind = Kind::kText;
  Sender from;  // a connection of `node`
  std::string_view user;
  std::span<const std::byte> payload;
  uint32_t node = 0;  // where it was published (this node too)
};

// Who published, for the answer to a publish.
struct Publisher {
  Sender from;
  uint32_t ack = 0;  // PublishMsg::ack
};

// Thread: the owner shard (each shard has its own).
class Cluster {
 public:
  // What the authority tells the shard's RoomService.
  class Events {
   public:
    virtual ~Events() = default;
    // Connected (again): nothing is watched; watch what should be.
    virtual void cluster_up() = 0;
    // Lost: watches are gone, and every publish, watch and fetch without
    // an answer has failed (refused() was called for each publish).
    virtual void cluster_down() = 0;
    // One room's watch was lost while the rest stay (Redis Cluster: its
    // slot moved to another server, which dropped its subscription):
    // nothing of it arrives until it is watched again; the room watches
    // again and resyncs, as after cluster_up().
    virtual void watch_lost(std::string_view room) = 0;
    virtual void published(const Publisher& p, uint64_t epoch, uint64_t seq) = 0;
    // The publish was not applied, or (maybe_applied) it is not known
    // whether it was: it went out and the connection went down before the
    // answer. The publisher is told which.
    virtual void refused(const Publisher& p, bool maybe_applied) = 0;
    // A message of a watched room, as broadcast: in the authority's order,
    // but a reconnect may lose some (a gap in seq).
    virtual void message(std::string_view room, const ClusterRecord& r) = 0;
    // The answer to watch(): the room's epoch and last seq now, and the
    // messages the watch asked for, oldest first. Every message broadcast
    // after this answer reaches message().
    virtual void synced(std::string_view room, uint64_t epoch, uint64_t seq,
                        std::span<const ClusterRecord> msgs) = 0;
    // The answer to fetch(), oldest first (what history still holds of the
    // range); ok false: the authority was unreachable.
    virtual void fetched(std::string_view room, uint64_t token, bool ok,
                         std::span<const ClusterRecord> msgs) = 0;
    // A member of a watched room joined (`here`) or left it on some node
    // (this one too), as broadcast; `count`: the room's members on every
    // node after it.
    virtual void presence_event(std::string_view room, const Present& who, bool here,
                                size_t count) = 0;
    // The answer to members(): the room's members on every live node; ok
    // false: the authority was unreachable.
    virtual void members_answer(std::string_view room, uint64_t token, bool ok,
                                std::span<const Present> present) = 0;
  };

  virtual ~Cluster() = default;
  virtual bool up() const = 0;
  // Sequences `m` (takes its body's reference): published() or refused()
  // follow, in any order with the message itself.
  virtual void publish(const PublishMsg& m) = 0;
  // Starts receiving the room's messages, then synced(): with the messages
  // after `after` when `epoch` is still the room's (a resync after a
  // reconnect), else the newest `limit` (0 and a new room: none).
  virtual void watch(std::string_view room, uint64_t epoch, uint64_t after, uint32_t limit) = 0;
  virtual void unwatch(std::string_view room) = 0;
  // The messages after `after` up to `upto`, through fetched(token).
  virtual void fetch(std::string_view room, uint64_t after, uint64_t upto, uint64_t token) = 0;
  // Presence: `who` (of this node) joined or left `room`; every node hears
  // it (presence_event) unless `quiet` (a re-announcement after a
  // reconnect). The entry lasts while this node's heartbeat does: a node
  // that dies takes its members out of every answer.
  virtual void member(std::string_view room, const Present& who, bool here, bool quiet) = 0;
  // Who is in `room` on every live node, through members_answer(token).
  virtual void members(std::string_view room, uint64_t token) = 0;
};

}  // namespace ringchat::chat
