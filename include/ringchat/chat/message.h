#pragma once
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "ringchat/net/shared_buf.h"
#include "ringchat/ws/close_code.h"

namespace ringchat::chat {

inline constexpr uint16_t kNoShard = 0xFFFF;

// The connection that published a message: its shard, and its slot and
// generation there (a slot reused since has another generation).
struct Sender {
  uint32_t slot = 0;
  uint32_t gen = 0;
  uint16_t shard = kNoShard;
  friend bool operator==(const Sender&, const Sender&) = default;
};
struct SenderHash {
  size_t operator()(const Sender& s) const {
    return std::hash<uint64_t>{}((uint64_t{s.slot} << 32 | s.gen) ^ (uint64_t{s.shard} << 48));
  }
};

// A member of a room as presence shows it: its connection, and its user (the
// token's sub; empty: anonymous). In cluster mode also its node (0: none),
// so that ids are unique across nodes.
struct Present {
  Sender who;
  std::string user;
  uint32_t node = 0;
  friend bool operator==(const Present&, const Present&) = default;
};

// Where a client stands in a room: the last message it has, EPOCH:SEQ.
struct Position {
  uint64_t epoch = 0;
  uint64_t seq = 0;
  friend bool operator==(const Position&, const Position&) = default;
};

// "EPOCH:SEQ" (epoch in hex, as the server writes it: 16 digits; seq in
// decimal) -> Position; nullopt for anything else.
std::optional<Position> parse_position(std::string_view s);

// What a message's payload is. Text and binary are what a WebSocket client
// sent (text is UTF-8); JSON is one JSON value (RFC 8259, validated, UTF-8),
// from a JSON socket's `pub` or an HTTP publish of application/json.
enum class Kind : uint8_t { kText, kBinary, kJson };

// A sequenced message, as the wire encoders read it. A plain view: it points
// into the Sequenced record that holds the bytes (or into a test's).
struct Message {
  std::string_view room;
  uint64_t epoch = 0;
  uint64_t seq = 0;
  uint64_t ts_ms = 0;  // when the owner sequenced it (Unix ms)
  Sender from;
  std::span<const std::byte> payload;
  Kind kind = Kind::kText;
  // Who published it: the token's sub, shown as `from`; empty: anonymous
  // (`from` is then the connection's id, SHARD-SLOT-GEN, and in cluster
  // mode NODE-SHARD-SLOT-GEN, as presence shows its members).
  std::string_view user;
  // Cluster mode: the node it was published on (this one's too); 0: here,
  // outside cluster mode.
  uint32_t node = 0;
};

// The wire formats a member may receive a message in; chat/wire builds each
// once per message, on the owner, for the formats that have subscribers.
//   kRawWs   a raw room socket's frame: the payload as it was sent
//   kJsonWs  a JSON socket's text frame: the `msg` envelope
//   kSse     an SSE stream's event: id, data lines
enum class Format : uint8_t { kRawWs, kJsonWs, kSse };
inline constexpr size_t kFormats = 3;
constexpr uint8_t format_bit(Format f) {
  return static_cast<uint8_t>(1u << static_cast<unsigned>(f));
}

// What the owner shard made of one publish: the message and its wire bytes,
// built once and shared by every member shard (and, later, the history).
//
// Invariants: immutable once shared. `refs` counts the shards holding it;
// the owner sets it once, before the first post. The last release frees the
// record and drops its buffers' references.
// Thread: built on the owner shard; then any holder.
class Sequenced {
 public:
  // Takes the reference of `body`, which holds the room name (`room_len`
  // bytes), the publisher's user (`user_len` bytes) and then the payload, as
  // the publisher sent them.
  static Sequenced* create(net::SharedBuf* body, uint16_t room_len, Kind kind, Sender from,
                           uint64_t epoch, uint64_t seq, uint64_t ts_ms, uint8_t user_len = 0);
  Sequenced(const Sequenced&) = delete;
  Sequenced& operator=(const Sequenced&) = delete;

  Message message() const;
  std::string_view room() const { return body_->view().substr(0, room_len_); }
  std::string_view user() const { return body_->view().substr(room_len_, user_len_); }
  // 0 for a presence event: not a message of the room, but `from` joining
  // or leaving it; its only bytes are wire(Format::kJsonWs), for JSON sockets.
  uint64_t seq() const { return seq_; }
  bool is_event() const { return seq_ == 0; }
  const Sender& from() const { return from_; }
  // Cluster mode: the node `from` is a connection of (Message::node).
  uint32_t node() const { return node_; }
  // When it was made (monotonic ns): for ringchat_publish_to_send_seconds.
  uint64_t created_ns() const { return created_ns_; }
  size_t payload_size() const { return body_->size - room_len_ - user_len_; }
  // Memory the record holds: itself, the body and the wire bytes.
  size_t footprint() const;
  // One more holder. REQUIRES: the caller holds a reference (the owner's
  // history does, when it hands records to a history answer).
  void retain() { refs_.fetch_add(1, std::memory_order_relaxed); }
  // The bytes of `f`, or null if they were not built.
  net::SharedBuf* wire(Format f) const { return wire_[static_cast<size_t>(f)]; }

  // Before sharing only (the owner).
  void set_wire(Format f, net::SharedBuf* b) { wire_[static_cast<size_t>(f)] = b; }
  void share(uint32_t holders) { refs_.store(holders, std::memory_order_relaxed); }
  void set_node(uint32_t node) { node_ = node; }

  // acq_rel, as SharedBuf::release.
  void release();

 private:
  Sequenced() = default;
  ~Sequenced();

  std::atomic<uint32_t> refs_{1};
  uint16_t room_len_ = 0;
  uint8_t user_len_ = 0;
  Kind kind_ = Kind::kText;
  Sender from_;
  uint32_t node_ = 0;
  uint64_t epoch_ = 0;
  uint64_t seq_ = 0;
  uint64_t ts_ms_ = 0;
  uint64_t created_ns_ = 0;
  net::SharedBuf* body_ = nullptr;
  std::array<net::SharedBuf*, kFormats> wire_{};
};

}  // namespace ringchat::chat
