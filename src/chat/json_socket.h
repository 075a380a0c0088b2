#pragma once
// Private to the chat module: the JSON socket, GET /ws (docs/PROTOCOL.md).
#include <string>
#include <string_view>
#include <vector>

#include "json_op.h"
#include "members.h"
#include "websocket.h"

namespace ringchat::chat {

// What a JSON socket keeps (Session::json), on the heap: its rooms, and the
// requests whose answers come from other shards.
struct JsonState {
  struct Room {
    LocalRoom* room = nullptr;  // null only while RoomService::join() runs
    uint32_t index = 0;         // RoomService::Membership::index
    std::string id;             // the join's id, until its `joined`
  };
  std::vector<Room> rooms;
  // A `pub` waiting for its ack (its bytes count in Session::publishing
  // until then), or a `history` or `presence` waiting for the owner's
  // answer. Answers come by token: rooms of different owners answer in any
  // order.
  struct Waiting {
    uint32_t token;
    uint32_t bytes = 0;  // a pub's
    std::string id;
    std::string room;  // a history's or presence's
  };
  std::vector<Waiting> waiting;  // (a deque would allocate 600 B up front)
};

// A WebSocket speaking the JSON protocol: one JSON object per text message
// each way; any number of rooms (up to --max-rooms-per-conn), joined and
// left by op; every message of its rooms as a `msg` envelope the owner
// built once. A bad op gets an `error` with a stable code and costs the
// connection nothing else.
// Thread: owner shard only.
class JsonSocket final : public WebSocket, public RoomMember {
 public:
  explicit JsonSocket(ShardContext& ctx) : WebSocket(ctx, ProtocolId::kJson) {}

  // Takes over `c` after its 101 was queued.
  void start(net::Conn& c, Session& s);
  bool input_blocked(const net::Conn& c, const Session& s) const override;
  bool blocked_elsewhere(const net::Conn& c, const Session& s) const override;
  void on_closed(net::Conn& c, Session& s) override;

  // RoomMember
  Format format() const override { return Format::kJsonWs; }
  void moved(net::Conn& c, Session& s, const LocalRoom* room, uint32_t index) override;
  void history(net::Conn& c, Session& s, const HistoryBatch& batch) override;

  // RoomService::Host::acked() and answered() for a JSON socket.
  void acked(net::Conn& c, Session& s, uint32_t token, uint64_t seq);
  void answered(net::Conn& c, Session& s, uint32_t token, const HistoryBatch& batch);
  // Cluster mode: its `pub` (token) was not sequenced: `error` `unavailable`.
  void refused(net::Conn& c, Session& s, uint32_t token, bool maybe_applied);

 private:
  void on_message(net::Conn& c, Session& s, ws::Opcode op,
                  std::span<const std::byte> payload) override;
  // A draining server's `{"type":"draining","retry_ms":N}`, before its close frame.
  void farewell(net::Conn& c, uint64_t retry_ms) override;
  void join(net::Conn& c, Session& s, const ClientOp& op);
  void leave(net::Conn& c, Session& s, const ClientOp& op);
  void pub(net::Conn& c, Session& s, const ClientOp& op);
  void read_history(net::Conn& c, Session& s, const ClientOp& op);
  void presence(net::Conn& c, Session& s, const ClientOp& op);
  // A new token for the socket (the same user's, or a first one for an
  // anonymous socket): its claims apply from the next op, its exp to the
  // connection.
  void refresh(net::Conn& c, Session& s, const ClientOp& o);
  // The waiting request with `token`, or the end.
  static std::vector<JsonState::Waiting>::iterator waiting(Session& s, uint32_t token);
  // `json` (one object) as a text frame.
  void reply(net::Conn& c, std::string_view json);
  void error(net::Conn& c, std::string_view code, std::string_view reason, std::string_view id);
  JsonState::Room* find(Session& s, std::string_view room);
  // A room's owner has not taken the publishes already posted to it.
  bool mail_backed_up() const;

  OpParser parser_;
};

}  // namespace ringchat::chat
