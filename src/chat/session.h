#pragma once
// Private to the chat module: what a connection's protocol keeps, and the
// seam between the connection table and the protocols.
#include <sys/mman.h>

#include <cstdint>
#include <memory>
#include <new>
#include <span>
#include <variant>

#include "ringchat/chat/room_service.h"
#include "ringchat/core/check.h"
#include "ringchat/core/timer_wheel.h"
#include "ringchat/http/request_parser.h"
#include "ringchat/net/conn.h"
#include "ringchat/ws/frame_parser.h"

namespace ringchat::chat {

struct JsonState;  // json_socket.h
struct JsonStateDelete {
  void operator()(JsonState* p) const;
};

// Which protocol holds a connection (net::Conn::protocol).
enum class ProtocolId : uint8_t {
  kHttp,     // requests, keep-alive, pipelining; may upgrade
  kRawRoom,  // GET /ws/{room}: a WebSocket whose messages are the room's
  kJson,     // GET /ws: a WebSocket speaking the JSON protocol
  kSse,      // GET /sse/{room}: an event stream of the room's messages
  kCount,
};

// An HTTP connection's request parser, and when it was accepted.
struct HttpState {
  explicit HttpState(const http::Limits& limits)
      : parser(limits), opened_ns(core::monotonic_ns()) {}
  http::RequestParser parser;
  uint64_t opened_ns;  // for ringchat_handshake_seconds
};

// A connection's protocol state, in a table parallel to the connection
// table (same slot). An idle WebSocket holds no heap memory: the parser's
// buffer exists only while a message is partial.
// Thread: owner shard only.
struct Session {
  std::variant<std::monostate, std::unique_ptr<HttpState>, ws::FrameParser> parser;
  std::unique_ptr<JsonState, JsonStateDelete> json;  // a JSON socket's rooms and requests
  LocalRoom* room = nullptr;  // a raw room socket's one room (RoomService::Membership)
  uint32_t member_index = 0;
  // Bytes of its publishes on their way to the room's owner and back: they
  // will be queued here (as echoes) or were sequenced. Below 2^32: input
  // pauses past half of --send-backlog (<= 4 GiB).
  uint32_t publishing = 0;
  uint64_t pub_tat_us = 0;  // its --pub-rate bucket (auth::Rate)

  http::RequestParser& http() { return std::get<std::unique_ptr<HttpState>>(parser)->parser; }
  const http::RequestParser& http() const {
    return std::get<std::unique_ptr<HttpState>>(parser)->parser;
  }
  bool has_http() const { return std::holds_alternative<std::unique_ptr<HttpState>>(parser); }
  // When the connection was accepted, while it speaks HTTP; else 0.
  uint64_t http_opened_ns() const {
    const auto* h = std::get_if<std::unique_ptr<HttpState>>(&parser);
    return h ? (*h)->opened_ns : 0;
  }
  ws::FrameParser& ws() { return std::get<ws::FrameParser>(parser); }
  RoomService::Membership membership() const { return {room, member_index}; }
};
static_assert(sizeof(Session) <= 96, "every connection slot holds one");

// What holds a connection: HTTP until an upgrade, then a WebSocket
// protocol (the raw room socket now; JSON sockets and SSE streams next).
// The Front routes the connection table's calls to it by Conn::protocol.
// Thread: owner shard only.
class Protocol {
 public:
  virtual ~Protocol() = default;
  // The connection was accepted (HTTP only: the others start by upgrade).
  virtual void on_open(net::Conn& c, Session& s) = 0;
  // Plaintext input; returns what it cannot take now (its input is blocked).
  virtual std::span<std::byte> on_data(net::Conn& c, Session& s, std::span<std::byte> data) = 0;
  virtual void on_timer(net::Conn& c, Session& s) = 0;
  virtual bool input_blocked(const net::Conn& c, const Session& s) const = 0;
  virtual bool blocked_elsewhere(const net::Conn& c, const Session& s) const = 0;
  // Last words before a requested close (net::ConnHandler::on_close_requested).
  virtual void on_close_requested(net::Conn& c, Session& s, net::CloseWhy why) = 0;
  // The connection leaves kOpen: drop what the protocol holds.
  virtual void on_closed(net::Conn& c, Session& s) = 0;
};

// Sessions by slot: mapped like the connection table, so a slot's pages are
// touched only once used. Thread: owner shard only.
class SessionTable {
 public:
  explicit SessionTable(uint32_t max) : max_(max) {
    bytes_ = sizeof(Session) * max;
    void* mem = mmap(nullptr, bytes_, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    RC_CHECK(mem != MAP_FAILED);
    sessions_ = static_cast<Session*>(mem);
  }
  ~SessionTable() {
    for (uint32_t i = 0; i < constructed_; ++i) sessions_[i].~Session();
    munmap(sessions_, bytes_);
  }
  SessionTable(const SessionTable&) = delete;
  SessionTable& operator=(const SessionTable&) = delete;

  // A fresh session for a newly opened slot.
  Session& reset(uint32_t slot) {
    RC_CHECK(slot < max_);
    while (constructed_ <= slot) new (&sessions_[constructed_++]) Session();
    sessions_[slot].~Session();
    return *new (&sessions_[slot]) Session();
  }
  Session& operator[](uint32_t slot) { return sessions_[slot]; }
  const Session& operator[](uint32_t slot) const { return sessions_[slot]; }

 private:
  uint32_t max_;
  size_t bytes_ = 0;
  uint32_t constructed_ = 0;
  Session* sessions_ = nullptr;
};

}  // namespace ringchat::chat
