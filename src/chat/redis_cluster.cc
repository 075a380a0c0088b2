#include "redis_cluster.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <vector>

#include "cluster_codec.h"
#include "ringchat/obs/log.h"

namespace ringchat::chat {

namespace {

// KEYS: meta, log, channel. ARGV: a new epoch (used if the room has none),
// the stream's cap, the publisher's part of the record. A room that had no
// epoch (new, or lost by Redis) starts a new stream: its old entries, if any
// survived, belong to no epoch. Every call that can fail comes before the
// first write, so a publish is applied whole or not at all.
constexpr const char* kPublishScript = R"lua(
local e = redis.call('HGET', KEYS[1], 'epoch')
if not e then
  e = ARGV[1]
  redis.call('DEL', KEYS[2])
  redis.call('HSET', KEYS[1], 'epoch', e)
end
local s = redis.call('HINCRBY', KEYS[1], 'seq', 1)
local m = e .. ' ' .. s .. ' ' .. ARGV[3]
if tonumber(ARGV[2]) > 0 then
  redis.call('XADD', KEYS[2], 'MAXLEN', ARGV[2], '0-' .. s, 'm', m)
end
redis.call('PUBLISH', KEYS[3], m)
return {e, s}
)lua";

// KEYS: meta, log. ARGV: a new epoch (used if the room has none), the
// caller's epoch, its last seq, how many of the newest to give otherwise.
// Answers [epoch, seq, entries oldest first]: the entries after the
// caller's seq when its epoch is the room's, else the newest ones.
constexpr const char* kSyncScript = R"lua(
local e = redis.call('HGET', KEYS[1], 'epoch')
if not e then
  e = ARGV[1]
  redis.call('DEL', KEYS[2])
  redis.call('HSET', KEYS[1], 'epoch', e)
end
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

// KEYS: the presence hash, the channel. ARGV: 1 (joined) or 0 (left), the
// member's id, its user, 1 to say nothing (a re-announcement).
constexpr const char* kPresenceScript = R"lua(
if ARGV[1] == '1' then
  redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
else
  redis.call('HDEL', KEYS[1], ARGV[2])
end
local n = redis.call('HLEN', KEYS[1])
if ARGV[4] == '0' then
  redis.call('PUBLISH', KEYS[2], 'P ' .. n .. ' ' .. ARGV[1] .. ' ' .. ARGV[2] .. ' ' .. ARGV[3])
end
return n
)lua";

constexpr size_t kPublish = 0;
constexpr size_t kSync = 1;
constexpr size_t kPresence = 2;

uint64_t unix_ms() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

redis::Link::Options link_options(const RedisClusterConfig& c, bool subscriber) {
  redis::Link::Options o;
  if (!subscriber) o.scripts = {kPublishScript, kSyncScript, kPresenceScript};
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
}  // namespace

const char* RedisCluster::publish_script() { return kPublishScript; }
const char* RedisCluster::sync_script() { return kSyncScript; }
const char* RedisCluster::presence_script() { return kPresenceScript; }

RedisCluster::RedisCluster(redis::Dispatcher& d, const RedisClusterConfig& c,
                           obs::ShardMetrics& metrics)
    : cfg_(c),
      metrics_(metrics),
      cmd_(d, c.endpoint, cmd_side_, link_options(c, false), c.seed),
      sub_(d, c.endpoint, sub_side_, link_options(c, true), c.seed ^ 0x5bd1e995),
      rng_(c.seed),
      history_text_(std::to_string(c.history)) {}

void RedisCluster::start() {
  RC_CHECK(events_ != nullptr);
  cmd_.start();
  sub_.start();
}

void RedisCluster::stop() {
  cmd_.stop();
  sub_.stop();
  up_ = false;
  metrics_.set(obs::Metric::kClusterUp, 0);
}

std::string RedisCluster::candidate_epoch() {
  uint64_t e = 0;
  while (e == 0) e = rng_();  // 0 is "no epoch" to clients
  return epoch_text(e);
}

void RedisCluster::link_up() {
  if (up_ || !cmd_.up() || !sub_.up()) return;
  up_ = true;
  next_beat_ms_ = 0;  // say it is alive before anything else
  metrics_.set(obs::Metric::kClusterUp, 1);
  events_->cluster_up();
}

void RedisCluster::link_down() {
  // Whichever went, the other's state is no longer the one the rooms
  // stand on: answers still due on the command connection fail, and the
  // subscriptions go (the resync after cluster_up() makes new ones).
  const bool was_up = up_;
  up_ = false;
  metrics_.set(obs::Metric::kClusterUp, 0);
  if (sub_.up()) {
    for (const auto& [room, w] : watches_) sub_.command({"UNSUBSCRIBE", room_channel(room)});
  }
  watches_.clear();
  std::deque<Pending> failed = std::move(pending_);
  pending_.clear();
  if (cmd_.up()) {
    // Its answers still come: they are taken as failed below, and dropped.
    for (size_t i = 0; i < failed.size(); ++i)
      pending_.push_back({Pending::What::kSync, {}, {}, 0});
  }
  for (const Pending& p : failed) {
    if (p.what == Pending::What::kPublish) events_->refused(p.publisher);
    if (p.what == Pending::What::kFetch) events_->fetched(p.room, p.token, false, {});
    if (p.what == Pending::What::kMembers) events_->members_answer(p.room, p.token, false, {});
  }
  members_.clear();
  if (was_up) events_->cluster_down();
}

void RedisCluster::publish(const PublishMsg& m) {
  const Publisher p{m.from(), m.ack};
  if (!up_) {
    m.body->release();
    return events_->refused(p);
  }
  const std::string_view room = m.room();
  const std::string record = encode_publish(m, cfg_.node, unix_ms());
  const std::string meta = room_meta_key(room), log = room_log_key(room),
                    channel = room_channel(room), epoch = candidate_epoch();
  m.body->release();
  cmd_.command(
      {"EVALSHA", cmd_.sha(kPublish), "3", meta, log, channel, epoch, history_text_, record});
  pending_.push_back({Pending::What::kPublish, p, {}, 0});
}

void RedisCluster::watch(std::string_view room, uint64_t epoch, uint64_t after, uint32_t limit) {
  if (!up_) return;  // cluster_up() will ask again
  auto [it, added] = watches_.try_emplace(std::string(room));
  it->second.epoch = epoch;
  it->second.after = after;
  it->second.limit = limit;
  if (it->second.subscribed) return sync(room, it->second);
  if (added) sub_.command({"SUBSCRIBE", room_channel(room)});
}

void RedisCluster::unwatch(std::string_view room) {
  auto it = watches_.find(room);
  if (it == watches_.end()) return;
  watches_.erase(it);
  if (sub_.up()) sub_.command({"UNSUBSCRIBE", room_channel(room)});
}

void RedisCluster::fetch(std::string_view room, uint64_t after, uint64_t upto, uint64_t token) {
  if (!up_) return events_->fetched(room, token, false, {});
  const std::string from = "0-" + std::to_string(after + 1), to = "0-" + std::to_string(upto);
  cmd_.command({"XRANGE", room_log_key(room), from, to});
  pending_.push_back({Pending::What::kFetch, {}, std::string(room), token});
}

void RedisCluster::sync(std::string_view room, const Watch& w) {
  const std::string meta = room_meta_key(room), log = room_log_key(room), fresh = candidate_epoch(),
                    theirs = epoch_text(w.epoch), after = std::to_string(w.after),
                    limit = std::to_string(w.limit);
  // Epoch 0 is no room's: a first sync gets the newest `limit`.
  cmd_.command(
      {"EVALSHA", cmd_.sha(kSync), "2", meta, log, fresh, w.epoch ? theirs : "-", after, limit});
  pending_.push_back({Pending::What::kSync, {}, std::string(room), 0});
}

void RedisCluster::entries(const redis::Reply& r, std::vector<ClusterRecord>* out) {
  if (r.type() != redis::ReplyType::kArray) return;
  for (size_t i = 0; i < r.size(); ++i) {
    const redis::Reply e = r[i];
    ClusterRecord rec;
    // [id, [field, record]]
    if (e.type() == redis::ReplyType::kArray && e.size() == 2 && e[1].size() == 2 &&
        decode_record(e[1][1].str(), cfg_.node, &rec)) {
      out->push_back(rec);
    } else {
      ++bad_records_;
    }
  }
}

void RedisCluster::on_answer(const redis::Reply& r) {
  if (pending_.empty()) return;  // a stray answer: nothing asked it
  const Pending p = std::move(pending_.front());
  pending_.pop_front();
  if (!up_) return;  // asked before the cluster went down: failed then
  switch (p.what) {
    case Pending::What::kPublish: {
      uint64_t epoch = 0, seq = 0;
      if (epoch_and_seq(r, &epoch, &seq) && seq > 0)
        return events_->published(p.publisher, epoch, seq);
      RC_WARN_LIMITED("redis refused a publish: %s", r.debug_string().c_str())
          .kv("event", "redis_publish");
      return events_->refused(p.publisher);
    }
    case Pending::What::kSync:
      return answer_sync(p.room, r);
    case Pending::What::kMembers:
    case Pending::What::kNodes:
      return answer_members(p, r);
    case Pending::What::kIgnore:
      if (r.is_error()) {
        RC_WARN_LIMITED("redis refused a presence update: %s", r.debug_string().c_str())
            .kv("event", "redis_presence");
      }
      return;
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
  }
}

void RedisCluster::answer_sync(const std::string& room, const redis::Reply& r) {
  // An unwatched room's sync is of no use any more.
  if (!watches_.count(room)) return;
  uint64_t epoch = 0, seq = 0;
  if (!epoch_and_seq(r, &epoch, &seq) || r.size() != 3) {
    // The room waits: the next reconnect syncs it again.
    RC_WARN_LIMITED("redis refused a room's sync: %s", r.debug_string().c_str())
        .kv("event", "redis_sync")
        .kv("room", room);
    return;
  }
  std::vector<ClusterRecord> recs;
  entries(r[2], &recs);
  events_->synced(room, epoch, seq, recs);
}

void RedisCluster::on_push(const redis::Reply& r) {
  if (r.type() != redis::ReplyType::kArray || r.size() < 3) return;
  const std::string_view kind = r[0].str();
  const std::string_view room = channel_room(r[1].str());
  if (room.empty()) return;
  if (kind == "message" && is_presence_record(r[2].str())) {
    Present who;
    bool here = false;
    uint64_t count = 0;
    if (!decode_presence(r[2].str(), &who, &here, &count)) {
      ++bad_records_;
      return;
    }
    return events_->presence_event(room, who, here, count);
  }
  if (kind == "message") {
    ClusterRecord rec;
    if (!decode_record(r[2].str(), cfg_.node, &rec)) {
      ++bad_records_;
      return;
    }
    return events_->message(room, rec);
  }
  if (kind == "subscribe" && up_) {
    auto it = watches_.find(room);
    if (it == watches_.end() || it->second.subscribed) return;
    it->second.subscribed = true;
    sync(room, it->second);
  }
}

void RedisCluster::member(std::string_view room, const Present& who, bool here, bool quiet) {
  if (!up_) return;  // cluster_up() announces the room's members again
  const std::string key = room_presence_key(room), channel = room_channel(room),
                    id = member_id(who);
  cmd_.command({"EVALSHA", cmd_.sha(kPresence), "2", key, channel, here ? "1" : "0", id, who.user,
                quiet ? "1" : "0"});
  pending_.push_back({Pending::What::kIgnore, {}, {}, 0});
}

void RedisCluster::members(std::string_view room, uint64_t token) {
  if (!up_) return events_->members_answer(room, token, false, {});
  cmd_.command({"HGETALL", room_presence_key(room)});
  pending_.push_back({Pending::What::kMembers, {}, std::string(room), token});
  const std::string now = std::to_string(unix_ms());
  cmd_.command({"ZRANGEBYSCORE", kNodesKey, now, "+inf"});
  pending_.push_back({Pending::What::kNodes, {}, std::string(room), token});
}

void RedisCluster::answer_members(const Pending& p, const redis::Reply& r) {
  if (p.what == Pending::What::kMembers) {
    // [id, user, id, user, ...]; the live nodes come next.
    std::vector<Present>& all = members_[p.token];
    for (size_t i = 0; i + 1 < r.size(); i += 2) {
      Present who;
      if (!parse_member_id(r[i].str(), &who)) continue;
      who.user = std::string(r[i + 1].str());
      all.push_back(std::move(who));
    }
    return;
  }
  auto it = members_.find(p.token);
  if (it == members_.end()) return;
  std::vector<Present> all = std::move(it->second);
  members_.erase(it);
  if (r.type() != redis::ReplyType::kArray) {
    return events_->members_answer(p.room, p.token, false, {});
  }
  std::vector<uint32_t> live;
  for (size_t i = 0; i < r.size(); ++i) {
    uint32_t node = 0;
    const std::string_view s = r[i].str();
    if (std::from_chars(s.data(), s.data() + s.size(), node).ec == std::errc())
      live.push_back(node);
  }
  std::vector<Present> present;
  std::vector<std::string> ghosts;
  for (Present& who : all) {
    if (std::find(live.begin(), live.end(), who.node) != live.end()) {
      present.push_back(std::move(who));
    } else {
      ghosts.push_back(member_id(who));  // its node died: no ghost stays
    }
  }
  if (!ghosts.empty()) {
    std::vector<std::string_view> argv{"HDEL"};
    const std::string key = room_presence_key(p.room);
    argv.push_back(key);
    for (const std::string& g : ghosts) argv.push_back(g);
    cmd_.command(argv);
    pending_.push_back({Pending::What::kIgnore, {}, {}, 0});
  }
  events_->members_answer(p.room, p.token, true, present);
}

void RedisCluster::tick(uint64_t now_unix_ms) {
  if (!up_ || now_unix_ms < next_beat_ms_) return;
  next_beat_ms_ = now_unix_ms + cfg_.heartbeat_ms;
  const std::string until = std::to_string(now_unix_ms + cfg_.node_ttl_ms),
                    node = std::to_string(cfg_.node), gone = std::to_string(now_unix_ms - 3600000);
  cmd_.command({"ZADD", kNodesKey, until, node});
  pending_.push_back({Pending::What::kIgnore, {}, {}, 0});
  // Nodes gone for an hour leave the set.
  cmd_.command({"ZREMRANGEBYSCORE", kNodesKey, "-inf", gone});
  pending_.push_back({Pending::What::kIgnore, {}, {}, 0});
}

}  // namespace ringchat::chat
