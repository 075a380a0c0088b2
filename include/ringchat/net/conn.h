#pragma once
#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <memory>
#include <string>

#include "ringchat/core/timer_wheel.h"
#include "ringchat/net/send_queue.h"

namespace ringchat::net {

// Where a connection stands. The legal transitions, and who makes them:
//
//   kFree -------- accept ---------------------------------> kOpen
//   kOpen -------- ConnTable::close() (lingering close) ----> kClosing
//   kOpen, kClosing -- ConnTable::abort(), the peer's FIN
//                      or reset, a send error, the close
//                      timeout ----------------------------> kFinalizing
//   kFinalizing -- its last in-flight op completes --------> kFree
//
// kOpen: a protocol (ConnHandler) reads and writes it. kClosing: what is
// queued goes out, then FIN (shutdown SHUT_WR); input is read and dropped
// until the peer's FIN, so unread input cannot turn our last bytes into a
// reset. kFinalizing: every in-flight op is cancelled; when none is left the
// descriptor is closed and the slot's generation moves on, so completions
// still in the ring for the old connection are recognised and dropped.
enum class ConnState : uint8_t { kFree, kOpen, kClosing, kFinalizing };

// Why a close was requested (ConnTable::request_close) while a fan-out or a
// request was under way; it takes effect at the next settle(), when no loop
// walks a member list.
enum class CloseWhy : uint8_t { kNone, kSlowConsumer, kShed, kInputOverflow };

// A peer's address, captured at accept (direct descriptors have no
// getpeername). IPv4 is kept IPv4-mapped (::ffff:a.b.c.d).
struct PeerAddr {
  uint16_t port = 0;  // host order
  std::array<uint8_t, 16> ip{};

  static PeerAddr from(const sockaddr_storage& ss);
  bool is_v4() const;
  // "192.0.2.1:5000" or "[2001:db8::1]:5000".
  std::string to_string() const;
};

// One connection: a slot of its shard's ConnTable, whose index is also its
// direct descriptor. Reused slots get a new generation. An idle connection
// holds no heap memory: the send queue exists only while bytes wait, and
// the protocol's own state lives in its own table, indexed by slot.
// Thread: owner shard only.
struct Conn : core::TimerNode {
  uint32_t gen = 0;
  // When the peer last showed it is alive (monotonic ms, wrapping: compare
  // differences only): it sent bytes, or it read ours (a send took bytes
  // while more were waiting, so the socket had been full).
  uint32_t last_seen_ms = 0;
  ConnState state = ConnState::kFree;
  CloseWhy close_why = CloseWhy::kNone;  // a close is requested (see settle())
  uint8_t pending = 0;                   // in-flight ops: recv, send, shutdown
  uint8_t protocol = 0;                  // the ConnHandler's: which protocol holds it
  uint8_t transport : 7 = 0;             // index into the table's transports
  bool over_half : 1 = false;            // unsent bytes over half of max_backlog (counted)
  bool recv_armed : 1 = false;           // a multishot recv is live
  bool recv_cancelled : 1 = false;       // a cancel of the live recv is on its way
  bool in_dirty : 1 = false;             // listed for the end-of-turn flush
  bool shutdown_sent : 1 = false;
  bool paused : 1 = false;       // input waits in the table's stash, unread
  bool output_held : 1 = false;  // queued bytes wait (e.g. a 101 until the room is joined)
  bool admitted : 1 = false;     // the handler counted it against its connection limits
  bool sending : 1 = false;      // a send is in flight
  PeerAddr peer;
  std::unique_ptr<SendQueue> sendq;

  // Its bytes pass through unchanged (transport 0; TLS is another).
  bool plain() const { return transport == 0; }
  // The connection is kOpen and no close has been requested.
  bool usable() const { return state == ConnState::kOpen && close_why == CloseWhy::kNone; }
};
static_assert(sizeof(Conn) <= 64, "every connection slot holds one");

}  // namespace ringchat::net
