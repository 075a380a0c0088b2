#include "redis_cluster.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <vector>

#include "cluster_codec.h"
#include "ringchat/obs/log.h"

namespace ringchat::chat {

namespace {

// The start of the publish and sync scripts (KEYS[1]: meta, KEYS[2]: log,
// ARGV[1]: a new epoch): the room's epoch `e`, made if the room has none. A
// room that had no epoch (new, or lost by Redis) starts a new stream: its
// old entries, if any survived, belong to no epoch.
constexpr std::string_view kEpochLua = R"lua(
local e = redis.call('HGET', KEYS[1], 'epoch')
if not e then
  e = ARGV[1]
  redis.call('DEL', KEYS[2])
  redis.call('HSET', KEYS[1], 'epoch', e)
end
)lua";

// KEYS: meta, log. ARGV: a new epoch, the stream's cap, the publisher's part
// of the record, PUBLISH (one Redis) or SPUBLISH (a Redis Cluster: sharded
// pub/sub, to the subscribers on the slot's master only), the channel. The
// channel is not a key (in a Redis Cluster a key that never exists would
// make the script TRYAGAIN while the slot migrates); it has the room's hash
// tag, so it is on the script's slot. Every call that can fail comes
// before the first write, so a publish is applied whole or not at all.
const std::string kPublishScript = std::string(kEpochLua) + R"lua(
local s = redis.call('HINCRBY', KEYS[1], 'seq', 1)
local m = e .. ' ' .. s .. ' ' .. ARGV[3]
if tonumber(ARGV[2]) > 0 then
  redis.call('XADD', KEYS[2], 'MAXLEN', ARGV[2], '0-' .. s, 'm', m)
end
redis.call(ARGV[4], ARGV[5], m)
return {e, s}
)lua";

// KEYS: meta, log. ARGV: a new epoch, the caller's epoch, its last seq, how
// many of the newest to give otherwise. Answers [epoch, seq, entries oldest
// first]: the entries after the caller's seq when its epoch is the room's,
// else the newest ones.
const std::string kSyncScript = std::string(kEpochLua) + R"lua(
local s = tonumber(redis.call('HGET', KEYS[1], 'seq') or '0')
local r
if e == ARGV[2] then
  r = redis.call('XRANGE', KEYS[2], '0-' .. (tonumber(ARGV[3]) + 1), '+')
else
  r = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', ARGV[4])
  local n = #r
  for i = 1, math.floor(n / 2) do
    r[i], r[n - i + 1] = r[n - i + 1], r[i]
  end
end
return {e, s, r}
)lua";

// KEYS: the presence hash. ARGV: 1 (joined) or 0 (left), the member's id,
// its user, 1 to say nothing (a re-announcement), PUBLISH or SPUBLISH, the
// channel (as in the publish script). A leave of a member no longer there
// says nothing: the members of a dead node are reaped by whichever node
// comes first, and their leave is said once.
constexpr const char* kPresenceScript = R"lua(
local changed = 1
if ARGV[1] == '1' then
  redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
else
  changed = redis.call('HDEL', KEYS[1], ARGV[2])
end
local n = redis.call('HLEN', KEYS[1])
if ARGV[4] == '0' and changed == 1 then
  redis.call(ARGV[5], ARGV[6], 'P ' .. n .. ' ' .. ARGV[1] .. ' ' .. ARGV[2] .. ' ' .. ARGV[3])
end
return n
)lua";

constexpr size_t kPublish = 0;
constexpr size_t kSync = 1;
constexpr size_t kPresence = 2;
// A command refused with TRYAGAIN (a slot migrating), CLUSTERDOWN or
// LOADING is sent again this much later, this many times at most; so many
// redirections in a row mean the map is not settling: the command fails.
constexpr uint64_t kRetryMs = 20;
// A subscription or sync Redis refused is asked for again this much later.
constexpr uint64_t kRewatchMs = 1000;
constexpr uint8_t kMaxTries = 100;
constexpr uint8_t kMaxRedirects = 8;
constexpr uint64_t kSlotsRetryMs = 200;

uint64_t unix_ms() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

redis::Link::Options link_options(const RedisClusterConfig& c, bool subscriber) {
  redis::Link::Options o;
  if (!subscriber) {
    o.scripts = {kPublishScript, kSyncScript, kPresenceScript};
  }
  o.subscriber = subscriber;
  o.reply_timeout_ms = c.reply_timeout_ms;
  return o;
}

// [epoch text, seq] at the front of a script's answer.
bool epoch_and_seq(const redis::Reply& r, uint64_t* epoch, uint64_t* seq) {
  if (r.type() != redis::ReplyType::kArray || r.size() < 2) return false;
  if (!parse_epoch(r[0].str(), epoch)) return false;
  if (r[1].type() != redis::ReplyType::kInteger || r[1].integer() < 0) return false;
  *seq = static_cast<uint64_t>(r[1].integer());
  return true;
}

// Errors worth the same command again a little later.
bool transient(std::string_view error) {
  return error.starts_with("TRYAGAIN") || error.starts_with("CLUSTERDOWN") ||
         error.starts_with("LOADING");
}

// A room's slot: its keys and channel carry the room as their hash tag
// (cluster_codec.h), and room names have no braces, so the slot is the
// room's own.
uint16_t room_slot(std::string_view room) { return redis::key_slot(room); }

redis::NodeAddr addr_of(const redis::Endpoint& ep) { return {ep.host, ep.port}; }
}  // namespace

RedisCluster::Node::Node(RedisCluster& c, redis::Dispatcher& d, const redis::Endpoint& ep,
                         redis::NodeAddr a, uint64_t seed)
    : addr(std::move(a)),
      cmd_side(c, *this, false),
      sub_side(c, *this, true),
      cmd(d, ep, cmd_side, link_options(c.cfg_, false), seed),
      sub(d, ep, sub_side, link_options(c.cfg_, true), seed ^ 0x5bd1e995) {}

RedisCluster::RedisCluster(redis::Dispatcher& d, const RedisClusterConfig& c,
                           obs::ShardMetrics& metrics)
    : dispatcher_(d),
      cfg_(c),
      metrics_(metrics),
      rng_(c.seed),
      history_text_(std::to_string(c.history)) {
  if (!sharded()) {
    nodes_.push_back(std::make_unique<Node>(*this, d, c.endpoint, addr_of(c.endpoint), c.seed));
  } else {
    // The seeds, to ask for the slot map; masters among them are reused.
    for (size_t i = 0; i < c.seeds.size(); ++i) node_at(addr_of(c.seeds[i]));
  }
}

RedisCluster::~RedisCluster() = default;

void RedisCluster::start() {
  RC_CHECK(events_ != nullptr);
  for (auto& n : nodes_) {
    n->cmd.start();
    n->sub.start();
  }
}

void RedisCluster::stop() {
  for (auto& n : nodes_) {
    n->cmd.stop();
    n->sub.stop();
  }
  up_ = false;
  metrics_.set(obs::Metric::kClusterUp, 0);
}

RedisCluster::Node& RedisCluster::node_at(const redis::NodeAddr& a) {
  const std::string key = a.text();
  if (auto it = by_addr_.find(key); it != by_addr_.end()) return *it->second;
  // Every master takes the seeds' credentials.
  redis::Endpoint ep = cfg_.seeds.front();
  ep.host = a.host;
  ep.port = a.port;
  const uint64_t seed = cfg_.seed ^ (nodes_.size() * 0x9E3779B97F4A7C15ULL);
  nodes_.push_back(std::make_unique<Node>(*this, dispatcher_, ep, a, seed));
  Node& n = *nodes_.back();
  by_addr_.emplace(key, &n);
  if (events_) {  // started already: a master found later
    RC_INFO("redis cluster: a new master %s", key.c_str()).kv("event", "redis_cluster");
    n.cmd.start();
    n.sub.start();
  }
  return n;
}

RedisCluster::Node* RedisCluster::node_for(std::string_view room) {
  return node_for_slot(sharded() ? room_slot(room) : 0);
}

RedisCluster::Node* RedisCluster::node_for_slot(uint16_t slot) {
  if (!sharded()) return nodes_.front().get();
  const redis::NodeAddr* owner = map_.owner(slot);
  return owner ? &node_at(*owner) : nullptr;
}

std::string RedisCluster::server_of(std::string_view room) const {
  if (!sharded()) return nodes_.front()->addr.text();
  const redis::NodeAddr* owner = map_.owner(room_slot(room));
  return owner ? owner->text() : std::string();
}

std::string RedisCluster::candidate_epoch() {
  uint64_t e = 0;
  while (e == 0) e = rng_();  // 0 is "no epoch" to clients
  return epoch_text(e);
}

void RedisCluster::link_up(Node& n, bool subscriber) {
  if (!subscriber) {
    if (publish_sha_.empty()) {
      publish_sha_ = n.cmd.sha(kPublish);
      sync_sha_ = n.cmd.sha(kSync);
      presence_sha_ = n.cmd.sha(kPresence);
    }
    std::deque<Pending> waiting = std::move(n.waiting);
    n.waiting.clear();
    for (Pending& p : waiting) resend(n, std::move(p));
    if (sharded() && !map_known_ && !slots_asked_) ask_slots();
  } else {
    std::vector<std::string> rooms = std::move(n.sub_waiting);
    n.sub_waiting.clear();
    for (const std::string& room : rooms) {
      auto it = watches_.find(room);
      if (it != watches_.end() && it->second.node == &n && !it->second.subscribed) {
        subscribe(room, it->second);
      }
    }
  }
  try_up();
}

void RedisCluster::try_up() {
  if (up_) return;
  if (!sharded()) {
    const Node& n = *nodes_.front();
    if (!n.cmd.up() || !n.sub.up()) return;
  } else {
    if (!map_known_) return;
    for (const redis::NodeAddr& a : map_.nodes()) {
      auto it = by_addr_.find(a.text());
      if (it == by_addr_.end() || !it->second->cmd.up() || !it->second->sub.up()) return;
    }
  }
  up_ = true;
  next_beat_ms_ = 0;  // say this node is alive before anything else
  metrics_.set(obs::Metric::kClusterUp, 1);
  events_->cluster_up();
}

void RedisCluster::ask_slots() {
  for (auto& n : nodes_) {
    if (!n->cmd.up()) continue;
    n->cmd.command({"CLUSTER", "SLOTS"});
    n->pending.push_back({Pending::What::kSlots, {}, {}, 0, {}, 0, 0, 0});
    slots_asked_ = true;
    return;
  }
}

void RedisCluster::fail(const Pending& p) {
  if (p.what == Pending::What::kPublish) events_->refused(p.publisher, p.sent);
  if (p.what == Pending::What::kFetch) events_->fetched(p.room, p.token, false, {});
  // One of members()'s two answers failed: the question is answered once.
  if ((p.what == Pending::What::kMembers || p.what == Pending::What::kNodes) &&
      members_.erase(p.token) > 0 && !reaping(p.token)) {
    events_->members_answer(p.room, p.token, false, {});
  }
}

bool RedisCluster::in_map(const Node& n) const {
  for (const redis::NodeAddr& a : map_.nodes()) {
    if (a == n.addr) return true;
  }
  return false;
}

void RedisCluster::link_down(Node& n) {
  if (sharded() && map_known_ && !in_map(n)) {
    // A seed the rooms do not stand on: only what waited for it fails.
    std::deque<Pending> waiting = std::move(n.waiting);
    n.waiting.clear();
    if (!n.cmd.up()) n.pending.clear();
    for (const Pending& p : waiting) fail(p);
    return;
  }
  // Whichever went, the others' state is no longer the one the rooms
  // stand on: answers still due fail, and the subscriptions go (the resync
  // after cluster_up() makes new ones).
  const bool was_up = up_;
  up_ = false;
  metrics_.set(obs::Metric::kClusterUp, 0);
  for (const auto& [room, w] : watches_) {
    if (!w.node || !w.node->sub.up()) continue;
    w.node->sub.command({sharded() ? "SUNSUBSCRIBE" : "UNSUBSCRIBE", room_channel(room)});
    w.node->sub_pending.push_back({room, false});
  }
  watches_.clear();
  std::vector<Pending> failed;
  for (auto& n : nodes_) {
    n->sub_waiting.clear();
    if (!n->sub.up()) n->sub_pending.clear();
    for (Pending& p : n->pending) failed.push_back(std::move(p));
    const size_t due = n->pending.size();
    n->pending.clear();
    if (n->cmd.up()) {
      // Their answers still come: taken as failed below, and dropped.
      for (size_t i = 0; i < due; ++i)
        n->pending.push_back({Pending::What::kIgnore, {}, {}, 0, {}, 0, 0, 0});
    }
    for (Pending& p : n->waiting) failed.push_back(std::move(p));
    n->waiting.clear();
  }
  for (auto& [due, p] : retries_) failed.push_back(std::move(p));
  retries_.clear();
  rewatches_.clear();  // cluster_up() watches every room again
  if (sharded()) {
    // The topology may have changed too: read it again.
    map_known_ = slots_asked_ = false;
    slots_retry_ms_ = 0;
    ask_slots();
  }
  for (const Pending& p : failed) fail(p);
  if (was_up) events_->cluster_down();
}

void RedisCluster::send(Node& n, std::span<const std::string_view> argv, Pending p) {
  if (sharded() && p.argv.empty()) p.argv.assign(argv.begin(), argv.end());
  if (!n.cmd.up()) {
    p.since_ms = dispatcher_.loop().now_ms();
    n.waiting.push_back(std::move(p));
    return;
  }
  n.cmd.command(argv);
  p.sent = true;
  n.pending.push_back(std::move(p));
}

void RedisCluster::resend(Node& n, Pending p) {
  std::vector<std::string_view> argv(p.argv.begin(), p.argv.end());
  send(n, argv, std::move(p));
}

void RedisCluster::command_for(std::string_view room, std::initializer_list<std::string_view> argv,
                               Pending p) {
  command_at(sharded() ? room_slot(room) : 0,
             std::span<const std::string_view>(argv.begin(), argv.size()), std::move(p));
}

void RedisCluster::command_for_key(std::string_view key,
                                   std::initializer_list<std::string_view> argv, Pending p) {
  command_at(sharded() ? redis::key_slot(key) : 0,
             std::span<const std::string_view>(argv.begin(), argv.size()), std::move(p));
}

void RedisCluster::command_at(uint16_t slot, std::span<const std::string_view> argv, Pending p) {
  p.slot = slot;
  Node* n = node_for_slot(slot);
  if (!n) return fail(p);  // no owner known for the slot
  send(*n, argv, std::move(p));
}

void RedisCluster::publish(const PublishMsg& m) {
  const Publisher p{m.from(), m.ack};
  if (!up_) {
    m.body->release();
    return events_->refused(p, false);
  }
  const std::string_view room = m.room();
  const std::string record = encode_publish(m, cfg_.node, unix_ms());
  const std::string meta = room_meta_key(room), log = room_log_key(room),
                    channel = room_channel(room), epoch = candidate_epoch();
  // `room` is a view into the body: released once the command is queued.
  command_for(room,
              {"EVALSHA", publish_sha_, "2", meta, log, epoch, history_text_, record,
               publish_command(), channel},
              {Pending::What::kPublish, p, {}, 0, {}, 0, 0, 0});
  m.body->release();
}

void RedisCluster::watch(std::string_view room, uint64_t epoch, uint64_t after, uint32_t limit) {
  if (!up_) return;  // cluster_up() will ask again
  auto [it, added] = watches_.try_emplace(std::string(room));
  it->second.epoch = epoch;
  it->second.after = after;
  it->second.limit = limit;
  if (it->second.subscribed) return sync(room, it->second);
  if (added) subscribe(room, it->second);
}

void RedisCluster::subscribe(std::string_view room, Watch& w) {
  Node* n = node_for(room);
  w.node = n;
  if (!n) return;  // unreachable while up: the map covers every slot
  if (!n->sub.up()) {
    n->sub_waiting.emplace_back(room);
    return;
  }
  n->sub.command({sharded() ? "SSUBSCRIBE" : "SUBSCRIBE", room_channel(room)});
  n->sub_pending.push_back({std::string(room), true});
}

void RedisCluster::unwatch(std::string_view room) {
  auto it = watches_.find(room);
  if (it == watches_.end()) return;
  Node* n = it->second.node;
  watches_.erase(it);
  if (n && n->sub.up()) {
    n->sub.command({sharded() ? "SUNSUBSCRIBE" : "UNSUBSCRIBE", room_channel(room)});
    n->sub_pending.push_back({std::string(room), false});
  }
}

void RedisCluster::fetch(std::string_view room, uint64_t after, uint64_t upto, uint64_t token) {
  if (!up_) return events_->fetched(room, token, false, {});
  const std::string from = "0-" + std::to_string(after + 1), to = "0-" + std::to_string(upto);
  command_for(room, {"XRANGE", room_log_key(room), from, to},
              {Pending::What::kFetch, {}, std::string(room), token, {}, 0, 0, 0});
}

void RedisCluster::sync(std::string_view room, const Watch& w) {
  const std::string meta = room_meta_key(room), log = room_log_key(room), fresh = candidate_epoch(),
                    theirs = epoch_text(w.epoch), after = std::to_string(w.after),
                    limit = std::to_string(w.limit);
  // Epoch 0 is no room's: a first sync gets the newest `limit`.
  command_for(room,
              {"EVALSHA", sync_sha_, "2", meta, log, fresh, w.epoch ? theirs : "-", after, limit},
              {Pending::What::kSync, {}, std::string(room), 0, {}, 0, 0, 0});
}

void RedisCluster::entries(const redis::Reply& r, std::vector<ClusterRecord>* out) {
  if (r.type() != redis::ReplyType::kArray) return;
  for (size_t i = 0; i < r.size(); ++i) {
    const redis::Reply e = r[i];
    ClusterRecord rec;
    // [id, [field, record]]
    if (e.type() == redis::ReplyType::kArray && e.size() == 2 && e[1].size() == 2 &&
        decode_record(e[1][1].str(), &rec)) {
      out->push_back(rec);
    } else {
      ++bad_records_;
    }
  }
}

bool RedisCluster::redirected(Node& n, Pending& p, const redis::Reply& r) {
  const std::string_view error = r.str();
  if (auto rd = redis::parse_redirect(error)) {
    if (++p.tries > kMaxRedirects) return false;
    if (rd->to.host.empty()) rd->to.host = n.addr.host;
    if (!rd->ask) {
      RC_DEBUG("redis cluster: slot %u moved to %s", rd->slot, rd->to.text().c_str())
          .kv("event", "redis_cluster");
      map_.set(rd->slot, rd->to);
    }
    Node& to = node_at(rd->to);
    if (rd->ask) {
      const std::string_view asking[] = {"ASKING"};
      send(to, asking, {Pending::What::kIgnore, {}, {}, 0, {"ASKING"}, 0, 0, 0});
    }
    resend(to, std::move(p));
    return true;
  }
  if (transient(error)) {
    if (++p.tries > kMaxTries) return false;
    p.sent = false;  // refused, not applied: sent again later
    retries_.emplace_back(dispatcher_.loop().now_ms() + kRetryMs, std::move(p));
    return true;
  }
  return false;
}

void RedisCluster::tick(uint64_t now_ms) {
  if (up_ && now_ms >= next_beat_ms_) {
    next_beat_ms_ = now_ms + cfg_.heartbeat_ms;
    heartbeat();
  }
  while (!rewatches_.empty() && rewatches_.front().first <= now_ms) {
    const std::string room = std::move(rewatches_.front().second);
    rewatches_.pop_front();
    auto it = watches_.find(room);
    if (!up_ || it == watches_.end()) continue;
    if (it->second.subscribed) {
      sync(room, it->second);
    } else {
      subscribe(room, it->second);
    }
  }
  if (!sharded()) return;
  while (!retries_.empty() && retries_.front().first <= now_ms) {
    Pending p = std::move(retries_.front().second);
    retries_.pop_front();
    Node* n = node_for_slot(p.slot);
    if (!n) {
      fail(p);
      continue;
    }
    resend(*n, std::move(p));
  }
  if (slots_retry_ms_ && slots_retry_ms_ <= now_ms) {
    slots_retry_ms_ = 0;
    ask_slots();
  }
  // Commands for a master that never came up fail as a reply would have.
  for (auto& n : nodes_) {
    while (!n->waiting.empty() && n->waiting.front().since_ms + cfg_.reply_timeout_ms <= now_ms) {
      const Pending p = std::move(n->waiting.front());
      n->waiting.pop_front();
      fail(p);
    }
  }
}

std::optional<uint64_t> RedisCluster::next_due_ms(uint64_t now_ms) const {
  std::optional<uint64_t> at;
  auto take = [&](uint64_t t) {
    if (!at || t < *at) at = t;
  };
  if (!retries_.empty()) take(retries_.front().first);
  if (!rewatches_.empty()) take(rewatches_.front().first);
  if (slots_retry_ms_) take(slots_retry_ms_);
  for (const auto& n : nodes_) {
    if (!n->waiting.empty()) take(n->waiting.front().since_ms + cfg_.reply_timeout_ms);
  }
  if (!at) return std::nullopt;
  return *at > now_ms ? *at - now_ms : 0;
}

void RedisCluster::on_answer(Node& n, const redis::Reply& r) {
  if (n.pending.empty()) return;  // a stray answer: nothing asked it
  Pending p = std::move(n.pending.front());
  n.pending.pop_front();
  if (p.what == Pending::What::kIgnore) return;
  if (p.what == Pending::What::kSlots) {
    slots_asked_ = false;
    if (map_.parse(r, n.addr.host) && map_.complete()) {
      map_known_ = true;
      for (const redis::NodeAddr& a : map_.nodes()) node_at(a);
      return try_up();
    }
    RC_WARN_LIMITED("redis cluster: no usable slot map from %s: %s", n.addr.text().c_str(),
                    r.debug_string().substr(0, 200).c_str())
        .kv("event", "redis_cluster");
    map_known_ = false;
    slots_retry_ms_ = dispatcher_.loop().now_ms() + kSlotsRetryMs;
    return;
  }
  if (!up_) return;  // asked before the cluster went down: failed then
  if (sharded() && r.is_error() && redirected(n, p, r)) return;
  switch (p.what) {
    case Pending::What::kPublish: {
      uint64_t epoch = 0, seq = 0;
      if (epoch_and_seq(r, &epoch, &seq) && seq > 0)
        return events_->published(p.publisher, epoch, seq);
      RC_WARN_LIMITED("redis refused a publish: %s", r.debug_string().c_str())
          .kv("event", "redis_publish");
      return events_->refused(p.publisher, false);
    }
    case Pending::What::kSync:
      return answer_sync(p.room, r);
    case Pending::What::kMembers:
    case Pending::What::kNodes:
      return answer_members(p, r);
    case Pending::What::kDead:
      return answer_dead(r);
    case Pending::What::kFetch: {
      if (r.is_error()) {
        RC_WARN_LIMITED("redis refused a fetch: %s", r.debug_string().c_str())
            .kv("event", "redis_fetch");
        return events_->fetched(p.room, p.token, false, {});
      }
      std::vector<ClusterRecord> recs;
      entries(r, &recs);
      return events_->fetched(p.room, p.token, true, recs);
    }
    case Pending::What::kSlots:
      return;
    case Pending::What::kIgnore:
      if (r.is_error()) {
        RC_WARN_LIMITED("redis refused a command: %s", r.debug_string().c_str())
            .kv("event", "redis_command");
      }
      return;
  }
}

void RedisCluster::answer_sync(const std::string& room, const redis::Reply& r) {
  // An unwatched room's sync is of no use any more.
  if (!watches_.count(room)) return;
  uint64_t epoch = 0, seq = 0;
  if (!epoch_and_seq(r, &epoch, &seq) || r.size() != 3) {
    RC_WARN_LIMITED("redis refused a room's sync: %s", r.debug_string().c_str())
        .kv("event", "redis_sync")
        .kv("room", room);
    return rewatch_later(room);
  }
  std::vector<ClusterRecord> recs;
  entries(r[2], &recs);
  events_->synced(room, epoch, seq, recs);
}

void RedisCluster::rewatch_later(std::string_view room) {
  rewatches_.emplace_back(dispatcher_.loop().now_ms() + kRewatchMs, room);
}

void RedisCluster::on_push(Node& n, const redis::Reply& r) {
  if (r.is_error()) {
    // A (un)subscribe refused: SSUBSCRIBE at a master that no longer owns
    // the slot answers MOVED; subscribe at the owner.
    if (n.sub_pending.empty()) return;
    const SubPending sp = std::move(n.sub_pending.front());
    n.sub_pending.pop_front();
    auto it = watches_.find(sp.room);
    if (!sp.subscribe || it == watches_.end() || it->second.node != &n) return;
    auto rd = redis::parse_redirect(r.str());
    if (sharded() && rd && !rd->ask) {
      if (rd->to.host.empty()) rd->to.host = n.addr.host;
      map_.set(rd->slot, rd->to);
      return subscribe(sp.room, it->second);
    }
    RC_WARN_LIMITED("redis refused a subscription: %s", r.debug_string().c_str())
        .kv("event", "redis_subscribe")
        .kv("room", sp.room);
    return rewatch_later(sp.room);
  }
  if (r.type() != redis::ReplyType::kArray || r.size() < 3) return;
  const std::string_view kind = r[0].str();
  const std::string_view room = channel_room(r[1].str());
  if (room.empty()) return;
  if ((kind == "message" || kind == "smessage") && is_presence_record(r[2].str())) {
    Present who;
    bool here = false;
    uint64_t count = 0;
    if (!decode_presence(r[2].str(), &who, &here, &count)) {
      ++bad_records_;
      return;
    }
    return events_->presence_event(room, who, here, count);
  }
  if (kind == "message" || kind == "smessage") {
    ClusterRecord rec;
    if (!decode_record(r[2].str(), &rec)) {
      ++bad_records_;
      return;
    }
    return events_->message(room, rec);
  }
  if (kind == "subscribe" || kind == "ssubscribe") {
    if (!n.sub_pending.empty()) n.sub_pending.pop_front();
    if (!up_) return;
    auto it = watches_.find(room);
    if (it == watches_.end() || it->second.subscribed || it->second.node != &n) return;
    it->second.subscribed = true;
    return sync(room, it->second);
  }
  if (kind == "unsubscribe" || kind == "sunsubscribe") {
    if (!n.sub_pending.empty() && !n.sub_pending.front().subscribe &&
        n.sub_pending.front().room == room) {
      n.sub_pending.pop_front();  // the answer to ours
      return;
    }
    // Redis dropped it: the room's slot moved to another master. Watch it
    // again (at the owner the next MOVED names) and resync.
    auto it = watches_.find(room);
    if (it == watches_.end() || it->second.node != &n || !up_) return;
    RC_INFO("redis cluster: room %.*s moved away from %s", static_cast<int>(room.size()),
            room.data(), n.addr.text().c_str())
        .kv("event", "redis_cluster");
    const std::string name(room);
    watches_.erase(it);
    events_->watch_lost(name);
  }
}

void RedisCluster::member(std::string_view room, const Present& who, bool here, bool quiet) {
  if (!up_) return;  // cluster_up() announces the room's members again
  const std::string key = room_presence_key(room), channel = room_channel(room),
                    id = member_id(who);
  command_for(room,
              {"EVALSHA", presence_sha_, "1", key, here ? "1" : "0", id, who.user,
               quiet ? "1" : "0", publish_command(), channel},
              {Pending::What::kIgnore, {}, {}, 0, {}, 0, 0, 0});
}

void RedisCluster::members(std::string_view room, uint64_t token) {
  if (!up_) return events_->members_answer(room, token, false, {});
  ask_members(room, token);
}

void RedisCluster::ask_members(std::string_view room, uint64_t token) {
  members_[token];
  command_for(room, {"HGETALL", room_presence_key(room)},
              {Pending::What::kMembers, {}, std::string(room), token, {}, 0, 0, 0});
  const std::string now = std::to_string(unix_ms());
  command_for_key(kNodesKey, {"ZRANGEBYSCORE", kNodesKey, now, "+inf"},
                  {Pending::What::kNodes, {}, std::string(room), token, {}, 0, 0, 0});
}

void RedisCluster::answer_members(const Pending& p, const redis::Reply& r) {
  auto it = members_.find(p.token);
  if (it == members_.end()) return;  // the other answer failed: answered then
  if (r.type() != redis::ReplyType::kArray) return fail(p);
  Members& m = it->second;
  if (p.what == Pending::What::kMembers) {
    // [id, user, id, user, ...]
    for (size_t i = 0; i + 1 < r.size(); i += 2) {
      Present who;
      if (!parse_member_id(r[i].str(), &who)) continue;
      who.user = std::string(r[i + 1].str());
      m.all.push_back(std::move(who));
    }
    m.have_all = true;
  } else {
    for (size_t i = 0; i < r.size(); ++i) {
      uint32_t node = 0;
      const std::string_view s = r[i].str();
      if (std::from_chars(s.data(), s.data() + s.size(), node).ec == std::errc()) {
        m.live.push_back(node);
      }
    }
    m.have_live = true;
  }
  if (!m.have_all || !m.have_live) return;
  std::vector<Present> present, ghosts;
  for (Present& who : m.all) {
    const bool live = std::find(m.live.begin(), m.live.end(), who.node) != m.live.end();
    (live ? present : ghosts).push_back(std::move(who));
  }
  members_.erase(it);
  // Gone with their node: each leaves (said once, by whoever comes first).
  for (const Present& who : ghosts) member(p.room, who, false, false);
  if (!reaping(p.token)) events_->members_answer(p.room, p.token, true, present);
}

void RedisCluster::answer_dead(const redis::Reply& r) {
  if (r.type() != redis::ReplyType::kArray) return;
  std::unordered_set<uint32_t> dead;
  bool news = false;
  for (size_t i = 0; i < r.size(); ++i) {
    uint32_t node = 0;
    const std::string_view s = r[i].str();
    if (std::from_chars(s.data(), s.data() + s.size(), node).ec != std::errc()) continue;
    dead.insert(node);
    news |= !dead_.count(node);
  }
  dead_ = std::move(dead);  // a node gone for an hour leaves the set
  if (!news) return;
  // A node died since the last look: its members leave the rooms watched
  // here (others' are reaped when someone asks who is there).
  for (const auto& [room, w] : watches_) ask_members(room, kReapToken | ++reaps_);
}

void RedisCluster::heartbeat() {
  const uint64_t now = unix_ms();
  const std::string until = std::to_string(now + cfg_.node_ttl_ms),
                    node = std::to_string(cfg_.node), gone = std::to_string(now - 3600000);
  const Pending ignore{Pending::What::kIgnore, {}, {}, 0, {}, 0, 0, 0};
  command_for_key(kNodesKey, {"ZADD", kNodesKey, until, node}, ignore);
  // Nodes gone for an hour leave the set; those gone since are dead.
  command_for_key(kNodesKey, {"ZREMRANGEBYSCORE", kNodesKey, "-inf", gone}, ignore);
  command_for_key(kNodesKey, {"ZRANGEBYSCORE", kNodesKey, gone, "(" + std::to_string(now)},
                  {Pending::What::kDead, {}, {}, 0, {}, 0, 0, 0});
}

}  // namespace ringchat::chat
