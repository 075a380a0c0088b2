#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "order_checker.h"
#include "seq_checker.h"

namespace ringchat::ringload {

// The rolling-restart scenario's accounting (--rolling-server): the
// reconnect curve, messages lost silently or lost with the client told, and
// what happened to publishes. Pure values: workers fill their own, main
// merges them after the run.

inline constexpr uint64_t kCurveBucketNs = 100'000'000;  // 100 ms

// Client connections (subscribers and raw/JSON senders; not SSE publishers)
// opening and ending, counted per 100 ms since the run started.
// Thread: owned by one worker; merged by main after the workers end.
struct ReconnectCurve {
  std::vector<uint32_t> opens;    // connections opened (first time or again)
  std::vector<uint32_t> reopens;  // ... by clients that had been open before
  std::vector<uint32_t> drops;    // open connections that ended (server close, reset, error)

  void on_open(uint64_t t_ns, bool again);
  void on_drop(uint64_t t_ns);
  void merge(const ReconnectCurve& o);
  size_t buckets() const { return opens.size(); }
  // Clients connected at the end of each bucket (opens - drops so far).
  std::vector<int64_t> connected() const;
  // At least n buckets (the new ones empty).
  void extend(size_t n);
};

struct ReconnectSummary {
  // From `from` (the SIGTERM) to the end of the last 100 ms bucket before
  // `until` in which a client was still missing, dropped or reconnected:
  // when every client was back. 0: nobody was affected; -1: some were still
  // missing at `until`.
  double full_reconnect_s = -1;
  uint64_t dropped = 0;      // drops from `from` to `until`
  uint64_t reconnected = 0;  // reopens from `from` to `until`
  int64_t min_connected = 0;
};
ReconnectSummary summarize(const ReconnectCurve& c, uint64_t from_ns, uint64_t until_ns,
                           uint32_t clients);

// Which (room, epoch) each receiver saw up to where, and where receivers
// were told of an epoch change (a resume answered recovered:false with
// another epoch). A receiver told it left epoch E after seq s missed E's
// seqs s+1.. that another receiver of the room saw: those are lost, but
// told. (A lower bound: seqs nobody in the run saw are not counted.)
// Thread: main, after the workers end.
class EpochTally {
 public:
  void seen(uint32_t room, uint64_t epoch, uint64_t last);
  // Also counts as seen.
  void left(uint32_t room, uint64_t epoch, uint64_t last);
  uint64_t told_lost() const;
  uint64_t changes() const { return left_.size(); }

 private:
  std::map<std::pair<uint32_t, uint64_t>, uint64_t> max_;
  std::vector<std::pair<std::pair<uint32_t, uint64_t>, uint64_t>> left_;
};

struct LossCounts {
  uint64_t seq_gaps = 0;      // room seqs skipped within an epoch, nobody told
  uint64_t payload_gaps = 0;  // a sender's numbers skipped, not across a told reconnect
  // Messages lost with nobody told: the larger of the two (one lost message
  // usually shows in both). Must be 0.
  uint64_t silently = 0;
  uint64_t epoch_changes = 0;  // resumes told of another epoch
  uint64_t told_epoch = 0;     // seqs of the left epoch the told receivers missed
  uint64_t told_history = 0;   // seqs skipped by a same-epoch not-recovered resume
  // A sender's numbers skipped across a receiver's told reconnect (a sender
  // that went on publishing where the receiver no longer was).
  uint64_t told_payload = 0;
  // Messages lost with the receiver told: the larger of the two views
  // (room seqs: told_epoch + told_history; payloads: told_payload), since
  // one lost message may show in both. A lower bound.
  uint64_t told = 0;
};
LossCounts classify_loss(const OrderCounts& order, const SeqCounts& seq, const EpochTally& epochs);

// Publishes that did not make it, and by how many senders.
struct PublishCounts {
  uint64_t refused = 0;          // answered with an error (JSON `error`, HTTP non-2xx)
  uint64_t unacked = 0;          // sent, never confirmed (own echo, HTTP answer) when the
                                 // connection ended
  uint64_t senders_refused = 0;  // senders with at least one refused
  uint64_t senders_unacked = 0;  // ... with at least one unacknowledged
  void add(const PublishCounts& o) {
    refused += o.refused;
    unacked += o.unacked;
    senders_refused += o.senders_refused;
    senders_unacked += o.senders_unacked;
  }
};

// What the rolling restart did to the servers, in seconds since the run
// started (-1: did not happen).
struct RollingEvents {
  std::vector<int> pids;              // first, second, replacement
  double replacement_started_s = -1;  // the third server was started
  double replacement_ready_s = -1;    // ... and listened
  double term_s = -1;                 // SIGTERM sent to the first
  double old_exit_s = -1;             // the first exited
  int old_exit_status = -1;           // its exit status (128+N: killed by signal N)
  std::string problem;                // why the restart did not go as planned ("" if it did)
};

// The inodes of the LISTEN sockets on `port` in a /proc/net/tcp or tcp6
// table (columns: sl local rem st ... inode).
std::vector<uint64_t> listen_inodes(std::string_view table, uint16_t port);
// --rolling-args: words separated by blanks (no quoting).
std::vector<std::string> split_args(std::string_view text);

}  // namespace ringchat::ringload
