// Rooms across shards: joins and leaves tell the owner shard, publishes go to
// the owner for a sequence number, and the owner builds the wire bytes once
// and sends one deliver record per member shard.
#include "ringchat/chat/room_service.h"

#include <chrono>
#include <type_traits>

#include "ringchat/chat/room_name.h"
#include "ringchat/core/check.h"
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
      clock_(unix_ms) {}

void RoomService::tick(uint64_t now_ms) {
  owned_.set_now(now_ms);
  if (owned_.sweep() > 0) metrics_.set(obs::Metric::kRoomsOwned, owned_.size());
}

RoomService::Joined RoomService::join(std::string_view room, uint32_t member, uint32_t gen,
                                      Position since) {
  auto joined = local_.join(room, member, gen);
  if (joined.first) {
    joined.room->owner = owner_of(room);
    tell_owner_join(*joined.room);
  }
  auto* q = new HistoryQuery{std::string(room), since, member, gen};
  if (joined.room->owner != shard_) {
    host_.post(joined.room->owner, HistoryReqMsg{q});
    return {{joined.room, joined.index}, false};
  }
  // Answered here and now: the member has its history and is the room's
  // newest member.
  answer(q, shard_);
  LocalRoom* r = local_.find(room);
  RC_DCHECK(r && !r->members.empty() && r->members.back() == member);
  return {{r, static_cast<uint32_t>(r->members.size() - 1)}, true};
}

void RoomService::query(std::string_view room, uint32_t slot, uint32_t gen,
                        std::optional<Position> since, uint32_t limit) {
  auto* q =
      new HistoryQuery{std::string(room), since.value_or(Position{}), slot, gen, false, limit};
  const unsigned owner = owner_of(room);
  if (owner == shard_) return answer(q, shard_);
  host_.post(owner, HistoryReqMsg{q});
}

void RoomService::answer(HistoryQuery* q, unsigned to) {
  RC_DCHECK(owner_of(q->room) == shard_);
  auto* b = new HistoryBatch();
  b->room = std::move(q->room);
  b->slot = q->slot;
  b->gen = q->gen;
  b->member = q->member;
  b->since = q->since;
  const uint32_t limit = q->limit;
  delete q;
  if (const OwnedRoom* room = owned_.find(b->room)) {
    b->epoch = room->epoch;
    b->seq = room->seq;
    const History& h = room->history;
    // Recovered: same epoch, and history reaches back to the first message
    // the client lacks (or it lacks none).
    b->recovered = b->since.epoch == room->epoch && b->since.seq <= room->seq &&
                   (b->since.seq == room->seq || (!h.empty() && h.first_seq() <= b->since.seq + 1));
    uint64_t after = b->recovered ? b->since.seq : 0;
    // A reader without a position gets the newest messages.
    if (!b->member && b->since.epoch == 0 && h.size() > limit) {
      after = h.first_seq() + h.size() - limit - 1;
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
    host_.history_read(b->slot, b->gen, *b);
    delete b;
    return;
  }
  LocalRoom* room = local_.find(b->room);
  if (room) {
    for (uint32_t pos = 0; pos < room->catching_up.size(); ++pos) {
      const auto& c = room->catching_up[pos];
      if (c.slot != b->slot || c.gen != b->gen) continue;
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

RoomService::Joined RoomService::join(std::string_view room, uint32_t member) {
  auto joined = local_.join(room, member);
  if (joined.first) {
    joined.room->owner = owner_of(room);
    tell_owner_join(*joined.room);
  }
  return {{joined.room, joined.index}, joined.room->confirmed};
}

void RoomService::tell_owner_join(LocalRoom& room) {
  if (room.owner == shard_) {
    count_shard(room.name, shard_);
    room.confirmed = true;  // the caller learns it from join()'s answer
    return;
  }
  room.join_token = ++next_token_;
  host_.post(room.owner, JoinMsg{net::SharedBuf::copy_of(room.name), room.join_token});
}

void RoomService::count_shard(std::string_view room, unsigned shard) {
  RC_DCHECK(owner_of(room) == shard_);
  owned_.add_shard(room, shard);
  metrics_.set(obs::Metric::kRoomsOwned, owned_.size());
}

void RoomService::uncount_shard(std::string_view room, unsigned shard) {
  RC_DCHECK(owner_of(room) == shard_);
  owned_.remove_shard(room, shard);
  metrics_.set(obs::Metric::kRoomsOwned, owned_.size());
}

void RoomService::leave(Membership m) {
  RC_CHECK(m.room != nullptr);
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
  // A room nobody is in (every member left before the message arrived, or
  // an HTTP publish) is sequenced too and keeps the message in its history.
  const size_t rooms = owned_.size();
  OwnedRoom& room = owned_.get(m.room());
  if (owned_.size() != rooms) metrics_.set(obs::Metric::kRoomsOwned, owned_.size());
  const uint64_t seq = ++room.seq;
  metrics_.add(obs::Metric::kPublishes);
  Sequenced* msg =
      Sequenced::create(m.body, m.room_len, m.kind, m.from(), room.epoch, seq, clock_());
  // Built once, here, after sequencing: every member on every shard sends
  // these bytes, and so does every resume from the history.
  msg->set_wire(Format::kRawWs, encode(Format::kRawWs, msg->message()));
  uint32_t shards = 0;
  for (uint32_t n : room.shard_members) shards += n > 0;
  // We hold the only reference: one for each member shard and one for the
  // history. The ring push (release) publishes the count with the record.
  msg->share(shards + 1);
  owned_.remember(room, msg);
  for (unsigned s = 0; s < room.shard_members.size(); ++s) {
    if (room.shard_members[s] == 0) continue;
    if (s == shard_) {
      deliver(*msg);
    } else {
      host_.post(s, DeliverMsg{msg});
    }
  }
  if (m.ack) {
    if (m.shard == shard_) {
      host_.acked(m.slot, m.gen, room.epoch, seq);
    } else {
      host_.post(m.shard, AckMsg{m.slot, m.gen, room.epoch, seq});
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
          count_shard(m.room->view(), from);
          host_.post(from, JoinedMsg{m.room, m.token});  // the name goes back with it
        } else if constexpr (std::is_same_v<T, AckMsg>) {
          host_.acked(m.slot, m.gen, m.epoch, m.seq);
        } else if constexpr (std::is_same_v<T, HistoryReqMsg>) {
          answer(m.query, from);
        } else if constexpr (std::is_same_v<T, HistoryMsg>) {
          on_history(m.batch);
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

}  // namespace ringchat::chat
