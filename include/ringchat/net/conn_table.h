#pragma once
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "ringchat/core/event_loop.h"
#include "ringchat/core/result.h"
#include "ringchat/core/timer_wheel.h"
#include "ringchat/net/conn.h"
#include "ringchat/net/conn_io.h"
#include "ringchat/net/shared_buf.h"
#include "ringchat/net/transport.h"
#include "ringchat/obs/metrics.h"

namespace ringchat::net {

// The protocol side of a connection table: what runs a connection while it
// is kOpen. Thread: owner shard only.
class ConnHandler {
 public:
  virtual ~ConnHandler() = default;
  // A connection was accepted (kOpen, its peer known).
  virtual void on_open(Conn& c) = 0;
  // Plaintext from the peer. Returns what the protocol does not take now
  // because its input is blocked (see input_blocked()): the table keeps it
  // and stops reading the socket until the block lifts.
  virtual std::span<std::byte> on_data(Conn& c, std::span<std::byte> data) = 0;
  // The connection's timer fired while it is kOpen.
  virtual void on_timer(Conn& c) = 0;
  // The connection's input must wait (its answers are unsent, ...).
  virtual bool input_blocked(const Conn& c) const = 0;
  // The block is one no send completion of `c` will lift (the table checks
  // it every turn while it holds).
  virtual bool blocked_elsewhere(const Conn& c) const = 0;
  // A requested close takes effect: the protocol's last words (a WebSocket
  // close frame) before the table closes the connection.
  virtual void on_close_requested(Conn& c, CloseWhy why) = 0;
  // The connection leaves kOpen (a close or an abort): drop its protocol
  // state. Called once per connection.
  virtual void on_closed(Conn& c) = 0;
};

struct ConnTableConfig {
  uint32_t max_conns = 16384;  // the direct-descriptor table's size
  // A connection whose unsent bytes, not counting the buffer being queued,
  // exceed max_backlog is a slow consumer; a shard whose connections hold
  // more than max_shard_backlog sheds its biggest consumers.
  size_t max_backlog = 8 << 20;
  size_t max_shard_backlog = 256 << 20;
  uint32_t close_timeout_ms = 2000;  // lingering close: wait this long for the peer's FIN
};

// Input a paused connection may hold: what reached the recv before its
// cancel took effect. More closes it.
inline constexpr size_t kMaxStash = 4 << 20;

// One shard's connections: slots (index = direct descriptor) with
// generations, their in-flight ops, one send per connection per turn, the
// lingering close, the output budget (per connection and per shard) and
// input backpressure. Bytes pass through each connection's Transport;
// protocols plug in as the ConnHandler. Completions of Op::kRecv, kSend and
// kShutdown come here (core::CompletionHandler).
// Thread: owner shard only. The table owns its slots and their send queues;
// `io`, `timers`, `handler` and `metrics` outlive it.
class ConnTable final : public core::CompletionHandler {
 public:
  ConnTable(const ConnTableConfig& cfg, ConnIo& io, core::TimerWheel& timers, ConnHandler& handler,
            obs::ShardMetrics& metrics);
  ~ConnTable() override;
  ConnTable(const ConnTable&) = delete;
  ConnTable& operator=(const ConnTable&) = delete;

  // Maps the slot table (pages are touched only as slots are used).
  Result<void, std::string> init();
  // The clock for this turn (monotonic ms); set before the turn's events.
  void set_now(uint64_t now_ms) { now_ms_ = now_ms; }
  uint64_t now_ms() const { return now_ms_; }

  // Another transport (TLS) for connections of a port; returns its index
  // for open(). `t` outlives the table and charges the bytes it holds to
  // the table's budget. REQUIRES: fewer than kMaxTransports.
  static constexpr size_t kMaxTransports = 4;
  uint8_t add_transport(Transport& t);
  // A descriptor accepted into `slot`: kFree -> kOpen, recv armed, then
  // ConnHandler::on_open(). REQUIRES: slot < max_conns and free; `transport`
  // 0 (plain) or from add_transport().
  Conn& open(uint32_t slot, const PeerAddr& peer, uint8_t transport = 0);
  void on_completion(const io_uring_cqe* cqe, core::Tag tag) override;
  // A connection's timer node fired.
  void on_timer(Conn& c);
  // End of a turn: resumes inputs blocked elsewhere that are free now,
  // re-arms ended receives, and gives every connection with queued bytes
  // one send.
  void end_turn();
  // Between events: carries out requested closes and, over the shard's
  // budget, sheds the biggest consumers. Never under a loop over members.
  void settle() {
    if (!closing_.empty() || budget_.held_bytes > cfg_.max_shard_backlog) settle_slow();
  }

  // Output. Every byte a connection is sent goes through queue() and counts
  // against its backlog; a kData buffer queued behind more than
  // max_backlog requests a slow-consumer close. kControl buffers (pings,
  // pongs, closes) count but never close: they are bounded elsewhere.
  enum class Charge : uint8_t { kData, kControl };
  // Takes one count of `lb`. A connection not usable() drops it.
  void queue(Conn& c, LocalBuf* lb, Charge charge = Charge::kData);
  void send_copy(Conn& c, std::string_view bytes, Charge charge = Charge::kData);
  // Wraps one reference of `b` as this shard's, shared `count` ways.
  LocalBuf* local(SharedBuf* b, uint32_t count) { return LocalBuf::create(b, count, &budget_); }
  // Queued bytes wait while held (a 101 until its room is joined).
  void hold_output(Conn& c, bool hold);
  size_t unsent(const Conn& c) const { return transport(c).unsent(c); }

  // kOpen -> kClosing: queued bytes go out, then FIN; the close timeout runs.
  void close(Conn& c);
  // kOpen/kClosing -> kFinalizing: cancels what is in flight, then frees.
  void abort(Conn& c);
  // Marks `c` to be closed at the next settle() and drops its unsent
  // buffers. Safe anywhere, in particular inside a fan-out.
  void request_close(Conn& c, CloseWhy why);

  // When a paused connection last made progress (paused, or took bytes
  // while paused). REQUIRES: c.paused.
  uint64_t pause_progress_ms(const Conn& c) const;

  void schedule(Conn& c, uint64_t delay_ms) { timers_.schedule(c, delay_ms); }

  Conn& conn(uint32_t slot) { return conns_[slot]; }
  uint32_t slot_of(const Conn& c) const { return static_cast<uint32_t>(&c - conns_); }
  // Whether (slot, gen) names a live connection.
  Conn* find(uint32_t slot, uint32_t gen);
  uint32_t open_count() const { return open_; }
  // Connections whose unsent bytes are over half of max_backlog.
  uint32_t over_half_backlog() const { return over_half_; }
  uint32_t max_conns() const { return cfg_.max_conns; }
  const SendBudget& budget() const { return budget_; }
  // Some memory was freed since the last call (worth a trim when idle).
  bool take_freed() { return std::exchange(freed_, false); }
  // Calls fn(Conn&) for every connection that is kOpen.
  template <typename Fn>
  void for_each_open(Fn&& fn) {
    for (uint32_t slot = 0; slot < constructed_; ++slot) {
      if (conns_[slot].state == ConnState::kOpen) fn(conns_[slot]);
    }
  }

 private:
  Transport& transport(const Conn& c) const { return *transports_[c.transport]; }
  void arm_recv(Conn& c);
  void on_recv(Conn& c, const io_uring_cqe* cqe);
  void on_send(Conn& c, const io_uring_cqe* cqe);
  void on_op_done(Conn& c);
  void consume(Conn& c, std::span<std::byte> wire);
  void take(Conn& c, std::span<std::byte> data);  // plaintext for the protocol
  void note_backlog(Conn& c, size_t unsent) {
    const bool over = unsent > cfg_.max_backlog / 2;
    if (over == c.over_half) return;
    c.over_half = over;
    over ? ++over_half_ : --over_half_;
  }
  void mark_dirty(Conn& c) {
    if (c.in_dirty) return;
    c.in_dirty = true;
    dirty_.push_back(slot_of(c));
  }
  void flush(Conn& c);
  void leave_open(Conn& c);
  void release(Conn& c);
  void settle_slow();
  void shed();
  void pause_input(Conn& c, std::span<const std::byte> rest);
  void resume_input(Conn& c);
  void drop_stash(Conn& c);
  void resume_blocked_elsewhere();

  const ConnTableConfig cfg_;
  ConnIo& io_;
  core::TimerWheel& timers_;
  ConnHandler& handler_;
  obs::ShardMetrics& metrics_;
  PlainTransport plain_;
  Transport* transports_[kMaxTransports] = {&plain_};
  uint8_t transport_count_ = 1;
  Conn* conns_ = nullptr;  // mmap'd; slots constructed on first use
  size_t conns_bytes_ = 0;
  uint32_t constructed_ = 0;
  uint32_t open_ = 0;
  uint32_t over_half_ = 0;
  uint64_t now_ms_ = 0;
  uint64_t last_shed_ms_ = 0;
  bool freed_ = false;
  SendBudget budget_;              // bytes this shard's send queues hold
  std::vector<uint32_t> dirty_;    // to flush at the end of the turn
  std::vector<uint32_t> rearm_;    // receives that ended (no F_MORE, -ENOBUFS)
  std::vector<uint32_t> closing_;  // closes requested since the last settle()
  struct SlotRef {
    uint32_t slot;
    uint32_t gen;
  };
  std::vector<SlotRef> blocked_elsewhere_;  // paused; checked every turn
  // Input a paused connection has received but not parsed yet, kept only
  // while paused, so that a slot does not grow for a rare state.
  struct Stash {
    std::string bytes;
    uint64_t progress_ms = 0;  // paused then, or took bytes then while paused
  };
  std::unordered_map<uint32_t, Stash> stashes_;
};

}  // namespace ringchat::net
