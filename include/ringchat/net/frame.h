#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace ringchat::net {

// Bytes encoded once and sent to many connections, possibly on many shards.
// One allocation: the header below, then `tag_len` bytes of tag (e.g. the room
// name, so a receiving shard can route it without pointing into the sender's
// objects), then `size` bytes of wire data.
//
// Invariants: the bytes are immutable once the frame is shared. `refs` counts
// shards (or single owners) holding it; each shard shares its reference among
// its connections through a LocalFrame's plain count. The last release frees.
// Thread: any holder; `refs` is the only field written after sharing.
struct Frame {
  std::atomic<uint32_t> refs;
  uint32_t size;     // wire bytes
  uint64_t seq = 0;  // room sequence number, set by the owner before fan-out
  uint32_t sender_slot = 0;
  uint32_t sender_gen = 0;
  uint16_t sender_shard = 0xFFFF;
  uint16_t tag_len = 0;

  // Allocates a frame with `refs` = 1 and uninitialised wire bytes.
  static Frame* create(size_t wire_size, std::string_view tag = {});
  std::byte* data() { return reinterpret_cast<std::byte*>(this + 1) + tag_len; }
  const std::byte* data() const { return reinterpret_cast<const std::byte*>(this + 1) + tag_len; }
  std::string_view tag() const { return {reinterpret_cast<const char*>(this + 1), tag_len}; }
  std::span<const std::byte> bytes() const { return {data(), size}; }

  // Drops one reference (acq_rel: the freeing thread sees every holder's
  // reads as done). Frees on the last.
  void release();
};

// The bytes one shard's send queues hold: each distinct Frame once, however
// many connections share it (that is the memory it costs). Thread: owner
// shard only.
struct SendBudget {
  size_t held_bytes = 0;
  size_t peak_bytes = 0;
};

// A shard's share of a Frame, counted without atomics among its connections.
// Thread: owner shard only.
struct LocalFrame {
  Frame* frame;
  uint32_t count;
  SendBudget* budget;  // may be null; outlives the LocalFrame (the shard's)

  // Wraps one reference of `f` held by this shard, to be shared `count` ways,
  // and charges its bytes to `budget` until the last share is released.
  static LocalFrame* create(Frame* f, uint32_t count, SendBudget* budget = nullptr);
  // One connection is done with it; the last hands the reference back.
  void release();
};

}  // namespace ringchat::net
