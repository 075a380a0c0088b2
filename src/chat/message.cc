#include "ringchat/chat/message.h"

#include <cstring>

#include "ringchat/chat/mail.h"
#include "ringchat/chat/room_name.h"
#include "ringchat/core/check.h"
#include "ringchat/core/op.h"
#include "ringchat/core/timer_wheel.h"

namespace ringchat::chat {

std::optional<Position> parse_position(std::string_view s) {
  const size_t colon = s.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon > 16 || colon + 1 == s.size() ||
      s.size() - colon - 1 > 20) {
    return std::nullopt;
  }
  Position p;
  for (char ch : s.substr(0, colon)) {
    int d;
    if (ch >= '0' && ch <= '9') {
      d = ch - '0';
    } else if (ch >= 'a' && ch <= 'f') {
      d = ch - 'a' + 10;
    } else if (ch >= 'A' && ch <= 'F') {
      d = ch - 'A' + 10;
    } else {
      return std::nullopt;
    }
    p.epoch = p.epoch << 4 | static_cast<uint64_t>(d);
  }
  for (char ch : s.substr(colon + 1)) {
    if (ch < '0' || ch > '9') return std::nullopt;
    const auto d = static_cast<uint64_t>(ch - '0');
    if (p.seq > (UINT64_MAX - d) / 10) return std::nullopt;
    p.seq = p.seq * 10 + d;
  }
  return p;
}

Sequenced* Sequenced::create(net::SharedBuf* body, uint16_t room_len, Kind kind, Sender from,
                             uint64_t epoch, uint64_t seq, uint64_t ts_ms, uint8_t user_len) {
  auto* s = new Sequenced();
  s->body_ = body;
  s->room_len_ = room_len;
  s->user_len_ = user_len;
  s->kind_ = kind;
  s->from_ = from;
  s->epoch_ = epoch;
  s->seq_ = seq;
  s->ts_ms_ = ts_ms;
  s->created_ns_ = core::monotonic_ns();
  return s;
}

Sequenced::~Sequenced() {
  body_->release();
  for (net::SharedBuf* b : wire_) {
    if (b) b->release();
  }
}

size_t Sequenced::footprint() const {
  size_t n = sizeof(Sequenced) + sizeof(net::SharedBuf) + body_->size;
  for (const net::SharedBuf* b : wire_) {
    if (b) n += sizeof(net::SharedBuf) + b->size;
  }
  return n;
}

Message Sequenced::message() const {
  return Message{room(), epoch_, seq_,
                 ts_ms_, from_,  body_->bytes().subspan(size_t{room_len_} + user_len_),
                 kind_,  user(), node_};
}

void Sequenced::release() {
  if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
}

PublishMsg make_publish(std::string_view room, std::span<const std::byte> payload, Sender from,
                        Kind kind, uint32_t ack, std::string_view user) {
  RC_CHECK(room.size() <= kMaxRoomName);
  RC_CHECK(user.size() <= 255);
  net::SharedBuf* body = net::SharedBuf::create(room.size() + user.size() + payload.size());
  std::byte* p = body->data();
  std::memcpy(p, room.data(), room.size());
  if (!user.empty()) std::memcpy(p + room.size(), user.data(), user.size());
  if (!payload.empty()) std::memcpy(p + room.size() + user.size(), payload.data(), payload.size());
  return PublishMsg{.body = body,
                    .slot = from.slot,
                    .gen = from.gen & core::kGenMask,
                    .user_len = static_cast<uint32_t>(user.size()),
                    .ack = ack,
                    .shard = from.shard,
                    .room_len = static_cast<uint8_t>(room.size()),
                    .kind = kind};
}

void release(const MailMsg& m) {
  std::visit(
      [](const auto& msg) {
        using T = std::decay_t<decltype(msg)>;
        if constexpr (std::is_same_v<T, PublishMsg> || std::is_same_v<T, MemberMsg>) {
          msg.body->release();
        } else if constexpr (std::is_same_v<T, DeliverMsg>) {
          msg.msg->release();
        } else if constexpr (std::is_same_v<T, AckMsg> || std::is_same_v<T, RefusedMsg>) {
          // plain values only
        } else if constexpr (std::is_same_v<T, HistoryReqMsg>) {
          delete msg.query;
        } else if constexpr (std::is_same_v<T, HistoryMsg>) {
          delete msg.batch;
        } else {
          msg.room->release();
        }
      },
      m);
}

}  // namespace ringchat::chat
