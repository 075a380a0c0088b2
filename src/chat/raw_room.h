#pragma once
// Private to the chat module: the raw room socket, GET /ws/{room}.
#include <string>
#include <unordered_map>

#include "members.h"
#include "ringchat/chat/message.h"
#include "websocket.h"

namespace ringchat::chat {

// A WebSocket that is a member of one room: every message it sends is
// published to the room as it is (text or binary); every message of the
// room reaches it as a plain frame. Its 101 is held until the room's owner
// counts this shard, so a client that has its 101 misses nothing after it.
// Thread: owner shard only.
class RawRoom final : public WebSocket, public RoomMember {
 public:
  explicit RawRoom(ShardContext& ctx) : WebSocket(ctx, ProtocolId::kRawRoom) {}

  // Takes over `c` after its 101 was queued: joins `room`.
  void start(net::Conn& c, Session& s, const std::string& room);
  // Takes over `c`, resuming after `since`: its 101 (with `headers`, plus
  // where the room stands and whether history reached back) goes out with
  // the history answer, before what the client missed; `note` is for the
  // access log when it goes.
  void resume(net::Conn& c, Session& s, const std::string& room, Position since,
              std::string headers, AccessNote note);
  bool input_blocked(const net::Conn& c, const Session& s) const override;
  bool blocked_elsewhere(const net::Conn& c, const Session& s) const override;
  void on_closed(net::Conn& c, Session& s) override;

  // RoomMember
  Format format() const override { return Format::kRawWs; }
  void confirmed(net::Conn& c, Session& s) override;
  void moved(net::Conn& c, Session& s, const LocalRoom* room, uint32_t index) override;
  void history(net::Conn& c, Session& s, const HistoryBatch& batch) override;
  // Its publishes' bytes are credited back when they come back.
  void echoed(Session& s, size_t payload_size) override;
  // Cluster mode: a publish of `c` was not sequenced (Redis is
  // unreachable). A raw socket has no error message: it is closed with 1013
  // (try again later), so that no message is lost silently.
  void refused(net::Conn& c);

 private:
  void on_message(net::Conn& c, Session& s, ws::Opcode op,
                  std::span<const std::byte> payload) override;
  bool before_101(const net::Conn& c) const override {
    return pending_101_.contains(ctx_.conns.slot_of(c));
  }
  // Its room's owner has not taken the publishes already posted to it.
  bool mail_backed_up(const Session& s) const {
    return s.room && ctx_.outbox.pending(s.room->owner) > kMailHighWater;
  }

  // The 101 headers of resuming sockets waiting for their history answer,
  // by slot (rare: kept here, not in every slot).
  struct Pending101 {
    std::string headers;
    AccessNote note;
  };
  std::unordered_map<uint32_t, Pending101> pending_101_;
};

}  // namespace ringchat::chat
