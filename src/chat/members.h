#pragma once
// Private to the chat module: room members as the room service sees them
// (connection slots), and the protocols they belong to.
#include <array>
#include <span>

#include "front.h"
#include "ringchat/chat/message.h"

namespace ringchat::chat {

// A protocol whose connections are room members. Thread: owner shard only.
class RoomMember {
 public:
  virtual ~RoomMember() = default;
  // The wire format its connections read messages in.
  virtual Format format() const = 0;
  // The owner counted this shard: `c`, waiting for that, may be told it joined.
  virtual void confirmed(net::Conn&, Session&) {}
  // A leave or an admission moved `c`'s entry in `room` to `index`.
  virtual void moved(net::Conn& c, Session& s, const LocalRoom* room, uint32_t index) = 0;
  // RoomService::Host::history for `c`.
  virtual void history(net::Conn& c, Session& s, const HistoryBatch& batch) = 0;
  // A message `c` published came back from the owner to this shard.
  virtual void echoed(Session&, size_t /*payload_size*/) {}
};

// One reference to `m`'s bytes in format `f`: the owner's, or, when the
// owner did not build them (no member read that format when the message
// was sequenced), encoded here.
net::SharedBuf* wire_ref(const Sequenced& m, Format f);

// The room service's calls about members, handed to the protocol of each
// member's connection; the fan-out of a message to a shard's members.
// Thread: owner shard only.
class Members {
 public:
  explicit Members(ShardContext& ctx) : ctx_(ctx) {}
  void set(ProtocolId id, RoomMember& m) { of_[static_cast<size_t>(id)] = &m; }

  // RoomService::Host
  void deliver(std::span<const uint32_t> members, const Sequenced& msg);
  void confirmed(std::span<const uint32_t> members);
  void moved(uint32_t member, const LocalRoom* room, uint32_t index);
  void history(uint32_t member, const HistoryBatch& batch);

 private:
  RoomMember& of(const net::Conn& c) const { return *of_[c.protocol]; }
  // A presence event (Sequenced::is_event()).
  void deliver_event(std::span<const uint32_t> members, const Sequenced& event);
  // Whether `m` is from a connection of this shard: its shard, and this
  // node (cluster mode: the node its record names; 0: published here).
  bool here(const Sequenced& m) const {
    return m.from().shard == ctx_.id && (m.node() == 0 || m.node() == ctx_.cfg.node_id);
  }

  ShardContext& ctx_;
  std::array<RoomMember*, static_cast<size_t>(ProtocolId::kCount)> of_{};
};

}  // namespace ringchat::chat
