#pragma once
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "ringchat/chat/message.h"
#include "ringchat/core/mailbox.h"
#include "ringchat/net/shared_buf.h"

namespace ringchat::chat {

// Cross-shard mail: plain values, each with what its receiver needs. The
// only pointers are references to immutable shared records (SharedBuf,
// Sequenced), which travel with the message: the receiver releases them.
// A room is named by a SharedBuf holding its name.

// A member's shard to the room's owner: sequence and fan out this message.
struct PublishMsg {
  // The room name (room_len bytes), the publisher's user (user_len bytes:
  // its token's sub; none when anonymous), then the payload.
  net::SharedBuf* body;
  uint32_t slot;      // the sender, on shard `shard`
  uint32_t gen : 24;  // core::kGenMask
  uint32_t user_len : 8;
  // Nonzero: the sender waits for an AckMsg with this token (an HTTP
  // publish answers with the seq; a JSON socket acks its `pub`). Tokens are
  // unique per shard (ShardContext::ack_token()).
  uint32_t ack;
  uint16_t shard;
  uint8_t room_len;  // room names are at most 200 bytes
  Kind kind;
  std::string_view room() const { return body->view().substr(0, room_len); }
  std::string_view user() const { return body->view().substr(room_len, user_len); }
  Sender from() const { return {slot, gen, shard}; }
};

// A publish of `payload` to `room` by `from` (whose user is `user`, empty
// when anonymous): room name, user and payload copied into one new buffer.
// REQUIRES: user.size() <= 255 (auth::kMaxSubBytes).
PublishMsg make_publish(std::string_view room, std::span<const std::byte> payload, Sender from,
                        Kind kind, uint32_t ack = 0, std::string_view user = {});

// The owner to a member shard: a sequenced message of one of its rooms.
struct DeliverMsg {
  Sequenced* msg;
};

// A shard to a room's owner: it has its first local member of the room.
struct JoinMsg {
  net::SharedBuf* room;
  uint32_t token;  // echoed in the answer
};

// The owner's answer to a JoinMsg, in order before any DeliverMsg of the
// room: the shard is counted. (Where the room's sequence stands, for a
// resume, comes with the history answer: it does not fit a ring slot here.)
struct JoinedMsg {
  net::SharedBuf* room;
  // The JoinMsg's: a shard whose members all left and came back before the
  // answer must not take the first answer for the second join (messages
  // sequenced between the two would be missed).
  uint32_t token;
};

// The owner to a publisher's shard that asked (PublishMsg::ack): where the
// message was sequenced.
struct AckMsg {
  uint32_t slot;   // the publisher
  uint32_t token;  // PublishMsg::ack: tells the publish (and a reused slot) apart
  uint64_t epoch;
  uint64_t seq;
};

// The owner to a publisher's shard (cluster mode): its publish was not
// sequenced (the authority is unreachable, or went away before it
// answered). Sent whether or not the publish asked for an ack.
struct RefusedMsg {
  uint32_t slot;
  uint32_t gen;
  uint32_t token;      // PublishMsg::ack (0: none asked)
  bool maybe_applied;  // it went to Redis, whose answer was lost
};

// A resuming member's question to the room's owner. Owned by the message
// that carries it (the receiver deletes it).
struct HistoryQuery {
  // A room's history (and, for a member, joining it), its presence (the
  // owner's members), or the rooms a shard owns (every shard is asked).
  enum class What : uint8_t { kHistory, kPresence, kRooms };
  std::string room;  // kRooms: the rooms after this name, by name
  Position since;
  uint32_t slot;  // the member, or the asking connection
  uint32_t gen;
  // A member joining (it is a full member when the answer arrives; its
  // join's token tells a later join of the same connection apart), or a
  // reader (the HTTP API, a JSON socket's `history`).
  bool member = true;
  uint32_t token = 0;
  // At most `limit` messages: after `since` when its epoch is the room's;
  // else a reader gets the newest ones before `before` (0: the newest).
  uint32_t limit = UINT32_MAX;
  uint64_t before = 0;
  What what = What::kHistory;
};

// The owner's answer: what history holds after `since`. It travels in
// order with the room's deliveries, so every message sequenced before it is
// in `msgs` (when recovered) and every later one is delivered live.
// Owned by the message that carries it; holds one reference of each record.
struct HistoryBatch {
  std::string room;
  uint32_t slot;
  uint32_t gen;
  bool member = true;  // as the query's
  uint32_t token = 0;  // as the query's
  HistoryQuery::What what = HistoryQuery::What::kHistory;
  Position since;
  uint64_t epoch = 0;      // the room's epoch now
  uint64_t seq = 0;        // its last seq when answered
  bool recovered = false;  // `msgs` holds every message after `since` (and none before)
  // Oldest first; when not recovered, what history still holds.
  std::vector<Sequenced*> msgs;
  std::vector<Present> present;  // kPresence: the room's members
  struct RoomCount {
    std::string name;
    size_t members;
  };
  std::vector<RoomCount> rooms;  // kRooms: by name, at most `limit`
  HistoryBatch() = default;
  HistoryBatch(const HistoryBatch&) = delete;
  HistoryBatch& operator=(const HistoryBatch&) = delete;
  ~HistoryBatch() {
    for (Sequenced* m : msgs) m->release();
  }
};

struct HistoryReqMsg {
  HistoryQuery* query;
};

struct HistoryMsg {
  HistoryBatch* batch;
};

// A shard to a room's owner: its last local member of the room left.
struct LeaveMsg {
  net::SharedBuf* room;
};

// A member shard to a room's owner: `who` joined the room (`here`) or left
// it. The owner keeps the room's presence and tells small rooms about it.
struct MemberMsg {
  net::SharedBuf* body;  // the room name (room_len bytes), then who's user (user_len bytes)
  Sender who;
  bool here;
  uint8_t room_len;
  uint8_t user_len;  // 0: anonymous, or a leave
  std::string_view room() const { return body->view().substr(0, room_len); }
  std::string_view user() const { return body->view().substr(room_len, user_len); }
};

// A member shard to a room's owner: it has members that read the room's
// messages in these formats (a bit per Format): build them once per message.
// (A format the owner did not build is encoded by the member shard.)
struct WantMsg {
  net::SharedBuf* room;
  uint8_t formats;
};

using MailMsg = std::variant<PublishMsg, DeliverMsg, JoinMsg, JoinedMsg, LeaveMsg, AckMsg,
                             RefusedMsg, HistoryReqMsg, HistoryMsg, WantMsg, MemberMsg>;
static_assert(sizeof(MailMsg) <= 32, "every ring slot holds one");

// Drops the references `m` carries (mail never delivered, at shutdown).
void release(const MailMsg& m);

inline constexpr size_t kMailboxSlots = 4096;
using Mailboxes = core::MailboxSet<MailMsg, kMailboxSlots>;
using Outbox = core::Outbox<MailMsg, kMailboxSlots>;

}  // namespace ringchat::chat
