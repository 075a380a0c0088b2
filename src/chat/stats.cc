// GET /stats: the dashboard's snapshot (StatsBoard, stats_json), and each
// shard's lists of its hottest rooms and slowest consumers (ShardStats).
#include "ringchat/chat/stats.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>

#include "json_socket.h"
#include "ringchat/chat/shard.h"
#include "shard_stats.h"
#include "wire.h"

namespace ringchat::chat {

using obs::Hist;
using obs::Metric;

StatsBoard::StatsBoard(unsigned shards) {
  for (unsigned i = 0; i < shards; ++i) slots_.push_back(std::make_unique<Slot>());
}

void StatsBoard::put(unsigned shard, ShardTops tops) {
  Slot& s = *slots_[shard];
  std::lock_guard lock(s.mu);
  s.tops = std::move(tops);
}

ShardTops StatsBoard::get(unsigned shard) const {
  const Slot& s = *slots_[shard];
  std::lock_guard lock(s.mu);
  return s.tops;
}

double bucket_quantile(const uint64_t* counts, const uint64_t* bounds, size_t n_bounds, double q) {
  uint64_t total = 0;
  for (size_t i = 0; i <= n_bounds; ++i) total += counts[i];
  if (total == 0) return 0;
  const double rank = q * static_cast<double>(total);
  double below = 0;
  for (size_t i = 0; i < n_bounds; ++i) {
    const auto c = static_cast<double>(counts[i]);
    if (below + c >= rank && c > 0) {
      const double lo = i == 0 ? 0 : static_cast<double>(bounds[i - 1]);
      const auto hi = static_cast<double>(bounds[i]);
      return lo + (hi - lo) * (rank - below) / c;
    }
    below += c;
  }
  return static_cast<double>(bounds[n_bounds - 1]);
}

// ---- on each shard, while watched ----

void ShardStats::tick(uint64_t now_ms) {
  const uint64_t interval = last_ms_ == 0 ? 0 : now_ms - last_ms_;
  last_ms_ = now_ms;
  if (!ctx_.shared.stats.wanted(now_ms)) {
    if (watching_) {
      seqs_ = {};  // what a watch kept goes with it
      watching_ = false;
    }
    return;
  }
  ShardTops tops;
  tops.at_ms = now_ms;
  tops.interval_ms = watching_ ? interval : 0;
  hot_rooms(tops);
  slow_consumers(tops);
  watching_ = true;
  ctx_.shared.stats.put(ctx_.id, std::move(tops));
}

void ShardStats::hot_rooms(ShardTops& tops) {
  // Messages since the last tick: the seq's advance within one epoch. A
  // room first seen now has no advance yet (its past is not this interval's).
  std::unordered_map<const OwnedRoom*, Seen> now;
  now.reserve(seqs_.size());
  ctx_.rooms.each_owned([&](const OwnedRoom& r) {
    now.emplace(&r, Seen{r.epoch, r.seq});
    auto it = seqs_.find(&r);
    if (!watching_ || it == seqs_.end() || it->second.epoch != r.epoch) return;
    const uint64_t n = r.seq - it->second.seq;
    if (n == 0) return;
    tops.hot.push_back({r.name, ctx_.id, n, r.present.size()});
    // Keep the top kStatsTop only: a bounded list, whatever the rooms.
    if (tops.hot.size() > 2 * kStatsTop) {
      std::nth_element(tops.hot.begin(), tops.hot.begin() + kStatsTop, tops.hot.end(),
                       [](const HotRoom& a, const HotRoom& b) { return a.messages > b.messages; });
      tops.hot.resize(kStatsTop);
    }
  });
  seqs_ = std::move(now);
  std::sort(tops.hot.begin(), tops.hot.end(),
            [](const HotRoom& a, const HotRoom& b) { return a.messages > b.messages; });
  if (tops.hot.size() > kStatsTop) tops.hot.resize(kStatsTop);
}

void ShardStats::slow_consumers(ShardTops& tops) {
  struct Found {
    uint64_t bytes;
    uint32_t slot;
  };
  std::vector<Found> found;
  auto by_bytes = [](const Found& a, const Found& b) { return a.bytes > b.bytes; };
  ctx_.conns.for_each_open([&](net::Conn& c) {
    const size_t unsent = ctx_.conns.unsent(c);
    if (unsent == 0) return;
    found.push_back({unsent, ctx_.conns.slot_of(c)});
    if (found.size() > 2 * kStatsTop) {
      std::nth_element(found.begin(), found.begin() + kStatsTop, found.end(), by_bytes);
      found.resize(kStatsTop);
    }
  });
  std::sort(found.begin(), found.end(), by_bytes);
  if (found.size() > kStatsTop) found.resize(kStatsTop);
  for (const Found& f : found) {
    const net::Conn& c = ctx_.conns.conn(f.slot);
    const Session& s = ctx_.sessions[f.slot];
    SlowConsumer sc;
    sc.id = std::to_string(ctx_.id) + "-" + std::to_string(f.slot) + "-" + std::to_string(c.gen);
    sc.bytes = f.bytes;
    switch (static_cast<ProtocolId>(c.protocol)) {
      case ProtocolId::kRawRoom:
        sc.transport = "ws_raw";
        break;
      case ProtocolId::kJson:
        sc.transport = "ws_json";
        sc.room = std::to_string(s.json ? s.json->rooms.size() : 0) + " rooms";
        break;
      case ProtocolId::kSse:
        sc.transport = "sse";
        break;
      default:
        sc.transport = "http";
        break;
    }
    if (s.room) sc.room = s.room->name;
    tops.slow.push_back(std::move(sc));
  }
}

// ---- on the shard answering GET /stats ----

namespace {

void field(std::string& out, const char* name, uint64_t v) {
  out += '"';
  out += name;
  out += "\":";
  out += std::to_string(v);
  out += ',';
}

void field_ms(std::string& out, const char* name, double ns) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "\"%s\":%.3f,", name, ns / 1e6);
  out += buf;
}

// Drops the ',' after a list's last member before its closing bracket.
void close(std::string& out, char bracket) {
  if (out.back() == ',') out.pop_back();
  out += bracket;
}

void counts(std::string& out, const char* name, const std::vector<uint64_t>& c) {
  out += '"';
  out += name;
  out += "\":[";
  for (uint64_t v : c) out += std::to_string(v) + ",";
  close(out, ']');
  out += ',';
}

std::vector<uint64_t> buckets_of(const obs::Histogram& h, size_t n) {
  std::vector<uint64_t> c(n + 1);
  for (size_t i = 0; i <= n; ++i) c[i] = h.bucket(i);
  return c;
}

void shard_json(std::string& out, const Shared& shared, unsigned i) {
  const obs::ShardMetrics& m = shared.metrics.shard(i);
  const auto lag_bounds = obs::hist_bounds(Hist::kLoopLag);
  const auto lag = buckets_of(m.hist(Hist::kLoopLag), lag_bounds.size());
  out += "{";
  field(out, "shard", i);
  out += "\"connections\":{";
  field(out, "http", m.get(Metric::kConnsHttp));
  field(out, "ws_raw", m.get(Metric::kConnsWsRaw));
  field(out, "ws_json", m.get(Metric::kConnsWsJson));
  field(out, "sse", m.get(Metric::kConnsSse));
  close(out, '}');
  out += ',';
  field(out, "open", m.get(Metric::kConnectionsOpen));
  field(out, "accepted", m.get(Metric::kConnectionsAccepted));
  // Messages received from clients: WebSocket data messages (JSON ops
  // included) and HTTP publishes; the room owner's sequencing; deliveries.
  field(out, "messages_in", m.get(Metric::kWsMessagesIn) + m.get(Metric::kHttpPublishes));
  field(out, "publishes", m.get(Metric::kPublishes));
  field(out, "delivered", m.get(Metric::kWsFramesOut));
  field(out, "bytes_out", m.get(Metric::kWsBytesOut));
  field(out, "loop_turns", m.get(Metric::kLoopTurns));
  out += "\"loop_lag_ms\":{";
  field_ms(out, "p50", bucket_quantile(lag.data(), lag_bounds.data(), lag_bounds.size(), 0.5));
  field_ms(out, "p99", bucket_quantile(lag.data(), lag_bounds.data(), lag_bounds.size(), 0.99));
  close(out, '}');
  out += ',';
  counts(out, "loop_lag_buckets", lag);
  // The SPSC rings into this shard, and what waits in its overflow queues
  // for rings that were full.
  uint64_t depth = 0, waiting = 0;
  for (unsigned j = 0; j < shared.mail.shards(); ++j) {
    if (j == i) continue;
    depth += shared.mail.ring(j, i).size_approx();
    waiting += shared.mail.waiting(i, j);
  }
  field(out, "mailbox_depth", depth);
  field(out, "mailbox_waiting", waiting);
  field(out, "send_backlog_bytes", m.get(Metric::kSendQueuedBytes));
  field(out, "send_backlog_peak_bytes", m.get(Metric::kSendQueuedPeak));
  field(out, "over_half_backlog", m.get(Metric::kConnsOverHalf));
  field(out, "slow_consumer_closes",
        m.get(Metric::kSlowConsumerCloses) + m.get(Metric::kShardBacklogSheds));
  field(out, "rooms_owned", m.get(Metric::kRoomsOwned));
  field(out, "history_bytes", m.get(Metric::kHistoryBytes));
  close(out, '}');
}

void publish_to_send(std::string& out, const Shared& shared) {
  const auto bounds = obs::hist_bounds(Hist::kPublishToSend);
  std::vector<uint64_t> all(bounds.size() + 1);
  for (unsigned i = 0; i < shared.metrics.shards(); ++i) {
    const auto c = buckets_of(shared.metrics.shard(i).hist(Hist::kPublishToSend), bounds.size());
    for (size_t b = 0; b < c.size(); ++b) all[b] += c[b];
  }
  uint64_t n = 0;
  for (uint64_t v : all) n += v;
  out += "\"publish_to_send_ms\":{";
  field(out, "count", n);
  for (const auto& [name, q] :
       {std::pair{"p50", 0.5}, {"p90", 0.9}, {"p99", 0.99}, {"p999", 0.999}}) {
    field_ms(out, name, bucket_quantile(all.data(), bounds.data(), bounds.size(), q));
  }
  close(out, '}');
  out += ',';
  counts(out, "publish_to_send_buckets", all);
  // Both histograms share the latency ladder (obs: 50 us to 10 s).
  out += "\"bucket_bounds_ms\":[";
  for (uint64_t b : bounds) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%g,", static_cast<double>(b) / 1e6);
    out += buf;
  }
  close(out, ']');
  out += ',';
}

void lists(std::string& out, const Shared& shared, uint64_t now_ms) {
  std::vector<HotRoom> hot;
  std::vector<SlowConsumer> slow;
  uint64_t oldest = 0, interval = 0;
  bool any = false;
  for (unsigned i = 0; i < shared.metrics.shards(); ++i) {
    ShardTops t = shared.stats.get(i);
    if (t.at_ms == 0) continue;
    any = true;
    oldest = std::max(oldest, now_ms > t.at_ms ? now_ms - t.at_ms : 0);
    interval = std::max(interval, t.interval_ms);
    std::move(t.hot.begin(), t.hot.end(), std::back_inserter(hot));
    std::move(t.slow.begin(), t.slow.end(), std::back_inserter(slow));
  }
  std::sort(hot.begin(), hot.end(),
            [](const HotRoom& a, const HotRoom& b) { return a.messages > b.messages; });
  std::sort(slow.begin(), slow.end(),
            [](const SlowConsumer& a, const SlowConsumer& b) { return a.bytes > b.bytes; });
  if (hot.size() > kStatsTop) hot.resize(kStatsTop);
  if (slow.size() > kStatsTop) slow.resize(kStatsTop);
  out += "\"hot_rooms\":[";
  for (const HotRoom& h : hot) {
    out += "{\"room\":";
    append_json_string(out, h.room);
    out += ',';
    field(out, "shard", h.shard);
    field(out, "messages", h.messages);
    field(out, "members", h.members);
    close(out, '}');
    out += ',';
  }
  close(out, ']');
  out += ",\"slow_consumers\":[";
  for (const SlowConsumer& s : slow) {
    out += "{\"id\":";
    append_json_string(out, s.id);
    out += ",\"transport\":";
    append_json_string(out, s.transport);
    out += ",\"room\":";
    append_json_string(out, s.room);
    out += ',';
    field(out, "bytes", s.bytes);
    close(out, '}');
    out += ',';
  }
  close(out, ']');
  // How old the lists are (null: no shard has made them yet: the first
  // read after a quiet spell starts them), and what "messages" counts over.
  out += ",\"lists_age_ms\":";
  out += any ? std::to_string(oldest) : "null";
  out += ',';
  field(out, "lists_interval_ms", interval);
}

}  // namespace

std::string stats_json(const Shared& shared, uint64_t now_ms) {
  std::string out;
  out.reserve(4096);
  out += '{';
  field(out, "now_ms", now_ms);
  field(out, "interval_ms", kStatsIntervalMs);
  out += "\"shards\":[";
  for (unsigned i = 0; i < shared.metrics.shards(); ++i) {
    shard_json(out, shared, i);
    out += ',';
  }
  close(out, ']');
  out += ',';
  publish_to_send(out, shared);
  lists(out, shared, now_ms);
  // What app put together at start: build, configuration, doctor.
  const std::string& about = shared.config.about;
  if (about.size() > 2 && about.front() == '{' && about.back() == '}') {
    out.append(about, 1, about.size() - 2);  // lists() left a ',' before it
  } else {
    out += R"("build":null,"config":null,"doctor":null)";
  }
  out += "}\n";
  return out;
}

}  // namespace ringchat::chat
