#pragma once
// Private to the chat module: the shard's loop, connections and rooms.
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "ringchat/chat/room_service.h"
#include "ringchat/chat/shard.h"
#include "ringchat/core/op.h"
#include "ringchat/core/reactor.h"
#include "ringchat/core/timer_wheel.h"
#include "ringchat/http/request_parser.h"
#include "ringchat/net/send_queue.h"
#include "ringchat/ws/frame_parser.h"

namespace ringchat::chat {

enum class ConnState : uint8_t { kFree, kHttp, kWs, kClosing };

// Unsent answer bytes past which an HTTP connection's pipelined requests
// wait unparsed (a WebSocket's input waits past half its --send-backlog).
inline constexpr size_t kHttpAnswerBudget = 64 << 10;
// Publishes waiting for a full ring to the room's owner past which the
// publishing connections are not read until the owner catches up: with the
// ring itself, this bounds the mail a shard holds.
inline constexpr size_t kMailHighWater = 4096;
// Input a paused connection may hold: what reached the recv before its
// cancel took effect. More closes it.
inline constexpr size_t kMaxStash = 4 << 20;

// Why a close was requested while a fan-out or a request was under way; it
// takes effect at the next settle(), when no loop walks a room.
enum class CloseWhy : uint8_t { kNone, kSlowConsumer, kShed, kInputOverflow };

// Input a paused connection has received but not parsed yet: it waits until
// the connection's answers have drained (backpressure instead of buffering
// answers without bound). Kept in a per-shard map, only while paused, so
// that a connection slot does not grow for a rare state.
struct InputStash {
  std::string bytes;
  uint64_t progress_ms = 0;  // paused then, or took bytes then while paused
};

// One client connection: a slot of the shard's table whose index is also its
// direct descriptor. Reused slots get a new generation. An idle WebSocket
// holds no heap memory: the parsers and the send queue exist only while used.
// Thread: owner shard only.
struct Conn : core::TimerNode {
  uint32_t gen = 0;
  ConnState state = ConnState::kFree;
  bool recv_armed = false;  // a multishot recv is live
  bool in_dirty = false;    // listed for the end-of-turn send flush
  bool close_after_flush = false;
  bool shutdown_sent = false;
  bool finalizing = false;               // waiting for in-flight ops before freeing the slot
  bool awaiting_join = false;            // 101 queued, held until the owner counts our shard
  bool recv_cancelled = false;           // a cancel of the live multishot recv is on its way
  bool paused = false;                   // input waits in stashes_, unread
  CloseWhy close_why = CloseWhy::kNone;  // a close is requested (see settle())
  uint8_t pending = 0;                   // in-flight ops: recv, send, shutdown
  // When the peer last showed it is alive: it sent bytes, or it read ours (a
  // send took bytes while more were waiting, so the socket had been full).
  uint64_t last_seen_ms = 0;
  RoomService::Membership membership;  // the one room of a raw room socket
  // Bytes of its publishes on their way to the room's owner and back: they
  // will be queued here (as echoes) or were sequenced (deliver() subtracts).
  // Below 2^32: input pauses past half of --send-backlog (<= 4 GiB).
  uint32_t publishing = 0;
  std::unique_ptr<http::RequestParser> http;
  std::unique_ptr<net::SendQueue> sendq;
  std::optional<ws::FrameParser> ws;
};

class ShardImpl final : public RoomService::Host {
 public:
  ShardImpl(unsigned id, Shared& shared);
  ~ShardImpl();
  Result<void, std::string> init();
  void run();

 private:
  // loop (shard.cc)
  int64_t next_timeout();
  int64_t trim_before_sleep(int64_t timeout);
  void reap();
  void dispatch(const io_uring_cqe* cqe);
  void arm_accept();
  void arm_recv(uint32_t slot);
  void on_accept(const io_uring_cqe* cqe);
  void on_recv(Conn& c, uint32_t slot, const io_uring_cqe* cqe);
  void on_send(Conn& c, const io_uring_cqe* cqe);
  void on_op_done(Conn& c);
  void on_timer(Conn& c);
  // Lists the connection for the end-of-turn flush (once per turn).
  void mark_dirty(Conn& c) {
    if (c.in_dirty) return;
    c.in_dirty = true;
    dirty_.push_back(slot_of(c));
  }
  void flush_sends();
  void flush_conn(Conn& c, uint32_t slot);
  void ring_doorbell(unsigned to);
  void begin_drain();
  bool finished() const;
  Conn& conn(uint32_t slot) { return conns_[slot]; }
  uint32_t slot_of(const Conn& c) const { return static_cast<uint32_t>(&c - conns_); }

  // connections (connection.cc)
  void on_data(Conn& c, std::span<std::byte> data);
  void consume(Conn& c, std::span<std::byte> data);
  std::span<std::byte> on_http(Conn& c, std::span<std::byte> data);
  void handle_request(Conn& c, const http::Request& req);
  void upgrade(Conn& c, const http::Request& req, std::string_view room);
  std::span<std::byte> on_ws(Conn& c, std::span<std::byte> data);
  void on_ws_error(Conn& c, ws::CloseCode code);
  void send_bytes(Conn& c, std::string_view bytes);
  // Control frames (ping, pong, close) count against the backlog but never
  // make a slow consumer: a ping behind one big message must not close a
  // reader that keeps up. They stay bounded: pongs answer input, which
  // pauses past half the backlog; pings come once an interval.
  void send_control(Conn& c, ws::Opcode op, std::span<const std::byte> payload);
  void send_close(Conn& c, uint16_t code, std::string_view reason);
  void begin_close(Conn& c);
  void finalize(Conn& c);
  void release_slot(Conn& c);

  // output budget and input backpressure (output.cc)
  enum class Charge : uint8_t { kData, kControl };
  // Queues `lf` (one count of it) on `c`. Every byte a connection is sent
  // goes through here and counts against its backlog; a data frame queued
  // behind more than --send-backlog requests a slow-consumer close.
  void queue(Conn& c, net::LocalBuf* lb, Charge charge = Charge::kData);
  // Marks `c` to be closed at the next settle() and drops its unsent frames.
  // Safe anywhere, in particular inside a fan-out.
  void request_close(Conn& c, CloseWhy why);
  // Runs requested closes and, over --shard-backlog, sheds the biggest
  // consumers. Called between events only: never under a loop over members.
  void settle() {
    if (!closing_.empty() || budget_.held_bytes > cfg_.max_shard_backlog) settle_slow();
  }
  void settle_slow();
  void shed();
  // More of `c`'s answers are unsent (or, for its own publishes, on their
  // way back) than its input may run ahead of.
  bool output_backed_up(const Conn& c) const;
  // Its room's owner has not taken the publishes already posted to it.
  bool mail_backed_up(const Conn& c) const {
    return c.membership.room && outbox_.pending(c.membership.room->owner) > kMailHighWater;
  }
  bool input_blocked(const Conn& c) const { return output_backed_up(c) || mail_backed_up(c); }
  void pause_input(Conn& c, std::span<const std::byte> rest);
  void resume_input(Conn& c);
  // Drops paused input (the connection is closing or gone).
  void drop_stash(Conn& c) {
    if (!c.paused) return;
    stashes_.erase(slot_of(c));
    c.paused = false;
  }
  // Resumes paused connections that no send completion will wake: those
  // waiting for the owner to take their mail or send their publishes back.
  void resume_paused();
  net::LocalBuf* local(net::SharedBuf* b, uint32_t count) {
    return net::LocalBuf::create(b, count, &budget_);
  }

  // rooms and mail (rooms_io.cc)
  void join_room(Conn& c, std::string_view room);
  void leave_room(Conn& c);
  void publish(Conn& c, ws::Opcode op, std::span<const std::byte> payload);
  void drain_mail();
  // RoomService::Host
  void post(unsigned shard, const MailMsg& m) override { outbox_.post(shard, m); }
  void deliver(std::span<const uint32_t> members, const Sequenced& msg) override;
  void confirmed(std::span<const uint32_t> members) override;
  void moved(uint32_t member, const LocalRoom* room, uint32_t index) override;

  unsigned id_;
  Shared& shared_;
  const ShardConfig& cfg_;
  obs::ShardMetrics& metrics_;
  core::Reactor reactor_;
  Outbox outbox_;
  std::optional<core::TimerWheel> timers_;
  int listen_fd_ = -1;
  bool accept_armed_ = false;
  bool draining_ = false;
  uint64_t drain_deadline_ms_ = 0;
  uint64_t now_ms_ = 0;
  Conn* conns_ = nullptr;  // mmap'd table; slots constructed on first use
  size_t conns_bytes_ = 0;
  uint32_t max_conns_ = 0;
  uint32_t constructed_ = 0;
  uint32_t open_ = 0;
  std::vector<uint32_t> dirty_;
  std::vector<uint32_t>
      rearm_;  // multishot recvs that ended (no F_MORE, -ENOBUFS): re-arm this turn
  std::vector<uint32_t> closing_;  // closes requested since the last settle()
  struct SlotRef {
    uint32_t slot;
    uint32_t gen;
  };
  std::vector<SlotRef> owner_paused_;  // paused on mail or publishes: resume_paused()
  std::unordered_map<uint32_t, InputStash> stashes_;  // by slot, while paused
  net::SendBudget budget_;                            // bytes this shard's send queues hold
  uint64_t last_trim_ms_ = 0;
  uint64_t last_shed_ms_ = 0;
  bool freed_since_trim_ = false;  // worth giving memory back when idle
  RoomService rooms_;
};

}  // namespace ringchat::chat
