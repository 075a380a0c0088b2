#pragma once
#include <liburing.h>
#include <netinet/in.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <queue>
#include <random>
#include <string>
#include <vector>

#include "histogram.h"
#include "json_envelope.h"
#include "order_checker.h"
#include "plan.h"
#include "ringchat/core/reactor.h"
#include "ringchat/ws/frame_parser.h"
#include "rolling_stats.h"
#include "scenario.h"
#include "seq_checker.h"
#include "sse_parser.h"
#include "stats.h"
#include "tls_client.h"

namespace ringchat::ringload {

// Stages of a run, as numbers main publishes: 0 = connecting (before the
// first phase), 1..P = the phases, P+1 = drain (no new sends), P+2 = close.
// Thread: written by main, read by every worker (relaxed is enough: each
// value only moves forward and carries no other data with it).
struct Control {
  std::atomic<int> stage{0};
  std::atomic<bool> go{false};  // fanout: all members settled, rounds may start
};

// What a worker shows main while it runs (live progress, saturation).
// Thread: written by its worker; read by main. Counters are relaxed atomics;
// `interval` is guarded by `mu`.
struct WorkerLive {
  std::atomic<uint64_t> sent{0};
  std::atomic<uint64_t> delivered{0};
  std::atomic<uint64_t> errors{0};
  std::atomic<uint64_t> cycles{0};  // handshake mode: completed
  std::atomic<uint64_t> reconnects{0};
  std::atomic<uint64_t> connect_failures{0};
  std::atomic<uint32_t> open{0};
  std::atomic<uint32_t> settled{0};  // clients open or given up
  std::atomic<int> tid{0};
  std::atomic<bool> exited{false};
  std::atomic<bool> quota_done{false};  // handshake mode: --handshakes reached, all closed
  std::mutex mu;
  Histogram interval;  // latencies since main last took them
};

// Where and how workers connect; shared and read-only.
struct Endpoint {
  Target target;
  sockaddr_in dest{};
  // --ports: one destination per port (client c: dests[plan.port[c]]);
  // empty: every client connects to dest.
  std::vector<sockaddr_in> dests;
  std::vector<sockaddr_in> sources;  // --src-ips, port 0
  uint16_t port_lo = 32768;          // ip_local_port_range, for explicit binds
  uint16_t port_hi = 60999;
  const TlsClientContext* tls = nullptr;  // --tls; owned by the Runner
};

// One pinned thread with one io_uring (a core::Reactor: ring, sparse
// direct-descriptor table, provided-buffer ring), driving its share of the
// clients (client ids w, w+W, w+2W, ...). Sockets live only in the ring's
// registered file table (direct descriptors), so they do not count against
// RLIMIT_NOFILE once set up.
// Thread: run() on its own thread; results read by main after it returns.
class Worker {
 public:
  Worker(const Scenario& s, const Plan& plan, const Endpoint& ep, Control& control, int index,
         int count, uint64_t t0);
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Runs until the close stage has finished. Error: setup failed (message).
  Result<void, std::string> run();

  WorkerLive& live() { return live_; }
  const std::vector<StageStats>& stages() const { return stages_; }
  OrderCounts order() const;
  SeqCounts seq() const;
  const ConnectionCounts& connections() const { return conn_counts_; }
  // The first TLS connection's protocol version and suite ("" if none).
  const std::string& tls_version() const { return tls_version_; }
  const std::string& tls_cipher() const { return tls_cipher_; }
  // Rolling restart: client connections opening and ending per 100 ms,
  // publishes lost, reconnects that waited for a server's retry_ms hint,
  // and each receiver's epochs (for the messages lost but told).
  const ReconnectCurve& curve() const { return curve_; }
  PublishCounts publish() const;
  uint64_t hinted() const { return hinted_; }
  void tally_epochs(EpochTally& t) const;

 private:
  enum class State : uint8_t {
    kWaiting,
    kConnecting,
    kHandshake,
    kJoining,  // json: waiting for `joined`; sse: for the stream's first event
    kOpen,
    kClosing,
    kTearDown,
    kClosingFd,
    kDone,
    kDead
  };
  enum class Op : uint8_t { kConnect = 1, kSend, kRecv, kCancel, kClose };
  enum class TimerKind : uint8_t { kStart, kSend };
  struct Handshake {
    std::string expected_accept;
    std::string buf;
  };
  // sse: a client is its event stream; a sender also has a publisher, an
  // HTTP keep-alive connection that only POSTs.
  enum class Role : uint8_t { kClient, kPublisher };
  static constexpr uint32_t kNone = UINT32_MAX;
  // Where a connection stands after its handshake (raw 101 headers, JSON
  // `joined`, SSE `joined` event); has_pos false when the server said nothing.
  struct OpenInfo {
    bool has_pos = false;
    bool recovered = false;
    uint64_t epoch = 0;
    uint64_t first = 0;     // seq of the first message to come, 0 if not told
    uint64_t room_seq = 0;  // the room's last seq, 0 if not told
  };
  struct Conn {
    explicit Conn(size_t max_message) : parser(ws::Role::kClient, max_message) {}
    uint32_t client = 0;
    Role role = Role::kClient;
    uint32_t link = kNone;  // client: its publisher; publisher: its client
    bool resuming = false;  // this attempt resumes from seqc's position
    bool churned = false;   // closed by our reset: reopens as the same sender
    bool reset_pending = false;
    bool track_raw = false;     // raw: frames numbered from X-Ringchat-First
    uint32_t pub_waiting = 0;   // publisher: answers outstanding
    uint64_t own_echoed = 0;    // highest own seq delivered back
    uint64_t last_sent = 0;     // payload seq of the last own message sent
    uint64_t raw_next = 0;      // raw: seq of the next frame
    uint64_t replay_until = 0;  // raw fresh join: frames up to here are old history
    std::string path;           // request path (publisher: the POST path)
    std::string in;             // publisher: bytes of answers not yet whole
    std::unique_ptr<SseParser> sse;
    SeqChecker seqc;
    State state = State::kWaiting;
    uint8_t incarnation = 0;
    uint8_t inflight = 0;
    bool send_inflight = false;
    bool dirty = false;
    bool ever_opened = false;
    bool close_sent = false;
    bool awaiting_echo = false;
    int attempt = 0;
    uint32_t epoch = 0;
    uint64_t seq = 0;
    uint64_t deadline_ns = 0;
    uint64_t next_send_ns = 0;
    uint64_t round = 1;
    uint64_t sent_round = 0;
    uint32_t round_cur = 0;
    uint32_t round_next = 0;
    uint64_t round_start_ns = 0;
    size_t out_off = 0;
    std::string out;
    std::string wire;
    std::unique_ptr<Handshake> hs;
    ws::FrameParser parser;
    OrderChecker order;
    // --tls: this attempt's TLS; the session to offer next time (--tls-resume).
    std::unique_ptr<TlsClient> tls;
    TlsSession tls_session;
    bool tls_counted = false;  // this attempt's handshake is counted
    bool tls_saved = false;    // this attempt's session is kept (--tls-resume)
    bool cycle_done = false;   // handshake mode: this cycle is complete, closing
    uint64_t attempt_ns = 0;   // when this attempt began
    // A draining server's retry_ms for the next attempt (-1: none; backoff).
    int64_t retry_hint_ms = -1;
    bool told_draining = false;  // this attempt: the server said it drains
    uint64_t refused = 0;        // own publishes refused since the last open
    bool hit_refused = false;    // a sender with publishes refused ...
    bool hit_unacked = false;    // ... or never confirmed (PublishCounts)
  };
  struct Timer {
    uint64_t when;
    uint32_t conn;
    uint32_t epoch;
    TimerKind kind;
    bool operator>(const Timer& o) const { return when > o.when; }
  };

  Result<void, std::string> setup_ring();
  void loop();
  void turn(uint64_t now);
  void on_stage_change(int stage, uint64_t now);
  void start_connections(uint64_t now);
  void fire_timers(uint64_t now);
  void scan_deadlines(uint64_t now);
  void flush_sends();
  void publish_live(uint64_t now, bool force);
  // Charges the stage now ending with the reconnects, failed connects and
  // order violations since the last stage ended.
  void close_stage_counts();
  bool finished(uint64_t now) const;

  static uint64_t pack(Op op, uint32_t conn) { return (uint64_t(op) << 56) | conn; }
  void dispatch(io_uring_cqe* cqe, uint64_t now);

  void start_attempt(uint32_t i, uint64_t now);
  Result<void, std::string> install_socket(uint32_t i);
  Result<void, std::string> bind_source(int fd, uint32_t i);
  void submit_send(Conn& c, uint32_t i);
  void arm_recv(uint32_t i);
  void on_connect(uint32_t i, int res, uint64_t now);
  void on_send(uint32_t i, int res);
  void on_recv(uint32_t i, io_uring_cqe* cqe, uint64_t now);
  void on_closed(uint32_t i, uint64_t now);
  void op_done(uint32_t i, uint64_t now);
  void abort_conn(uint32_t i, std::string_view error_kind, uint64_t now);
  void start_close(uint32_t i, uint64_t now);

  // worker_tls.cc: TLS between the socket and on_bytes(); handshake mode.
  void on_wire(uint32_t i, std::span<std::byte> data, uint64_t now);
  bool start_tls(uint32_t i, uint64_t now);
  void on_tls_progress(uint32_t i, uint64_t now);
  bool has_output(const Conn& c) const;
  void fill_wire(Conn& c);
  void finish_cycle(uint32_t i, uint64_t now);
  bool cycle_quota_left() const { return quota_ == 0 || cycles_started_ < quota_; }
  void mark_dirty(uint32_t i);
  void check_quota(uint64_t now);

  void on_bytes(uint32_t i, std::span<std::byte> data, uint64_t now);
  void on_handshake_bytes(uint32_t i, std::span<const std::byte> data, uint64_t now);
  void on_frames(uint32_t i, std::span<std::byte> data, uint64_t now);
  void on_open(uint32_t i, uint64_t now, const OpenInfo& info);
  void on_ws_open(uint32_t i, std::string_view head, uint64_t now);
  void on_message(uint32_t i, std::span<const std::byte> payload, uint64_t now);
  void on_json_message(uint32_t i, std::string_view text, uint64_t now);
  void on_socketio_message(uint32_t i, std::string_view text, uint64_t now);
  void deliver(uint32_t i, std::string_view payload, uint64_t now);
  // worker_proto.cc: SSE streams, HTTP publishers, JSON joins, churn.
  struct SseDispatch;
  std::string connect_request(uint32_t i, const std::string& key);
  void on_sse_bytes(uint32_t i, std::string_view data, uint64_t now);
  void on_sse_event(uint32_t i, std::string_view type, std::string_view id, std::string_view data,
                    uint64_t now);
  void on_pub_bytes(uint32_t i, std::string_view data, uint64_t now);
  void queue_publish(uint32_t i, std::string_view payload);
  void send_join(uint32_t i);
  void churn_scan(uint64_t now, uint64_t dt_ns);
  void reset_conn(uint32_t i, uint64_t now);
  bool publish_outstanding(const Conn& c) const;
  void on_fanout_message(uint32_t i, uint64_t seq, uint64_t now);
  void advance_round(uint32_t i, uint64_t now);
  void kick(uint32_t i, uint64_t now);
  void send_message(uint32_t i, uint64_t seq, uint64_t stamp_ns);
  void queue_frame(uint32_t i, ws::Opcode op, std::span<const std::byte> payload);
  uint64_t next_interval_ns();
  uint64_t sender_key(const Conn& c) const { return (uint64_t{c.client} << 8) | c.incarnation; }
  bool sending() const { return stage_ >= 1 && stage_ <= phase_count_; }
  void count_error(std::string_view kind);
  // Rolling-restart bookkeeping (worker_rolling.cc).
  void note_drop(uint32_t i, uint64_t now);
  void note_unacked(uint32_t i);
  void note_refused(uint32_t sender);
  void take_hint(uint32_t i, uint64_t retry_ms);

  const Scenario& s_;
  const Plan& plan_;
  const Endpoint& ep_;
  Control& control_;
  const int index_;
  const int count_;
  const uint64_t t0_;
  const std::vector<Phase> phases_;
  const int phase_count_;
  // Set up and used by run() on this worker's thread; destroyed with the
  // Worker once that thread has ended.
  core::Reactor reactor_;
  std::vector<Conn> conns_;
  std::vector<uint32_t> to_start_;  // clients not yet started, in order
  size_t next_start_ = 0;
  double connect_tokens_ = 0;
  uint64_t last_tokens_ns_ = 0;
  uint32_t connecting_ = 0;
  std::vector<uint32_t> dirty_;
  std::vector<uint32_t> rearm_;
  std::vector<uint32_t> port_cursor_;  // per source address
  std::priority_queue<Timer, std::vector<Timer>, std::greater<Timer>> timers_;
  std::mt19937_64 rng_;
  int stage_ = 0;
  bool go_ = false;
  uint64_t close_deadline_ns_ = 0;
  uint64_t last_scan_ns_ = 0;
  uint64_t last_publish_ns_ = 0;
  std::vector<StageStats> stages_;
  Histogram interval_;
  ConnectionCounts conn_counts_;
  ConnectionCounts counted_conns_;   // conn_counts_ when the last stage ended
  uint64_t counted_violations_ = 0;  // ... and the order checkers' violations
  ReconnectCurve curve_;
  PublishCounts publish_;
  uint64_t hinted_ = 0;
  uint32_t open_ = 0;
  uint32_t settled_ = 0;
  uint32_t terminal_ = 0;
  uint64_t sent_total_ = 0, delivered_total_ = 0, errors_total_ = 0, cycles_total_ = 0;
  std::string scratch_;
  std::string frame_;  // json: the envelope around a payload
  EnvelopeParser envelopes_;
  std::string tls_plain_;  // plaintext of one feed
  std::string tls_version_, tls_cipher_;
  uint64_t quota_ = 0;           // handshake mode: this worker's share of --handshakes
  uint64_t cycles_started_ = 0;  // handshake mode: cycles begun (retries excluded)
  WorkerLive live_;
};

}  // namespace ringchat::ringload
