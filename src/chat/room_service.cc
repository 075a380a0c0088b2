// Rooms across shards: joins and leaves tell the owner shard, publishes go to
// the owner for a sequence number, and the owner builds the wire bytes once
// and sends one deliver record per member shard.
#include "ringchat/chat/room_service.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <type_traits>

#include "ringchat/chat/room_name.h"
#include "ringchat/core/check.h"
#include "ringchat/ws/frame_encoder.h"
#include "wire.h"

namespace ringchat::chat {

namespace {
uint64_t unix_ms() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}
}  // namespace

RoomService::RoomService(unsigned shard, unsigned shards, Host& host, obs::ShardMetrics& metrics,
                         uint64_t seed, const HistoryConfig& history)
    : shard_(shard),
      shards_(shards),
      host_(host),
      metrics_(metrics),
      owned_(shards, seed, history),
      clock_(unix_ms),
      presence_events_max_(history.presence_events_max),
      sync_limit_(
          static_cast<uint32_t>(std::min<size_t>(history.per_room.max_messages, UINT32_MAX))) {}

RoomService::~RoomService() {
  for (auto& [token, f] : fetches_) delete f.query;  // never answered (shutdown)
}

void RoomService::tick(uint64_t now_ms) {
  owned_.set_now(now_ms);
  std::vector<std::string> gone;
  if (owned_.sweep(cluster_ ? &gone : nullptr) > 0) {
    metrics_.set(obs::Metric::kRoomsOwned, owned_.size());
  }
  for (const std::string& name : gone) cluster_->unwatch(name);
  metrics_.set(obs::Metric::kHistoryBytes, owned_.history_bytes());
}

RoomService::Joined RoomService::join(std::string_view room, uint32_t member, uint32_t gen,
                                      Format format, Position since, uint32_t limit) {
  const uint32_t token = ++next_token_;
  auto joined = local_.join(room, member, LocalRoom::CatchingUp{member, gen, token});
  if (joined.first) {
    joined.room->owner = owner_of(room);
    tell_owner_join(*joined.room);
  }
  want(*joined.room, format);
  report(*joined.room, {member, gen, static_cast<uint16_t>(shard_)}, true);
  auto* q = new HistoryQuery{std::string(room), since, member, gen, true, token, limit};
  if (joined.room->owner != shard_) {
    host_.post(joined.room->owner, HistoryReqMsg{q});
    return {{joined.room, joined.index}, false};
  }
  answer(q, shard_);
  LocalRoom* r = local_.find(room);
  RC_DCHECK(r != nullptr);
  const uint32_t pos = joined.index & ~LocalRooms::kCatchingUp;
  if (pos < r->catching_up.size() && r->catching_up[pos].slot == member &&
      r->catching_up[pos].token == token) {
    // Parked (cluster mode: the room is not in step yet): the answer comes
    // later, through Host::history().
    return {{r, joined.index}, false};
  }
  // Answered here and now: the member has its history and is the room's
  // newest member.
  RC_DCHECK(!r->members.empty() && r->members.back() == member);
  return {{r, static_cast<uint32_t>(r->members.size() - 1)}, true};
}

void RoomService::query(std::string_view room, uint32_t slot, uint32_t token,
                        std::optional<Position> since, uint32_t limit, uint64_t before) {
  ask(new HistoryQuery{std::string(room), since.value_or(Position{}), slot, 0, false, token, limit,
                       before},
      owner_of(room));
}

void RoomService::presence(std::string_view room, uint32_t slot, uint32_t token) {
  ask(
      new HistoryQuery{
          std::string(room), {}, slot, 0, false, token, 0, 0, HistoryQuery::What::kPresence},
      owner_of(room));
}

void RoomService::rooms(std::string_view after, uint32_t limit, uint32_t slot, uint32_t token) {
  for (unsigned s = 0; s < shards_; ++s) {
    ask(
        new HistoryQuery{
            std::string(after), {}, slot, 0, false, token, limit, 0, HistoryQuery::What::kRooms},
        s);
  }
}

void RoomService::ask(HistoryQuery* q, unsigned shard) {
  if (shard == shard_) return answer(q, shard_);
  host_.post(shard, HistoryReqMsg{q});
}

void RoomService::answer(HistoryQuery* q, unsigned to) {
  if (cluster_ && q->what != HistoryQuery::What::kRooms) {
    // Only a room in step answers; a resume older than the cache asks the
    // authority for the rest.
    const size_t rooms = owned_.size();
    OwnedRoom& room = owned_.get(q->room);
    if (owned_.size() != rooms) metrics_.set(obs::Metric::kRoomsOwned, owned_.size());
    watch(room);
    if (room.follow != OwnedRoom::Follow::kLive) {
      room.parked.push_back({to, 0, q});
      return;
    }
    if (q->what == HistoryQuery::What::kPresence && cluster_->up()) {
      // Every node's members: Redis keeps them.
      const uint64_t token = ++next_fetch_;
      fetches_.emplace(token, Fetch{room.name, q, to});
      return cluster_->members(room.name, token);
    }
    const History& h = room.history;
    const uint64_t first = h.empty() ? room.seq + 1 : h.first_seq();
    if (q->what == HistoryQuery::What::kHistory && q->since.epoch == room.epoch &&
        q->since.seq + 1 < first && cluster_->up()) {
      const uint64_t token = ++next_fetch_;
      fetches_.emplace(token, Fetch{room.name, q, to});
      cluster_->fetch(room.name, q->since.seq, first - 1, token);
      return;
    }
  }
  reply(q, to);
}

void RoomService::reply(HistoryQuery* q, unsigned to, std::span<Sequenced* const> older,
                        const std::vector<Present>* present) {
  auto* b = new HistoryBatch();
  b->room = std::move(q->room);
  b->slot = q->slot;
  b->gen = q->gen;
  b->member = q->member;
  b->token = q->token;
  b->what = q->what;
  b->since = q->since;
  uint64_t limit = q->limit;
  const uint64_t before = q->before;
  delete q;
  const OwnedRoom* room = nullptr;
  if (b->what == HistoryQuery::What::kRooms) {
    owned_.each([&](const OwnedRoom& r) {
      if (r.name > b->room) b->rooms.push_back({r.name, r.present.size()});
    });
    std::sort(b->rooms.begin(), b->rooms.end(),
              [](const auto& x, const auto& y) { return x.name < y.name; });
    if (b->rooms.size() > limit) b->rooms.resize(limit);
  } else {
    RC_DCHECK(owner_of(b->room) == shard_);
    room = owned_.find(b->room);
  }
  if (room && b->what == HistoryQuery::What::kPresence) {
    b->epoch = room->epoch;
    b->seq = room->seq;
    if (present) {
      b->present = *present;
    } else {
      b->present.reserve(room->present.size());
      for (const auto& [who, user] : room->present) {
        b->present.push_back({who, user, cluster_ ? node_ : 0});
      }
    }
  } else if (room && b->what == HistoryQuery::What::kHistory) {
    b->epoch = room->epoch;
    b->seq = room->seq;
    const History& h = room->history;
    // What reaches back furthest: the history, or what was fetched before it.
    uint64_t reach = h.empty() ? room->seq + 1 : h.first_seq();
    if (!older.empty()) reach = std::min(reach, older.front()->seq());
    // Recovered: same epoch, and history reaches back to the first message
    // the client lacks (or it lacks none).
    b->recovered = b->since.epoch == room->epoch && b->since.seq <= room->seq &&
                   (b->since.seq == room->seq || reach <= b->since.seq + 1);
    uint64_t after = b->recovered ? b->since.seq : 0;
    for (Sequenced* m : older) {
      if (m->seq() <= after || b->msgs.size() >= limit) continue;
      m->retain();
      b->msgs.push_back(m);
      after = m->seq();
    }
    limit -= b->msgs.size();
    // A reader without a position gets the newest messages (before `before`).
    if (!b->member && b->since.epoch == 0 && !h.empty()) {
      const uint64_t end = before == 0 ? room->seq + 1 : std::min(before, room->seq + 1);
      const uint64_t first = std::max(end > limit ? end - limit : 0, h.first_seq());
      after = first - 1;
      limit = end > first ? std::min(limit, end - first) : 0;
    }
    h.each_after(after, limit, [&](Sequenced& m) {
      m.retain();
      b->msgs.push_back(&m);
    });
  }
  if (to == shard_) {
    on_history(b);
  } else {
    host_.post(to, HistoryMsg{b});
  }
}

void RoomService::on_history(HistoryBatch* b) {
  if (!b->member) {
    host_.answered(b->slot, b->token, *b);
    delete b;
    return;
  }
  LocalRoom* room = local_.find(b->room);
  if (room) {
    for (uint32_t pos = 0; pos < room->catching_up.size(); ++pos) {
      const auto& c = room->catching_up[pos];
      if (c.slot != b->slot || c.gen != b->gen || c.token != b->token) continue;
      host_.history(b->slot, *b);
      auto admitted = local_.admit(room, pos);
      if (admitted.moved_slot != LocalRooms::kNone) {
        host_.moved(admitted.moved_slot, room, LocalRooms::kCatchingUp | pos);
      }
      host_.moved(b->slot, room, admitted.index);
      break;
    }
  }
  delete b;  // the member left meanwhile, or has what it needs
}

unsigned RoomService::owner_of(std::string_view room) const {
  return shard_for(room_hash(room), shards_);
}

RoomService::Joined RoomService::join(std::string_view room, uint32_t member, uint32_t gen,
                                      Format format) {
  auto joined = local_.join(room, member);
  if (joined.first) {
    joined.room->owner = owner_of(room);
    tell_owner_join(*joined.room);
  }
  want(*joined.room, format);
  report(*joined.room, {member, gen, static_cast<uint16_t>(shard_)}, true);
  return {{joined.room, joined.index}, joined.room->confirmed};
}

void RoomService::want(LocalRoom& room, Format format) {
  const uint8_t bit = format_bit(format);
  if (room.formats & bit) return;
  room.formats |= bit;
  if (room.owner != shard_) {
    // After the JoinMsg: the owner knows the room when this arrives.
    return host_.post(room.owner, WantMsg{net::SharedBuf::copy_of(room.name), room.formats});
  }
  if (OwnedRoom* owned = owned_.find(room.name)) owned->formats |= room.formats;
}

void RoomService::tell_owner_join(LocalRoom& room) {
  if (room.owner == shard_) {
    OwnedRoom& owned = count_shard(room.name, shard_);
    if (owned.follow == OwnedRoom::Follow::kSyncing) {
      // Confirmed (Host::confirmed) once the room is in step.
      room.join_token = ++next_token_;
      owned.parked.push_back({shard_, room.join_token, nullptr});
      return;
    }
    room.confirmed = true;  // the caller learns it from join()'s answer
    return;
  }
  room.join_token = ++next_token_;
  host_.post(room.owner, JoinMsg{net::SharedBuf::copy_of(room.name), room.join_token});
}

OwnedRoom& RoomService::count_shard(std::string_view room, unsigned shard) {
  RC_DCHECK(owner_of(room) == shard_);
  OwnedRoom& owned = owned_.add_shard(room, shard);
  metrics_.set(obs::Metric::kRoomsOwned, owned_.size());
  watch(owned);
  return owned;
}

void RoomService::confirm(const OwnedRoom& room, unsigned shard, uint32_t token) {
  if (shard == shard_) return on_joined(room.name, token);
  host_.post(shard, JoinedMsg{net::SharedBuf::copy_of(room.name), token});
}

void RoomService::uncount_shard(std::string_view room, unsigned shard) {
  RC_DCHECK(owner_of(room) == shard_);
  owned_.remove_shard(room, shard);
  metrics_.set(obs::Metric::kRoomsOwned, owned_.size());
}

void RoomService::report(const LocalRoom& room, Sender who, bool here) {
  const std::string_view user = here ? host_.user_of(who.slot) : std::string_view{};
  if (room.owner == shard_) return on_member(room.name, who, here, user);
  RC_DCHECK(user.size() <= UINT8_MAX);
  net::SharedBuf* body = net::SharedBuf::create(room.name.size() + user.size());
  std::memcpy(body->data(), room.name.data(), room.name.size());
  if (!user.empty()) std::memcpy(body->data() + room.name.size(), user.data(), user.size());
  host_.post(room.owner, MemberMsg{body, who, here, static_cast<uint8_t>(room.name.size()),
                                   static_cast<uint8_t>(user.size())});
}

void RoomService::on_member(std::string_view name, Sender who, bool here, std::string_view user) {
  OwnedRoom* room = owned_.find(name);
  if (!room) return;
  const size_t before = room->present.size();
  std::string shown;  // the member's user, in its event
  if (here) {
    // Present already: the member's user changed (renamed()).
    auto [it, added] = room->present.try_emplace(who, user);
    if (!added && it->second == user) return;
    it->second = user;
    shown = user;
  } else {
    auto it = room->present.find(who);
    if (it == room->present.end()) return;
    shown = std::move(it->second);
    room->present.erase(it);
  }
  const Present member{who, shown, cluster_ ? node_ : 0};
  // Cluster mode: every node's members hear it from the broadcast (this
  // node's too, presence_event()), and Redis keeps the room's members.
  if (cluster_) return cluster_->member(room->name, member, here, false);
  // Rooms up to --presence-events-max members hear who comes and goes (a
  // leave counts the room as it was): an event, not a message of the
  // room's sequence, in order with its messages.
  if (std::max(before, room->present.size()) > presence_events_max_) return;
  announce(*room, member, here);
}

void RoomService::announce(const OwnedRoom& room, const Present& who, bool here) {
  std::string event = here ? R"({"type":"join","room":)" : R"({"type":"leave","room":)";
  append_json_string(event, room.name);
  event += R"(,"member":)";
  append_member(event, who);
  event += '}';
  // A member hears no event about itself: deliver_event compares its
  // connection, and node.
  Sequenced* msg =
      Sequenced::create(net::SharedBuf::copy_of(room.name), static_cast<uint16_t>(room.name.size()),
                        Kind::kJson, who.who, room.epoch, 0, clock_());
  msg->set_node(who.node);
  msg->set_wire(Format::kJsonWs, ws::make_server_frame(ws::Opcode::kText, ws::as_bytes(event)));
  fan_out(room, msg, 0);
}

void RoomService::fan_out(const OwnedRoom& room, Sequenced* msg, uint32_t extra) {
  uint32_t shards = 0;
  for (uint32_t n : room.shard_members) shards += n > 0;
  // We hold the only reference: one for each member shard, and the
  // caller's. The ring push (release) publishes the count with the record.
  if (shards + extra == 0) return msg->release();  // nobody takes it
  msg->share(shards + extra);
  for (unsigned s = 0; s < room.shard_members.size(); ++s) {
    if (room.shard_members[s] == 0) continue;
    if (s == shard_) {
      deliver(*msg);
    } else {
      host_.post(s, DeliverMsg{msg});
    }
  }
}

uint32_t RoomService::slot_of(Membership m) {
  RC_CHECK(m.room != nullptr);
  return m.index & LocalRooms::kCatchingUp
             ? m.room->catching_up[m.index & ~LocalRooms::kCatchingUp].slot
             : m.room->members[m.index];
}

void RoomService::renamed(Membership m, uint32_t gen) {
  report(*m.room, {slot_of(m), gen, static_cast<uint16_t>(shard_)}, true);
}

void RoomService::leave(Membership m, uint32_t gen) {
  report(*m.room, {slot_of(m), gen, static_cast<uint16_t>(shard_)}, false);
  const unsigned owner = m.room->owner;
  // The name must outlive the room, which leave() may free.
  net::SharedBuf* name = nullptr;
  if (m.room->members.size() + m.room->catching_up.size() == 1) {
    name = net::SharedBuf::copy_of(m.room->name);
  }
  auto left = local_.leave(m.room, m.index);
  if (left.moved_slot != LocalRooms::kNone) host_.moved(left.moved_slot, m.room, m.index);
  if (!left.last) return;
  RC_DCHECK(name != nullptr);
  if (owner == shard_) {
    uncount_shard(name->view(), shard_);
    name->release();
  } else {
    host_.post(owner, LeaveMsg{name});
  }
}

void RoomService::publish(const PublishMsg& m) {
  const unsigned owner = owner_of(m.room());
  if (owner == shard_) {
    sequence(m);
  } else {
    host_.post(owner, m);
  }
}

void RoomService::sequence(const PublishMsg& m) {
  RC_DCHECK(owner_of(m.room()) == shard_);
  if (cluster_) return cluster_->publish(m);  // the authority sequences
  // A room nobody is in (every member left before the message arrived, or
  // an HTTP publish) is sequenced too and keeps the message in its history.
  const size_t rooms = owned_.size();
  OwnedRoom& room = owned_.get(m.room());
  if (owned_.size() != rooms) metrics_.set(obs::Metric::kRoomsOwned, owned_.size());
  const uint64_t seq = ++room.seq;
  metrics_.add(obs::Metric::kPublishes);
  Sequenced* msg = Sequenced::create(m.body, m.room_len, m.kind, m.from(), room.epoch, seq,
                                     clock_(), m.user_len);
  // Built once, here, after sequencing: every member on every shard sends
  // these bytes, and so does every resume from the history.
  for (size_t f = 0; f < kFormats; ++f) {
    const auto format = static_cast<Format>(f);
    if (room.formats & format_bit(format)) msg->set_wire(format, encode(format, msg->message()));
  }
  fan_out(room, msg, 1);  // and one reference for the history
  owned_.remember(room, msg);
  if (m.ack) {
    if (m.shard == shard_) {
      host_.acked(m.slot, m.ack, room.epoch, seq);
    } else {
      host_.post(m.shard, AckMsg{m.slot, m.ack, room.epoch, seq});
    }
  }
}

void RoomService::deliver(Sequenced& msg) {
  LocalRoom* room = local_.find(msg.room());
  // Unconfirmed: the message was sequenced for an earlier membership of
  // this shard, before the owner counted the new one.
  if (room && room->confirmed) {
    host_.deliver(room->members, msg);
  } else {
    host_.deliver({}, msg);
  }
  msg.release();
}

void RoomService::on_joined(std::string_view name, uint32_t token) {
  LocalRoom* room = local_.find(name);
  // Every member left meanwhile, and maybe came back: that join waits for
  // its own answer.
  if (!room || room->confirmed || room->join_token != token) return;
  room->confirmed = true;
  host_.confirmed(room->members);
}

void RoomService::on_mail(unsigned from, const MailMsg& mail) {
  std::visit(
      [&](const auto& m) {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, PublishMsg>) {
          sequence(m);
        } else if constexpr (std::is_same_v<T, DeliverMsg>) {
          deliver(*m.msg);
        } else if constexpr (std::is_same_v<T, JoinMsg>) {
          OwnedRoom& room = count_shard(m.room->view(), from);
          if (room.follow == OwnedRoom::Follow::kSyncing) {
            room.parked.push_back({from, m.token, nullptr});
            m.room->release();
          } else {
            host_.post(from, JoinedMsg{m.room, m.token});  // the name goes back with it
          }
        } else if constexpr (std::is_same_v<T, AckMsg>) {
          host_.acked(m.slot, m.token, m.epoch, m.seq);
        } else if constexpr (std::is_same_v<T, RefusedMsg>) {
          host_.refused(m.slot, m.gen, m.token, m.maybe_applied);
        } else if constexpr (std::is_same_v<T, HistoryReqMsg>) {
          answer(m.query, from);
        } else if constexpr (std::is_same_v<T, HistoryMsg>) {
          on_history(m.batch);
        } else if constexpr (std::is_same_v<T, MemberMsg>) {
          on_member(m.room(), m.who, m.here, m.user());
          m.body->release();
        } else if constexpr (std::is_same_v<T, WantMsg>) {
          if (OwnedRoom* owned = owned_.find(m.room->view())) owned->formats |= m.formats;
          m.room->release();
        } else if constexpr (std::is_same_v<T, JoinedMsg>) {
          on_joined(m.room->view(), m.token);
          m.room->release();
        } else {
          static_assert(std::is_same_v<T, LeaveMsg>);
          uncount_shard(m.room->view(), from);
          m.room->release();
        }
      },
      mail);
}

// Cluster mode: following the authority's order.

void RoomService::watch(OwnedRoom& room) {
  if (!cluster_ || room.follow != OwnedRoom::Follow::kLocal) return;
  room.follow = OwnedRoom::Follow::kSyncing;
  // Down: cluster_up() watches it.
  if (cluster_->up()) cluster_->watch(room.name, 0, 0, sync_limit_);
}

void RoomService::cluster_up() {
  owned_.each([&](OwnedRoom& room) {
    if (room.follow == OwnedRoom::Follow::kLocal) return;
    // Its members here, again (Redis may have lost them, or changes were
    // refused while it was away), without events.
    for (const auto& [who, user] : room.present) {
      cluster_->member(room.name, {who, user, node_}, true, true);
    }
    rewatch(room);
  });
}

void RoomService::watch_lost(std::string_view name) {
  OwnedRoom* room = owned_.find(name);
  if (room && cluster_->up()) rewatch(*room);
}

void RoomService::rewatch(OwnedRoom& room) {
  if (room.follow == OwnedRoom::Follow::kLocal) return;
  // Until the answer, joins and questions wait; broadcasts wait in `ahead`.
  room.follow = OwnedRoom::Follow::kSyncing;
  if (room.was_live) {
    metrics_.add(obs::Metric::kClusterResyncs);
    cluster_->watch(room.name, room.epoch, room.seq, sync_limit_);
  } else {
    cluster_->watch(room.name, 0, 0, sync_limit_);
  }
}

void RoomService::cluster_down() {
  // Rooms in step stay so (their members keep what they have, and the
  // history answers resumes) until the resync after cluster_up(). The
  // fetches out were answered (not ok) by the cluster.
  owned_.each([](OwnedRoom& room) { room.filling = false; });
}

void RoomService::published(const Publisher& p, uint64_t epoch, uint64_t seq) {
  metrics_.add(obs::Metric::kPublishes);
  if (!p.ack) return;
  if (p.from.shard == shard_) return host_.acked(p.from.slot, p.ack, epoch, seq);
  host_.post(p.from.shard, AckMsg{p.from.slot, p.ack, epoch, seq});
}

void RoomService::refused(const Publisher& p, bool maybe_applied) {
  metrics_.add(obs::Metric::kPublishesRefused);
  if (p.from.shard == shard_) {
    return host_.refused(p.from.slot, p.from.gen, p.ack, maybe_applied);
  }
  host_.post(p.from.shard, RefusedMsg{p.from.slot, p.from.gen, p.ack, maybe_applied});
}

Sequenced* RoomService::make(std::string_view room, const ClusterRecord& r) {
  const size_t size = room.size() + r.user.size() + r.payload.size();
  net::SharedBuf* body = net::SharedBuf::create(size);
  std::byte* out = body->data();
  std::memcpy(out, room.data(), room.size());
  if (!r.user.empty()) std::memcpy(out + room.size(), r.user.data(), r.user.size());
  if (!r.payload.empty()) {
    std::memcpy(out + room.size() + r.user.size(), r.payload.data(), r.payload.size());
  }
  Sequenced* msg = Sequenced::create(body, static_cast<uint16_t>(room.size()), r.kind, r.from,
                                     r.epoch, r.seq, r.ts_ms, static_cast<uint8_t>(r.user.size()));
  msg->set_node(r.node);
  return msg;
}

void RoomService::message(std::string_view name, const ClusterRecord& r) {
  OwnedRoom* room = owned_.find(name);
  // Not watched (any more): a broadcast that crossed the unwatch.
  if (!room || room->follow == OwnedRoom::Follow::kLocal || r.seq == 0) return;
  Sequenced* m = make(name, r);
  if (room->follow == OwnedRoom::Follow::kSyncing) {
    // After the sync's answer, in order with what it brings.
    auto [it, added] = room->ahead.emplace(r.seq, m);
    if (!added) m->release();
    return;
  }
  advance(*room, m);
}

void RoomService::restart(OwnedRoom& room, uint64_t epoch) {
  owned_.clear_history(room);
  room.epoch = epoch;
  room.seq = 0;
  for (auto it = room.ahead.begin(); it != room.ahead.end();) {
    if (it->second->message().epoch == epoch) {
      ++it;
    } else {
      it->second->release();
      it = room.ahead.erase(it);
    }
  }
}

void RoomService::advance(OwnedRoom& room, Sequenced* m) {
  // The authority lost the room (an empty restart): its first message under
  // the new epoch starts it again.
  if (m->message().epoch != room.epoch) restart(room, m->message().epoch);
  if (m->seq() <= room.seq) return m->release();  // had it (a sync brought it)
  if (m->seq() > room.seq + 1) {
    auto [it, added] = room.ahead.emplace(m->seq(), m);
    if (!added) m->release();
    return fill(room);
  }
  emit(room, m);
  drain_ahead(room);
}

void RoomService::emit(OwnedRoom& room, Sequenced* m) {
  RC_DCHECK(m->seq() == room.seq + 1);
  room.seq = m->seq();
  for (size_t f = 0; f < kFormats; ++f) {
    const auto format = static_cast<Format>(f);
    if (room.formats & format_bit(format)) m->set_wire(format, encode(format, m->message()));
  }
  fan_out(room, m, 1);  // and one reference for the history
  owned_.remember(room, m);
}

void RoomService::drain_ahead(OwnedRoom& room) {
  while (!room.ahead.empty()) {
    auto it = room.ahead.begin();
    if (it->first > room.seq + 1) return fill(room);
    Sequenced* m = it->second;
    room.ahead.erase(it);
    if (m->seq() <= room.seq) {
      m->release();
    } else {
      emit(room, m);
    }
  }
}

void RoomService::fill(OwnedRoom& room) {
  if (room.filling || room.ahead.empty() || !cluster_->up()) return;
  room.filling = true;
  metrics_.add(obs::Metric::kClusterGapFills);
  const uint64_t token = ++next_fetch_;
  fetches_.emplace(token, Fetch{room.name, nullptr, 0});
  cluster_->fetch(room.name, room.seq, room.ahead.begin()->first - 1, token);
}

void RoomService::synced(std::string_view name, uint64_t epoch, uint64_t seq,
                         std::span<const ClusterRecord> msgs) {
  OwnedRoom* room = owned_.find(name);
  if (!room || room->follow != OwnedRoom::Follow::kSyncing) return;
  // A resync in the same epoch delivers what the room missed; a first sync
  // (or a new epoch) only keeps the room's past as its history.
  const bool resync = room->was_live && epoch == room->epoch;
  if (epoch != room->epoch) restart(*room, epoch);
  for (const ClusterRecord& r : msgs) {
    if (r.epoch != epoch || r.seq <= room->seq) continue;
    Sequenced* m = make(name, r);
    if (resync) {
      room->seq = r.seq - 1;  // past what history no longer holds
      emit(*room, m);
    } else {
      room->seq = r.seq;
      owned_.remember(*room, m);
    }
  }
  room->seq = std::max(room->seq, seq);
  room->follow = OwnedRoom::Follow::kLive;
  room->was_live = true;
  drain_ahead(*room);
  unpark(*room);
}

void RoomService::unpark(OwnedRoom& room) {
  const std::vector<OwnedRoom::Parked> parked = std::move(room.parked);
  room.parked.clear();
  for (const OwnedRoom::Parked& p : parked) {
    if (p.query) {
      answer(p.query, p.shard);
    } else {
      confirm(room, p.shard, p.token);
    }
  }
}

void RoomService::fetched(std::string_view name, uint64_t token, bool ok,
                          std::span<const ClusterRecord> msgs) {
  auto it = fetches_.find(token);
  if (it == fetches_.end()) return;
  const Fetch f = std::move(it->second);
  fetches_.erase(it);
  OwnedRoom* room = owned_.find(name);
  if (f.query) {
    // A resume older than the cache: what the authority has, then the cache.
    std::vector<Sequenced*> older;
    for (const ClusterRecord& r : msgs) {
      if (ok && room && r.epoch == room->epoch && r.seq <= room->seq)
        older.push_back(make(name, r));
    }
    reply(f.query, f.to, older);
    for (Sequenced* m : older) m->release();
    return;
  }
  if (!room) return;
  room->filling = false;
  if (!ok) return;  // down: the resync after cluster_up() fills it
  for (const ClusterRecord& r : msgs) {
    if (r.epoch != room->epoch || r.seq != room->seq + 1) continue;
    emit(*room, make(name, r));
  }
  // What history no longer holds is skipped: members see the gap.
  if (!room->ahead.empty() && room->ahead.begin()->first > room->seq + 1) {
    room->seq = room->ahead.begin()->first - 1;
  }
  drain_ahead(*room);
}

void RoomService::presence_event(std::string_view name, const Present& who, bool here,
                                 size_t count) {
  OwnedRoom* room = owned_.find(name);
  if (!room || room->follow == OwnedRoom::Follow::kLocal) return;
  // As in single-node mode, a leave counts the room as it was.
  if (count + (here ? 0 : 1) > presence_events_max_) return;
  announce(*room, who, here);
}

void RoomService::members_answer(std::string_view /*room*/, uint64_t token, bool ok,
                                 std::span<const Present> present) {
  auto it = fetches_.find(token);
  if (it == fetches_.end()) return;
  const Fetch f = std::move(it->second);
  fetches_.erase(it);
  if (!ok) return reply(f.query, f.to);  // this node's members, better than none
  const std::vector<Present> all(present.begin(), present.end());
  reply(f.query, f.to, {}, &all);
}

}  // namespace ringchat::chat
