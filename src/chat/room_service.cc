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
                         uint64_t seed)
    : shard_(shard),
      shards_(shards),
      host_(host),
      metrics_(metrics),
      owned_(shards, seed),
      clock_(unix_ms) {}

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
  if (m.room->members.size() == 1) name = net::SharedBuf::copy_of(m.room->name);
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
  // an HTTP publish) is sequenced too, in an epoch of its own: there is no
  // history yet, so nothing can resume into it.
  OwnedRoom& room = owned_.get(m.room());
  const uint64_t seq = ++room.seq;
  const uint64_t epoch = room.epoch;
  metrics_.add(obs::Metric::kPublishes);
  fan_out(m, room);
  if (m.ack) {
    if (m.shard == shard_) {
      host_.acked(m.slot, m.gen, epoch, seq);
    } else {
      host_.post(m.shard, AckMsg{m.slot, m.gen, epoch, seq});
    }
  }
}

void RoomService::fan_out(const PublishMsg& m, OwnedRoom& room) {
  uint32_t shards = 0;
  for (uint32_t n : room.shard_members) shards += n > 0;
  if (shards == 0) {
    const std::string name = room.name;  // forgotten: `room` and m.room() go
    m.body->release();
    owned_.forget_if_empty(name);
    metrics_.set(obs::Metric::kRoomsOwned, owned_.size());
    return;
  }
  Sequenced* msg =
      Sequenced::create(m.body, m.room_len, m.opcode, m.from(), room.epoch, room.seq, clock_());
  // Built once, here, after sequencing: every member on every shard sends
  // these bytes.
  msg->set_wire(Format::kRawWs, encode(Format::kRawWs, msg->message()));
  // We hold the only reference: one for each member shard. The ring push
  // (release) publishes the count with the record.
  msg->share(shards);
  for (unsigned s = 0; s < room.shard_members.size(); ++s) {
    if (room.shard_members[s] == 0) continue;
    if (s == shard_) {
      deliver(*msg);
    } else {
      host_.post(s, DeliverMsg{msg});
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
