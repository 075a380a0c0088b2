#pragma once
// Private to the chat module: what every WebSocket protocol shares.
#include <span>
#include <string_view>

#include "front.h"
#include "ringchat/ws/close_code.h"
#include "ringchat/ws/frame_parser.h"

namespace ringchat::chat {

// A WebSocket after its 101: frames in (messages go to on_message()),
// pings answered, a ping every --ping-interval and a peer silent for two
// intervals closed (1001), a consumer that takes nothing for an interval
// while over half its backlog closed (1008), the close handshake, and the
// 1002/1007/1009 closes of malformed input. The protocols on top (raw room
// sockets, JSON sockets) say what a message means.
// Thread: owner shard only.
class WebSocket : public Protocol {
 public:
  void on_open(net::Conn&, Session&) override {}
  std::span<std::byte> on_data(net::Conn& c, Session& s, std::span<std::byte> data) override;
  void on_timer(net::Conn& c, Session& s) override;
  void on_close_requested(net::Conn& c, Session& s, net::CloseWhy why) override;

  // The server is draining: the protocol's last words (farewell()), a
  // close frame 1001 `draining; retry_ms=<N>`, then the close. A socket
  // still waiting for its 101 is aborted.
  void goodbye(net::Conn& c, uint64_t retry_ms);

 protected:
  explicit WebSocket(ShardContext& ctx, ProtocolId id) : ctx_(ctx), id_(id) {}

  // Takes over `c`, whose 101 is queued or waits (before_101()).
  void take_over(net::Conn& c, Session& s);
  // A whole text or binary message from the client.
  virtual void on_message(net::Conn& c, Session& s, ws::Opcode op,
                          std::span<const std::byte> payload) = 0;
  // Its 101 is not sent yet: no ping, no close frame (goodbye aborts).
  virtual bool before_101(const net::Conn&) const { return false; }
  // What the protocol says just before a draining server's close frame.
  virtual void farewell(net::Conn&, uint64_t /*retry_ms*/) {}
  // What the WebSocket holds goes (from on_closed()).
  void closed(Session& s);

  // Data (an answer, a delivery): counts against the backlog like any.
  void send(net::Conn& c, net::SharedBuf* frame);
  // Control frames (ping, pong, close) count against the backlog but never
  // make a slow consumer: a ping behind one big message must not close a
  // reader that keeps up. They stay bounded: pongs answer input, which
  // pauses past half the backlog; pings come once an interval.
  void send_control(net::Conn& c, ws::Opcode op, std::span<const std::byte> payload);
  void send_close(net::Conn& c, uint16_t code, std::string_view reason);
  void on_error(net::Conn& c, ws::CloseCode code);

  ShardContext& ctx_;

 private:
  ProtocolId id_;
};

}  // namespace ringchat::chat
