#pragma once
// Private to the chat module: Server-Sent Events, GET /sse/{room}.
#include <string>

#include "members.h"

namespace ringchat::chat {

// An event stream that is a member of one room (WHATWG HTML §9.2). The
// response head goes out at once; then `retry:`, a `joined` event (with the
// room's position as its id, so a reconnect resumes even before the first
// message), what a resume missed, and every message of the room as an event
// the owner built once (wire.h, Format::kSse). A comment every
// --sse-heartbeat keeps proxies and the client's timeout at bay. The client
// sends nothing after its request: what it sends is read and dropped.
// Thread: owner shard only.
class SseStream final : public Protocol, public RoomMember {
 public:
  explicit SseStream(ShardContext& ctx) : ctx_(ctx) {}

  // Takes over `c` for `room`, resuming after `since` when it is set (from
  // Last-Event-ID or ?lastEventId=). Returns the bytes of the stream's head
  // (the access log's).
  size_t start(net::Conn& c, Session& s, const std::string& room, std::optional<Position> since);
  // The server is draining: `retry: <retry_ms>`, an `event: draining` with
  // `data: {"retry_ms":<retry_ms>}`, then the stream ends (EventSource
  // reconnects after `retry`, and resumes).
  void goodbye(net::Conn& c, uint64_t retry_ms);

  void on_open(net::Conn&, Session&) override {}
  std::span<std::byte> on_data(net::Conn& c, Session& s, std::span<std::byte> data) override;
  void on_timer(net::Conn& c, Session& s) override;
  bool input_blocked(const net::Conn&, const Session&) const override { return false; }
  bool blocked_elsewhere(const net::Conn&, const Session&) const override { return false; }
  void on_close_requested(net::Conn&, Session&, net::CloseWhy) override {}
  void on_closed(net::Conn& c, Session& s) override;

  // RoomMember
  Format format() const override { return Format::kSse; }
  void moved(net::Conn& c, Session& s, const LocalRoom* room, uint32_t index) override;
  void history(net::Conn& c, Session& s, const HistoryBatch& batch) override;

 private:
  void send(net::Conn& c, std::string_view bytes);

  ShardContext& ctx_;
};

}  // namespace ringchat::chat
