#pragma once
#include <liburing.h>
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "ringchat/core/event_loop.h"
#include "ringchat/core/op.h"
#include "ringchat/redis/reply.h"
#include "ringchat/redis/url.h"

namespace ringchat::redis {

class Link;

// The Op::kRedis completions of one shard's loop, routed to its Links by the
// link id in the tag (core/op.h: link id, connection generation, sub-op).
// A shard makes one Dispatcher and any number of Links on it (commands and
// subscriber), and calls tick() and flush() once per loop turn and
// next_due_ms() before sleeping.
// Thread: the loop's thread only. Outlives its Links; the loop keeps a
// pointer to it, so it lives until the loop's last run() has returned.
class Dispatcher final : public core::CompletionHandler {
 public:
  // Registers itself for Op::kRedis with `loop` (which outlives it).
  explicit Dispatcher(core::EventLoop& loop);
  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;

  core::EventLoop& loop() { return loop_; }
  // Link::tick / flush / next_due_ms for every link.
  void tick(uint64_t now_ms);
  void flush();
  std::optional<uint64_t> next_due_ms(uint64_t now_ms) const;
  // No link has an op in flight (so each may be destroyed).
  bool idle() const;
  // Completions of links that went away (a destroyed link's late CQEs).
  uint64_t orphans() const { return orphans_; }

  void on_completion(const io_uring_cqe* cqe, core::Tag tag) override;

 private:
  friend class Link;
  uint32_t add(Link* link);
  void remove(uint32_t id);

  core::EventLoop& loop_;
  std::vector<Link*> links_;  // by id; null once the link is destroyed
  uint64_t orphans_ = 0;
};

// One connection to one Redis server (TCP or unix socket) on its shard's
// io_uring: nothing blocks, no thread, no hiredis network I/O (hiredis only
// decodes replies).
//
// Life: start() connects; on connect it pipelines AUTH (when the endpoint
// has a password), SELECT (db != 0) and SCRIPT LOAD of every Options::script
// in one send, then, when all of them succeeded, calls Handler::on_up(). Any
// failure (refused, connect timeout, an error reply to the handshake such as
// a wrong password, EOF, a socket error, a protocol error, no reply within
// reply_timeout_ms) closes the socket and, after a backoff, connects again,
// forever, until stop(). A link that had been up calls Handler::on_down()
// once when it goes. Failures are logged (obs/log.h, `event=redis_link`,
// the endpoint redacted: never a password; in a streak of failed attempts
// the 1st, 2nd, 4th, 8th... at warn, the others at debug), and so is each
// time it comes up (info).
//
// Commands: command() REQUIRES up(); it queues the command, and flush()
// (once at the end of the shard's turn) hands everything queued to the
// kernel in one send. One send is in flight at a time: commands queued
// meanwhile go out in the next send, when it completes; a partial send is
// resumed. Replies reach Handler::on_reply in command order (a
// (P|S)SUBSCRIBE or (P|S)UNSUBSCRIBE command with N channels gets N
// replies, or one error when refused whole; without channels they are not
// allowed).
//
// Subscriber mode (Options::subscriber): besides the replies to its
// commands, every pushed ["message", channel, payload] (and "pmessage",
// "smessage") reaches on_reply as it arrives, and so does an
// ["sunsubscribe", channel, count] that no SUNSUBSCRIBE of the link's asked
// for (Redis 7 sends it when the channel's slot moves to another node). Such a link sends its own
// PING when it has heard nothing for half of reply_timeout_ms, so a dead
// server is noticed (its reply never reaches the handler).
//
// Timeouts: connect_timeout_ms from the connect to its completion;
// reply_timeout_ms while any reply is awaited and none arrives (each reply
// restarts it). Backoff after a failure: uniform in [backoff_min_ms,
// min(backoff_max_ms, backoff_min_ms * 2^failures)] ("full jitter" above a
// floor; the seed makes it reproducible), the count reset once up.
//
// I/O: a plain socket (socket(2), blocking mode: io_uring never blocks the
// submitter; TCP_NODELAY on TCP), IORING_OP_CONNECT, one single-shot
// IORING_OP_RECV at a time into the link's own buffer (not the shard's
// buffer ring), IORING_OP_SEND, and on failure an ASYNC_CANCEL of
// everything on the socket hard-linked to its CLOSE. A new socket gets a
// new connection generation: completions of the old one are dropped. The
// next connect waits until the old socket's ops have all completed (they
// use the link's buffers).
//
// A host name that is not an IP address is resolved with getaddrinfo once,
// in start() (which may then block: call it at shard startup, or give an
// address).
//
// Thread: the loop's thread only. Callbacks run on it, from
// Dispatcher::on_completion or tick(); a callback may call command(),
// flush() and stop(), but must not destroy the link. Destroying a link
// REQUIRES idle(): after stop(), run the loop until idle() (or destroy the
// ring first).
class Link {
 public:
  class Handler {
   public:
    virtual ~Handler() = default;
    // Connected, AUTH'd, SELECTed and scripts loaded: command() may be called.
    virtual void on_up() = 0;
    // The next reply, in command order; in subscriber mode also every
    // pushed message. `r` is valid during the call only.
    virtual void on_reply(const Reply& r) = 0;
    // The link went down: the `failed` commands sent or queued without their
    // (last) reply failed; none of them gets a reply later. Not called by
    // stop(), nor for failures before on_up().
    virtual void on_down(size_t failed) = 0;
  };

  struct Options {
    std::vector<std::string> scripts;  // SCRIPT LOAD on every (re)connect, before on_up
    uint32_t connect_timeout_ms = 2000;
    uint32_t reply_timeout_ms = 5000;  // a reply awaited that long: down
    uint32_t backoff_min_ms = 100;
    uint32_t backoff_max_ms = 5000;
    bool subscriber = false;       // see the class comment
    size_t recv_bytes = 64 << 10;  // the receive buffer
  };

  struct Stats {
    uint64_t connects = 0;         // connect attempts (sockets made)
    uint64_t ups = 0;              // times on_up was called
    uint64_t failures = 0;         // attempts or connections that failed
    uint64_t stale = 0;            // completions of an earlier socket, dropped
    uint64_t replies = 0;          // replies and pushes handed to on_reply
    uint64_t partial_sends = 0;    // sends the kernel took only part of (resumed)
    uint64_t last_attempt_ms = 0;  // when the last connect was started
  };

  // `id` is assigned by `d`; `h` outlives the link.
  Link(Dispatcher& d, Endpoint ep, Handler& h, Options o, uint64_t seed);
  Link(const Link&) = delete;
  Link& operator=(const Link&) = delete;
  ~Link();

  // Connects (and reconnects forever, with backoff, until stop()).
  // No-op unless the link is new or stopped. Right after stop(), the
  // connect waits (in tick()) until the old socket's ops are done.
  void start();
  // Closes the socket; commands in flight are dropped without callbacks;
  // no more callbacks (until start()).
  void stop();
  bool up() const { return state_ == State::kUp; }
  // No op of this link is in flight in the kernel.
  bool idle() const { return ops_ == 0; }
  uint32_t id() const { return id_; }
  // The SHA1 of Options::scripts[i]. REQUIRES: on_up has been called.
  const std::string& sha(size_t script) const { return shas_.at(script); }

  // REQUIRES: up(), argv not empty. Queued; sent by the next flush().
  void command(std::span<const std::string_view> argv);
  void command(std::initializer_list<std::string_view> argv) {
    command(std::span<const std::string_view>(argv.begin(), argv.size()));
  }
  // Sends everything queued, in one send (or after the send in flight).
  void flush();
  // Timeouts and reconnects: the loop calls it every turn.
  void tick(uint64_t now_ms);
  // Milliseconds from `now_ms` until tick() has something to do (0: now),
  // nullopt: nothing due (a completion will come first).
  std::optional<uint64_t> next_due_ms(uint64_t now_ms) const;
  // Commands without their reply yet (sent or queued).
  size_t in_flight() const { return user_in_flight_; }
  const Stats& stats() const { return stats_; }
  // The endpoint as logs show it (password masked).
  const std::string& name() const { return name_; }

 private:
  friend class Dispatcher;
  enum class State : uint8_t { kIdle, kBackoff, kConnecting, kHandshake, kUp, kStopped };
  // What a reply awaited is for: a user command, or the link's own.
  enum class Kind : uint8_t { kUser, kAuth, kSelect, kScript, kPing };
  struct Expect {
    uint32_t replies;  // replies still to come for this command
    Kind kind;
    uint32_t script;  // Kind::kScript: its index
  };

  void on_completion(const io_uring_cqe* cqe, core::RedisTag tag);
  void on_connect(int res);
  void on_recv(int res);
  void on_send(int res);
  bool handle_reply(const Reply& r);  // false: the link failed or stopped
  bool handle_own_reply(const Expect& e, const Reply& r);
  bool is_push(const Reply& r) const;
  bool resolve();
  void connect_now(uint64_t now_ms);
  void send_handshake();
  void become_up();
  void queue(std::span<const std::string_view> argv, Kind kind, uint32_t script = 0);
  void arm_recv();
  void submit_send();
  void fail(std::string_view reason, std::string_view detail = {});
  void close_socket();
  uint64_t backoff_ms();
  uint64_t now_ms() const;

  Dispatcher& dispatcher_;
  io_uring_sqe* sqe();
  Endpoint ep_;
  Handler& handler_;
  Options opts_;
  std::string name_;
  uint32_t id_;
  uint64_t rng_;

  State state_ = State::kIdle;
  int fd_ = -1;
  uint32_t conn_gen_ = 0;
  uint32_t ops_ = 0;  // connect, recv and send SQEs without their CQE (any generation)
  bool recv_armed_ = false;
  bool sending_now_ = false;
  sockaddr_storage addr_{};
  socklen_t addr_len_ = 0;
  bool resolved_ = false;

  std::vector<char> rbuf_;
  std::string out_;      // queued, not yet handed to a send
  std::string sending_;  // the send in flight reads this
  size_t sent_ = 0;      // bytes of sending_ already sent
  Decoder decoder_;
  std::deque<Expect> expect_;
  // Channels of SUNSUBSCRIBE commands whose reply has not come yet.
  struct TextHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_multiset<std::string, TextHash, std::equal_to<>> sunsubscribing_;
  size_t user_in_flight_ = 0;
  size_t handshake_left_ = 0;
  std::vector<std::string> shas_;

  uint64_t deadline_ms_ = 0;    // kConnecting: the connect's
  uint64_t waiting_since_ = 0;  // a reply is awaited since (or the last reply)
  uint64_t last_rx_ms_ = 0;
  uint64_t retry_at_ms_ = 0;
  uint32_t failures_ = 0;  // since the last on_up
  Stats stats_;
};

}  // namespace ringchat::redis
