// Rooms across shards: joins and leaves tell the owner shard, publishes go to
// the owner for a sequence number, and the owner sends one deliver record per
// member shard, which queues the shared frame on its local members.
#include <algorithm>
#include <cstring>

#include "ringchat/chat/room_name.h"
#include "ringchat/obs/log.h"
#include "ringchat/ws/frame_encoder.h"
#include "shard_impl.h"

namespace ringchat::chat {

using obs::Metric;

namespace {
unsigned owner_of(std::string_view room, unsigned shards) {
  return shard_for(room_hash(room), shards);
}
}  // namespace

void ShardImpl::join_room(Conn& c, std::string_view room) {
  auto joined = local_rooms_.join(room, slot_of(c));
  if (joined.first) joined.room->owner = owner_of(room, cfg_.shards);
  c.room = joined.room;
  c.member_index = joined.index;
  if (joined.first) tell_owner(MailMsg::Kind::kJoin, room);
  // The handshake answer waits until the owner counts this shard, so a
  // client that has its 101 receives every message published after it.
  c.awaiting_join = !joined.room->confirmed;
}

void ShardImpl::confirm(LocalRoom& room) {
  room.confirmed = true;
  for (uint32_t slot : room.members) {
    Conn& c = conn(slot);
    if (!c.awaiting_join) continue;
    c.awaiting_join = false;
    mark_dirty(c);
  }
}

void ShardImpl::leave_room(Conn& c) {
  if (!c.room) return;
  // The name must outlive the room, which leave() may free.
  std::string name = c.room->name;
  auto left = local_rooms_.leave(c.room, c.member_index);
  if (left.moved_slot != LocalRooms::kNone) conn(left.moved_slot).member_index = c.member_index;
  c.room = nullptr;
  if (left.last) tell_owner(MailMsg::Kind::kLeave, name);
}

void ShardImpl::tell_owner(MailMsg::Kind kind, std::string_view room) {
  const unsigned owner = owner_of(room, cfg_.shards);
  if (owner == id_) {
    if (kind == MailMsg::Kind::kJoin) {
      owned_rooms_.add_shard(room, id_);
      confirm(*local_rooms_.find(room));
    } else {
      owned_rooms_.remove_shard(room, id_);
    }
    metrics_.set(Metric::kRoomsOwned, owned_rooms_.size());
    return;
  }
  outbox_.post(owner, MailMsg{kind, net::Frame::create(0, room)});
}

void ShardImpl::publish(Conn& c, ws::Opcode op, std::span<const std::byte> payload) {
  // Encoded once, here; every member on every shard sends these bytes.
  net::Frame* f = encode_ws_frame(op, payload, c.room->name);
  f->sender_shard = static_cast<uint16_t>(id_);
  f->sender_slot = slot_of(c);
  f->sender_gen = c.gen;
  c.publishing += f->size;
  const unsigned owner = c.room->owner;
  if (owner == id_) {
    sequence(f);
  } else {
    outbox_.post(owner, MailMsg{MailMsg::Kind::kPublish, f});
  }
}

void ShardImpl::sequence(net::Frame* f) {
  OwnedRoom* room = owned_rooms_.find(f->tag());
  if (!room) {
    f->release();  // every member left before the message arrived
    return;
  }
  f->seq = ++room->seq;
  metrics_.add(Metric::kPublishes);
  uint32_t shards = 0;
  for (uint32_t n : room->shard_members) shards += n > 0;
  if (shards == 0) {
    f->release();
    return;
  }
  // We hold the only reference: hand one to each member shard. The ring
  // push (release) publishes the count with the frame.
  f->refs.store(shards, std::memory_order_relaxed);
  for (unsigned s = 0; s < room->shard_members.size(); ++s) {
    if (room->shard_members[s] == 0) continue;
    if (s == id_) {
      deliver(f);
    } else {
      outbox_.post(s, MailMsg{MailMsg::Kind::kDeliver, f});
    }
  }
}

void ShardImpl::deliver(net::Frame* f) {
  if (f->sender_shard == id_ && conn(f->sender_slot).gen == f->sender_gen) {
    // The sender's publish is back from the owner (every member shard of
    // the room gets it, and the sender's shard is one while it is a member).
    Conn& sender = conn(f->sender_slot);
    sender.publishing -= std::min<uint32_t>(sender.publishing, f->size);
  }
  LocalRoom* room = local_rooms_.find(f->tag());
  if (room && !room->confirmed) room = nullptr;
  // --no-echo: the sender, if it is still a member here, is left out.
  auto is_skipped_sender = [&](uint32_t slot) {
    return !cfg_.echo && f->sender_shard == id_ && slot == f->sender_slot &&
           conn(slot).gen == f->sender_gen;
  };
  uint32_t count = 0;
  if (room) {
    count = static_cast<uint32_t>(room->members.size());
    if (is_skipped_sender(f->sender_slot) && conn(f->sender_slot).room == room) --count;
  }
  if (count == 0) {
    f->release();
    return;
  }
  net::LocalFrame* lf = local(f, count);
  // A member over its backlog is not closed here: that would change the
  // member list under this loop (and free the room under sequence()'s).
  // queue() requests the close; settle() carries it out between events.
  for (uint32_t slot : room->members) {
    if (is_skipped_sender(slot)) continue;
    queue(conn(slot), lf);
    metrics_.add(Metric::kWsFramesOut);
  }
}

void ShardImpl::on_mail(unsigned from, const MailMsg& m) {
  metrics_.add(Metric::kMailboxIn);
  switch (m.kind) {
    case MailMsg::Kind::kPublish:
      sequence(m.frame);
      return;
    case MailMsg::Kind::kDeliver:
      deliver(m.frame);
      return;
    case MailMsg::Kind::kJoin:
      owned_rooms_.add_shard(m.frame->tag(), from);
      metrics_.set(Metric::kRoomsOwned, owned_rooms_.size());
      outbox_.post(from, MailMsg{MailMsg::Kind::kJoined, m.frame});  // the name goes back
      return;
    case MailMsg::Kind::kJoined:
      if (LocalRoom* room = local_rooms_.find(m.frame->tag()); room && !room->confirmed) {
        confirm(*room);
      }
      break;
    case MailMsg::Kind::kLeave:
      owned_rooms_.remove_shard(m.frame->tag(), from);
      break;
  }
  if (m.kind == MailMsg::Kind::kLeave) {
    metrics_.set(Metric::kRoomsOwned, owned_rooms_.size());
  }
  m.frame->release();
}

void ShardImpl::drain_mail() {
  // A bounded batch per source per turn keeps one busy peer from starving
  // this shard's own connections.
  constexpr size_t kBatch = 1024;
  for (unsigned from = 0; from < cfg_.shards; ++from) {
    if (from == id_) continue;
    shared_.mail.ring(from, id_).drain(kBatch, [&](const MailMsg& m) {
      on_mail(from, m);
      settle();
    });
  }
}

}  // namespace ringchat::chat
