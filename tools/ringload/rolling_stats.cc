#include "rolling_stats.h"

#include <algorithm>
#include <charconv>

namespace ringchat::ringload {
namespace {

void add_into(std::vector<uint32_t>& to, const std::vector<uint32_t>& from) {
  if (to.size() < from.size()) to.resize(from.size(), 0);
  for (size_t i = 0; i < from.size(); ++i) to[i] += from[i];
}

uint32_t at(const std::vector<uint32_t>& v, size_t b) { return b < v.size() ? v[b] : 0; }

std::vector<std::string_view> words(std::string_view text) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n')) ++i;
    size_t j = i;
    while (j < text.size() && text[j] != ' ' && text[j] != '\t' && text[j] != '\n') ++j;
    if (j > i) out.push_back(text.substr(i, j - i));
    i = j;
  }
  return out;
}

}  // namespace

// The three series always have the same length.
void ReconnectCurve::on_open(uint64_t t_ns, bool again) {
  const size_t b = t_ns / kCurveBucketNs;
  extend(b + 1);
  ++opens[b];
  if (again) ++reopens[b];
}

void ReconnectCurve::on_drop(uint64_t t_ns) {
  const size_t b = t_ns / kCurveBucketNs;
  extend(b + 1);
  ++drops[b];
}

void ReconnectCurve::extend(size_t n) {
  if (opens.size() >= n) return;
  opens.resize(n, 0);
  reopens.resize(n, 0);
  drops.resize(n, 0);
}

void ReconnectCurve::merge(const ReconnectCurve& o) {
  add_into(opens, o.opens);
  add_into(reopens, o.reopens);
  add_into(drops, o.drops);
}

std::vector<int64_t> ReconnectCurve::connected() const {
  std::vector<int64_t> out(buckets());
  int64_t n = 0;
  for (size_t b = 0; b < out.size(); ++b) {
    n += static_cast<int64_t>(at(opens, b)) - static_cast<int64_t>(at(drops, b));
    out[b] = n;
  }
  return out;
}

ReconnectSummary summarize(const ReconnectCurve& c, uint64_t from_ns, uint64_t until_ns,
                           uint32_t clients) {
  ReconnectSummary s;
  const std::vector<int64_t> conn = c.connected();
  const size_t first = from_ns / kCurveBucketNs;
  // The bucket `until` falls in is the last one looked at.
  const size_t last = until_ns / kCurveBucketNs;
  s.min_connected = clients;
  bool touched = false, short_at_end = false;
  size_t last_touched = first;
  for (size_t b = first; b <= last; ++b) {
    const int64_t n = b < conn.size() ? conn[b] : (conn.empty() ? 0 : conn.back());
    const uint32_t dropped = at(c.drops, b), reopened = at(c.reopens, b);
    s.dropped += dropped;
    s.reconnected += reopened;
    s.min_connected = std::min(s.min_connected, n);
    const bool short_now = n < static_cast<int64_t>(clients);
    if (short_now || dropped > 0 || reopened > 0) {
      touched = true;
      last_touched = b;
    }
    short_at_end = short_now;
  }
  if (short_at_end) return s;  // full_reconnect_s stays -1
  if (!touched) {
    s.full_reconnect_s = 0;
    return s;
  }
  const uint64_t end_ns = (last_touched + 1) * kCurveBucketNs;
  s.full_reconnect_s = end_ns > from_ns ? static_cast<double>(end_ns - from_ns) / 1e9 : 0;
  return s;
}

void EpochTally::seen(uint32_t room, uint64_t epoch, uint64_t last) {
  uint64_t& m = max_[{room, epoch}];
  m = std::max(m, last);
}

void EpochTally::left(uint32_t room, uint64_t epoch, uint64_t last) {
  seen(room, epoch, last);
  left_.push_back({{room, epoch}, last});
}

uint64_t EpochTally::told_lost() const {
  uint64_t n = 0;
  for (const auto& [key, last] : left_) n += max_.at(key) - last;
  return n;
}

LossCounts classify_loss(const OrderCounts& order, const SeqCounts& seq, const EpochTally& epochs) {
  LossCounts l;
  l.seq_gaps = seq.gaps;
  l.payload_gaps = order.gaps;
  l.silently = std::max(seq.gaps, order.gaps);
  l.epoch_changes = seq.epoch_changes;
  l.told_epoch = epochs.told_lost();
  l.told_history = seq.missed;
  l.told_payload = order.missed;
  l.told = std::max(l.told_epoch + l.told_history, l.told_payload);
  return l;
}

std::vector<uint64_t> listen_inodes(std::string_view table, uint16_t port) {
  std::vector<uint64_t> out;
  size_t pos = 0;
  while (pos < table.size()) {
    size_t nl = table.find('\n', pos);
    if (nl == std::string_view::npos) nl = table.size();
    const auto w = words(table.substr(pos, nl - pos));
    pos = nl + 1;
    if (w.size() < 10 || w[3] != "0A") continue;  // 0A: TCP_LISTEN
    const size_t colon = w[1].rfind(':');
    if (colon == std::string_view::npos) continue;
    unsigned p = 0;
    const std::string_view hex = w[1].substr(colon + 1);
    auto [ptr, ec] = std::from_chars(hex.data(), hex.data() + hex.size(), p, 16);
    if (ec != std::errc() || ptr != hex.data() + hex.size() || p != port) continue;
    uint64_t inode = 0;
    auto [ptr2, ec2] = std::from_chars(w[9].data(), w[9].data() + w[9].size(), inode);
    if (ec2 == std::errc() && ptr2 == w[9].data() + w[9].size()) out.push_back(inode);
  }
  return out;
}

std::vector<std::string> split_args(std::string_view text) {
  std::vector<std::string> out;
  for (std::string_view w : words(text)) out.emplace_back(w);
  return out;
}

}  // namespace ringchat::ringload
