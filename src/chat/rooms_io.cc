// The shard as the room service's host: a raw room socket's membership and
// publishes, and the fan-out of sequenced messages to local members.
#include <algorithm>
#include <cstring>

#include "ringchat/obs/log.h"
#include "shard_impl.h"

namespace ringchat::chat {

using obs::Metric;

void ShardImpl::join_room(Conn& c, std::string_view room) {
  auto joined = rooms_.join(room, slot_of(c));
  c.membership = joined.membership;
  // The handshake answer waits until the owner counts this shard, so a
  // client that has its 101 receives every message published after it.
  c.awaiting_join = !joined.confirmed;
}

void ShardImpl::confirmed(std::span<const uint32_t> members) {
  for (uint32_t slot : members) {
    Conn& c = conn(slot);
    if (!c.awaiting_join) continue;
    c.awaiting_join = false;
    mark_dirty(c);
  }
}

void ShardImpl::moved(uint32_t member, const LocalRoom* room, uint32_t index) {
  Conn& c = conn(member);
  RC_DCHECK(c.membership.room == room);
  c.membership.index = index;
}

void ShardImpl::leave_room(Conn& c) {
  if (!c.membership.room) return;
  rooms_.leave(std::exchange(c.membership, {}));
}

void ShardImpl::publish(Conn& c, ws::Opcode op, std::span<const std::byte> payload) {
  const std::string& room = c.membership.room->name;
  net::SharedBuf* body = net::SharedBuf::create(room.size() + payload.size());
  std::memcpy(body->data(), room.data(), room.size());
  if (!payload.empty()) std::memcpy(body->data() + room.size(), payload.data(), payload.size());
  c.publishing += static_cast<uint32_t>(payload.size());
  rooms_.publish(PublishMsg{body, slot_of(c), c.gen, static_cast<uint16_t>(id_),
                            static_cast<uint16_t>(room.size()), op});
}

void ShardImpl::deliver(std::span<const uint32_t> members, const Sequenced& msg) {
  const Sender& from = msg.from();
  const bool from_here = from.shard == id_ && conn(from.slot).gen == from.gen;
  if (from_here) {
    // The sender's publish is back from the owner (every member shard of
    // the room gets it, and the sender's shard is one while it is a member).
    Conn& sender = conn(from.slot);
    sender.publishing -=
        std::min<uint32_t>(sender.publishing, static_cast<uint32_t>(msg.payload_size()));
  }
  // --no-echo: the sender, if it is one of these members, is left out.
  const bool skip_sender = !cfg_.echo && from_here &&
                           std::find(members.begin(), members.end(), from.slot) != members.end();
  const auto count = static_cast<uint32_t>(members.size() - (skip_sender ? 1 : 0));
  if (count == 0) return;
  net::SharedBuf* raw = msg.wire(Format::kRawWs);
  raw->refs.fetch_add(1, std::memory_order_relaxed);  // this shard's, shared by its members
  net::LocalBuf* lb = local(raw, count);
  // A member over its backlog is not closed here: that would change the
  // member list under this loop. queue() requests the close; settle()
  // carries it out between events.
  for (uint32_t slot : members) {
    if (skip_sender && slot == from.slot) continue;
    queue(conn(slot), lb);
    metrics_.add(Metric::kWsFramesOut);
  }
}

void ShardImpl::drain_mail() {
  // A bounded batch per source per turn keeps one busy peer from starving
  // this shard's own connections.
  constexpr size_t kBatch = 1024;
  for (unsigned from = 0; from < cfg_.shards; ++from) {
    if (from == id_) continue;
    shared_.mail.ring(from, id_).drain(kBatch, [&](const MailMsg& m) {
      metrics_.add(Metric::kMailboxIn);
      rooms_.on_mail(from, m);
      settle();
    });
  }
}

}  // namespace ringchat::chat
