#pragma once
// Private to the chat module: how cluster mode writes a room's messages
// into Redis and reads them back (docs/CLUSTER.md has the layout).
#include <cstdint>
#include <string>
#include <string_view>

#include "ringchat/chat/cluster.h"
#include "ringchat/chat/mail.h"

namespace ringchat::chat {

// The keys and channel of a room; `{room}` is the Redis Cluster hash tag,
// so all three live on one slot (room names have no braces).
//   rc:{ROOM}:m    hash: epoch (16 hex digits), seq (the last one)
//   rc:{ROOM}:log  stream: entry 0-SEQ, field m: the record
//   rc:{ROOM}      the channel its records are broadcast on
std::string room_meta_key(std::string_view room);
std::string room_log_key(std::string_view room);
std::string room_channel(std::string_view room);
// The room of a channel, empty if it is not one of ours.
std::string_view channel_room(std::string_view channel);

// A record as stored and broadcast: "EPOCH SEQ " (what the publish script
// prefixes) and then what the publishing shard sent (encode_publish):
//   kind (1 byte), user length (1), node (4, little-endian), shard (2),
//   slot (4), gen (4), ts_ms (8), the user, the payload.
// The publisher's part of a record of `m`, published on `node` at `ts_ms`.
std::string encode_publish(const PublishMsg& m, uint32_t node, uint64_t ts_ms);
// Parses a whole record into `out` (views into `record`). False: not a
// record.
bool decode_record(std::string_view record, ClusterRecord* out);
// Presence (cluster mode):
//   rc:{ROOM}:p   hash: a member's id -> its user
//   rc:nodes      sorted set: node id -> when its heartbeat runs out (Unix ms)
// A member's id is NODE-SHARD-SLOT-GEN (decimal), as clients see it.
std::string room_presence_key(std::string_view room);
inline constexpr std::string_view kNodesKey = "rc:nodes";
std::string member_id(const Present& p);
bool parse_member_id(std::string_view id, Present* out);
// A presence change as broadcast on the room's channel (the presence
// script writes it): "P COUNT HERE ID USER", HERE 1 or 0, COUNT the room's
// members after it.
bool is_presence_record(std::string_view record);
bool decode_presence(std::string_view record, Present* who, bool* here, uint64_t* count);

// An epoch as the scripts keep it: 16 hex digits, as clients see it.
std::string epoch_text(uint64_t epoch);
bool parse_epoch(std::string_view text, uint64_t* epoch);

}  // namespace ringchat::chat
