#pragma once
// Private to the chat module: the raw room socket, GET /ws/{room}.
#include <string>
#include <unordered_map>

#include "front.h"
#include "ringchat/chat/message.h"
#include "ringchat/ws/close_code.h"

namespace ringchat::chat {

// A WebSocket that is a member of one room: every message it sends is
// published to the room as it is (same opcode); every message of the room
// reaches it as a plain frame. Pings keep it alive; a peer silent for two
// ping intervals is closed (1001). Its 101 is held until the room's owner
// counts this shard, so a client that has its 101 misses nothing after it.
// Thread: owner shard only.
class RawRoom final : public Protocol {
 public:
  explicit RawRoom(ShardContext& ctx) : ctx_(ctx) {}

  // Takes over `c` after its 101 was queued: joins `room`.
  void start(net::Conn& c, Session& s, const std::string& room);
  // Takes over `c`, resuming after `since`: its 101 (with `headers`, plus
  // where the room stands and whether history reached back) goes out with
  // the history answer, before what the client missed.
  void resume(net::Conn& c, Session& s, const std::string& room, Position since,
              std::string headers);
  void on_open(net::Conn&, Session&) override {}
  std::span<std::byte> on_data(net::Conn& c, Session& s, std::span<std::byte> data) override;
  void on_timer(net::Conn& c, Session& s) override;
  bool input_blocked(const net::Conn& c, const Session& s) const override;
  bool blocked_elsewhere(const net::Conn& c, const Session& s) const override;
  void on_close_requested(net::Conn& c, Session& s, net::CloseWhy why) override;
  void on_closed(net::Conn& c, Session& s) override;

  // RoomService::Host, through the shard.
  void deliver(std::span<const uint32_t> members, const Sequenced& msg);
  void confirmed(std::span<const uint32_t> members);
  void moved(uint32_t member, const LocalRoom* room, uint32_t index);
  void history(uint32_t member, const HistoryBatch& batch);

  // The server is draining: a close (1001) to every raw room socket.
  void goodbye(net::Conn& c, uint16_t code, std::string_view reason);

 private:
  void publish(net::Conn& c, Session& s, ws::Opcode op, std::span<const std::byte> payload);
  void on_error(net::Conn& c, ws::CloseCode code);
  // Control frames (ping, pong, close) count against the backlog but never
  // make a slow consumer: a ping behind one big message must not close a
  // reader that keeps up. They stay bounded: pongs answer input, which
  // pauses past half the backlog; pings come once an interval.
  void send_control(net::Conn& c, ws::Opcode op, std::span<const std::byte> payload);
  void send_close(net::Conn& c, uint16_t code, std::string_view reason);
  // Its room's owner has not taken the publishes already posted to it.
  bool mail_backed_up(const Session& s) const {
    return s.room && ctx_.outbox.pending(s.room->owner) > kMailHighWater;
  }

  void take_over(net::Conn& c, Session& s);

  ShardContext& ctx_;
  // The 101 headers of resuming sockets waiting for their history answer,
  // by slot (rare: kept here, not in every slot).
  std::unordered_map<uint32_t, std::string> pending_101_;
};

}  // namespace ringchat::chat
