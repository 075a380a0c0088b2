#pragma once
// Private to the stress test: the clients of one scenario, driven by one
// thread through epoll. stress_plan.cc places them and checks the outcome,
// stress_driver.cc moves the bytes.
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "ringchat/ws/frame_parser.h"
#include "stress_scenario.h"
#include "ws_client.h"

namespace ringchat::testing::stress {

using Clock = std::chrono::steady_clock;

enum class Role : uint8_t {
  kPublisher,       // publishes, and reads everything (its echoes too)
  kReader,          // reads everything
  kLateReader,      // joins mid-run, then reads everything
  kStopper,         // reads, then stops reading: must end up closed
  kVanisher,        // reads, then resets its connection in the middle of a message
  kPingFlood,       // sends pings and never reads
  kBlindPublisher,  // publishes 1000-byte messages and never reads
  kHttpFlood,       // pipelines GET /metrics and never reads
};
const char* to_string(Role role);
// A reader that keeps up must receive every message published after its 101.
inline bool keeps_up(Role r) {
  return r == Role::kPublisher || r == Role::kReader || r == Role::kLateReader;
}

enum class State : uint8_t {
  kIdle,       // connected, no request sent yet
  kHandshake,  // upgrade sent, waiting for the 101
  kOpen,       // reading (or flooding)
  kStopped,    // not reading
  kDraining,   // fell far enough behind: reading again, a close must come
  kDone,       // socket closed
};

// What a publisher sends next, kept until the room's window lets it go.
struct Plan {
  size_t size = 0;
  bool text = false;
  unsigned fragments = 1;
};

struct Room;

// One client connection. Thread: the scenario's thread.
struct Conn {
  Conn(Role r, size_t max_message) : role(r), parser(ws::Role::kClient, max_message) {}
  int fd = -1;
  unsigned id = 0;     // index in Driver::conns_
  unsigned shard = 0;  // the shard that accepted it
  Role role;
  Room* room = nullptr;  // null for the HTTP flood
  State state = State::kIdle;
  uint32_t events = 0;  // epoll interest registered now; 0: not registered
  std::string out;      // bytes to send from out_off on
  size_t out_off = 0;
  std::string head;  // the upgrade answer until its blank line
  ws::FrameParser parser;
  std::mt19937_64 rng;

  // What it read: message keys in arrival order, the next counter expected
  // of each publisher, and the publishers' counters when its 101 came.
  uint64_t rx_bytes = 0;
  std::vector<uint64_t> got;
  uint64_t fillers = 0;  // anonymous messages read
  std::unordered_map<uint32_t, uint32_t> next_ctr;
  std::map<uint32_t, uint32_t> join_ctr;
  uint64_t join_index = 0;  // the room's message index when its 101 came

  // Publishers.
  uint32_t pub_id = 0;
  uint32_t ctr = 0;   // identified messages sent
  uint32_t sent = 0;  // all messages sent
  uint32_t quota = 0;
  bool planned = false;
  Plan plan;

  // kStopper, kVanisher, kLateReader: payload bytes read (or, for a late
  // reader, completed in its room) before it stops, vanishes or joins.
  uint64_t trigger_bytes = 0;
  // Readers that must end up closed: they stop at the room's message
  // `stop_index`; `witness`, a reader that keeps up on the same shard, sees
  // what the server queued to them since.
  bool must_close = false;
  uint64_t stop_index = 0;
  Conn* witness = nullptr;
  std::vector<Conn*> watched;  // as a witness: the stopped readers it watches for
  uint64_t behind = 0;         // payload bytes queued to it since it stopped
  Clock::time_point drain_start;
  uint64_t drained = 0;     // payload bytes read while draining
  uint16_t close_code = 0;  // 0: none seen
  bool saw_eof = false;

  // Floods.
  uint64_t flood_bytes = 0;
  bool flood_cut = false;  // the server closed it, or a write failed
};

// An identified message not yet read by every reader that owes it.
struct Pending {
  size_t size = 0;
  uint64_t index = 0;      // the room's message index
  uint32_t remaining = 0;  // readers that keep up and have not read it
};

struct Room {
  char tag = '?';
  std::string name;
  unsigned owner = 0;
  size_t max_size = 0;  // the largest message its publishers send
  std::vector<Conn*> members;
  std::vector<Conn*> publishers;
  uint64_t messages = 0;   // published so far; the next one's index
  uint64_t anonymous = 0;  // of which anonymous filler
  size_t inflight = 0;     // bytes of `pending`
  uint64_t completed_bytes = 0;
  std::unordered_map<uint64_t, Pending> pending;
  // The first reader that joined before any message: every reader that
  // keeps up reads its sequence, or (joining late) the end of it.
  const Conn* reference() const;
  // Every reader that keeps up has read everything: none pending, and the
  // filler (which `pending` cannot track) has arrived.
  bool delivered() const;
  // A late reader is due to join or waits for its 101: publishers wait.
  bool joining() const;
};

class Driver {
 public:
  Driver(const ScenarioConfig& cfg, const PayloadPool& pool, TestServer& server);
  ~Driver();
  Driver(const Driver&) = delete;
  Driver& operator=(const Driver&) = delete;
  ScenarioResult run();

 private:
  // placement, handshakes, final checks (stress_plan.cc)
  bool plan_rooms();
  Room& add_room(char tag, int owner, int avoid_owner, size_t max_size);
  bool add(Role role, Room* room, int shard);
  int connect_one(bool small_rcvbuf, unsigned& shard);
  bool take(int shard, bool small_rcvbuf, int& fd, unsigned& got);
  void assign_witnesses();
  void send_upgrade(Conn& c);
  bool wait_handshakes();
  void verify();
  void verify_room(const Room& room);
  void check_gauges();
  void check_still_serves();
  std::string summary(double seconds) const;
  void sample_rss();
  uint64_t shard_metric(unsigned shard, obs::Metric m) const;

  // the loop (stress_driver.cc)
  void turn(int timeout_ms);
  bool publish_phase_over();
  bool settled() const;
  void report_unsettled();
  void step_publishers();
  void step_late_readers();
  void step_drain_deadlines();
  void publish(Conn& p);
  Plan plan_message(Conn& p) const;
  void encode(Conn& p, std::span<const std::byte> payload);
  void on_readable(Conn& c);
  void on_writable(Conn& c);
  void feed(Conn& c, std::span<std::byte> in);
  bool take_head(Conn& c, std::span<std::byte>& in);
  void on_joined(Conn& c);
  void on_event(Conn& c, const ws::Event& ev);
  void on_message(Conn& c, ws::Opcode op, std::span<const std::byte> payload);
  void complete(Conn& c, Room& room, uint64_t key);
  void witness(Conn& w, const Pending& p);
  void on_close_frame(Conn& c, uint16_t code, std::string_view reason);
  void on_gone(Conn& c, const char* why);
  void after_read(Conn& c);
  void begin_drain(Conn& c);
  void flush(Conn& c);
  void refill_flood(Conn& c);
  bool reading(const Conn& c) const;
  bool flooding(const Conn& c) const;
  void update_interest(Conn& c);
  void finish(Conn& c, bool reset);
  bool room_needs_traffic(const Room& r) const;
  void fail(const Conn* c, std::string what);
  std::string describe(const Conn& c) const;

  const ScenarioConfig& cfg_;
  const PayloadPool& pool_;
  TestServer& server_;
  std::mt19937_64 rng_;
  int epoll_fd_ = -1;
  std::vector<std::unique_ptr<Conn>> conns_;
  std::vector<std::unique_ptr<Room>> rooms_;
  std::vector<Conn*> publishers_;  // by pub_id
  struct Spare {
    int fd;
    unsigned shard;
    bool small;
  };
  std::vector<Spare> spares_;
  std::vector<std::byte> read_buf_;
  std::string scratch_;
  size_t window_;            // bytes a room may have in flight beside one message
  size_t behind_limit_;      // what a stopped reader must fall behind to be closed
  uint64_t big_key_ = 0;     // the message over kBigMessage in flight, 0: none
  bool publishing_ = false;  // publishers and floods are sending
  bool published_ = false;   // the publishing phase is over
  unsigned turns_ = 0;
  bool failed_ = false;
  std::vector<std::string> failures_;
  Clock::time_point publish_end_;
  uint64_t delivered_bytes_ = 0;
  uint64_t published_bytes_ = 0;
  size_t rss_peak_ = 0;
  unsigned late_joins_ = 0;  // late readers whose 101 came while messages flowed
};

}  // namespace ringchat::testing::stress
