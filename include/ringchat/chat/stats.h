#pragma once
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace ringchat::chat {

struct Shared;

// GET /stats: a compact JSON snapshot for the dashboard (docs/METRICS.md
// "/stats"). Most of it is read, on request, from what the shards keep
// anyway (obs::ShardMetrics, the mailboxes): nothing runs for it while
// nobody asks. The two lists that need a walk over a shard's rooms and
// connections (the hottest rooms, the slowest consumers) are made by each
// shard once a second, and only while /stats was read in the last
// kStatsWatchMs; the answer carries how old they are.
inline constexpr size_t kStatsTop = 10;             // entries per list, per shard and in all
inline constexpr uint64_t kStatsWatchMs = 5000;     // a read keeps the lists coming this long
inline constexpr uint64_t kStatsIntervalMs = 1000;  // how often a watched shard makes them

// A room its owner sequenced messages for in the last interval.
struct HotRoom {
  std::string room;
  unsigned shard = 0;     // the owner
  uint64_t messages = 0;  // sequenced in the interval
  uint64_t members = 0;   // on every shard
};

// A connection with unsent bytes.
struct SlowConsumer {
  std::string id;         // SHARD-SLOT-GEN, as `from` and presence show it
  std::string transport;  // "ws_raw", "ws_json", "sse", "http"
  std::string room;       // a raw socket's or a stream's room; "N rooms" for a JSON socket
  uint64_t bytes = 0;     // unsent
};

// What one shard last said of itself: its top kStatsTop of each.
struct ShardTops {
  uint64_t at_ms = 0;        // monotonic ms when made (0: never)
  uint64_t interval_ms = 0;  // what HotRoom::messages counts over
  std::vector<HotRoom> hot;
  std::vector<SlowConsumer> slow;
};

// Where the shards leave their lists and /stats readers find them.
// Thread: any. A shard writes its own slot (a mutex it takes once a
// second while watched; readers take it once per /stats).
class StatsBoard {
 public:
  explicit StatsBoard(unsigned shards);
  // /stats was read at `now_ms` (monotonic): keep the lists coming.
  void watched(uint64_t now_ms) { watched_until_ms_.store(now_ms + kStatsWatchMs); }
  bool wanted(uint64_t now_ms) const { return now_ms < watched_until_ms_.load(); }
  void put(unsigned shard, ShardTops tops);
  ShardTops get(unsigned shard) const;

 private:
  struct Slot {
    mutable std::mutex mu;
    ShardTops tops;
  };
  std::atomic<uint64_t> watched_until_ms_{0};
  std::vector<std::unique_ptr<Slot>> slots_;
};

// The /stats body: per shard (connections by transport, messages in and
// delivered as counters, loop lag quantiles and buckets, mailbox depth,
// send backlog), publish-to-send quantiles, the hottest rooms and slowest
// consumers of all shards, and ShardConfig::about (build, configuration,
// doctor). `now_ms` monotonic. Thread: any.
std::string stats_json(const Shared& shared, uint64_t now_ms);

// The q-quantile (0 < q < 1) of a histogram's per-bucket counts `counts`
// (the last one past the last bound) with upper bounds `bounds`, by linear
// interpolation inside the bucket, as Prometheus' histogram_quantile does;
// past the last bound: that bound. 0 for no samples. Pure.
double bucket_quantile(const uint64_t* counts, const uint64_t* bounds, size_t n_bounds, double q);

}  // namespace ringchat::chat
