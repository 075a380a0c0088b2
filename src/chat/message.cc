#include "ringchat/chat/message.h"

#include <cstring>

#include "ringchat/chat/mail.h"

namespace ringchat::chat {

Sequenced* Sequenced::create(net::SharedBuf* body, uint16_t room_len, ws::Opcode opcode,
                             Sender from, uint64_t epoch, uint64_t seq, uint64_t ts_ms) {
  auto* s = new Sequenced();
  s->body_ = body;
  s->room_len_ = room_len;
  s->opcode_ = opcode;
  s->from_ = from;
  s->epoch_ = epoch;
  s->seq_ = seq;
  s->ts_ms_ = ts_ms;
  return s;
}

Sequenced::~Sequenced() {
  body_->release();
  for (net::SharedBuf* b : wire_) {
    if (b) b->release();
  }
}

Message Sequenced::message() const {
  return Message{room(), epoch_, seq_, ts_ms_, from_, body_->bytes().subspan(room_len_), opcode_};
}

void Sequenced::release() {
  if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
}

PublishMsg make_publish(std::string_view room, std::span<const std::byte> payload, Sender from,
                        ws::Opcode opcode, bool ack) {
  net::SharedBuf* body = net::SharedBuf::create(room.size() + payload.size());
  std::memcpy(body->data(), room.data(), room.size());
  if (!payload.empty()) std::memcpy(body->data() + room.size(), payload.data(), payload.size());
  return PublishMsg{body,   from.slot, from.gen, from.shard, static_cast<uint16_t>(room.size()),
                    opcode, ack};
}

void release(const MailMsg& m) {
  std::visit(
      [](const auto& msg) {
        using T = std::decay_t<decltype(msg)>;
        if constexpr (std::is_same_v<T, PublishMsg>) {
          msg.body->release();
        } else if constexpr (std::is_same_v<T, DeliverMsg>) {
          msg.msg->release();
        } else if constexpr (std::is_same_v<T, AckMsg>) {
          // plain values only
        } else {
          msg.room->release();
        }
      },
      m);
}

}  // namespace ringchat::chat
