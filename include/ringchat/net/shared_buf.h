#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace ringchat::net {

// Bytes written once and then sent to many connections, possibly on many
// shards: one allocation, this header and then `size` bytes. It knows no
// protocol; what the bytes mean is up to whoever made them.
//
// Invariants: the bytes are immutable once the buffer is shared. `refs`
// counts shards (or single owners) holding it; each shard shares its
// reference among its connections through a LocalBuf's plain count. The
// last release frees.
// Thread: any holder; `refs` is the only field written after sharing.
struct SharedBuf {
  std::atomic<uint32_t> refs;
  uint32_t size;

  // Allocates a buffer with `refs` references and uninitialised bytes.
  static SharedBuf* create(size_t size, uint32_t refs = 1);
  // A buffer holding a copy of `bytes`.
  static SharedBuf* copy_of(std::string_view bytes);
  std::byte* data() { return reinterpret_cast<std::byte*>(this + 1); }
  const std::byte* data() const { return reinterpret_cast<const std::byte*>(this + 1); }
  std::span<const std::byte> bytes() const { return {data(), size}; }
  std::string_view view() const { return {reinterpret_cast<const char*>(data()), size}; }

  // Drops one reference (acq_rel: the freeing thread sees every holder's
  // reads as done). Frees on the last.
  void release();
};

// The bytes one shard's send queues hold: each distinct SharedBuf once,
// however many connections share it (that is the memory it costs).
// Thread: owner shard only.
struct SendBudget {
  size_t held_bytes = 0;
  size_t peak_bytes = 0;
  void hold(size_t n) {
    held_bytes += n;
    if (held_bytes > peak_bytes) peak_bytes = held_bytes;
  }
  void free(size_t n) { held_bytes -= n; }
};

// A shard's share of a SharedBuf, counted without atomics among its
// connections. Thread: owner shard only.
struct LocalBuf {
  SharedBuf* buf;
  uint32_t count;
  SendBudget* budget;  // may be null; outlives the LocalBuf (the shard's)

  // Wraps one reference of `b` held by this shard, to be shared `count`
  // ways, and charges its bytes to `budget` until the last share is released.
  static LocalBuf* create(SharedBuf* b, uint32_t count, SendBudget* budget = nullptr);
  // One connection is done with it; the last hands the reference back.
  void release();
};

}  // namespace ringchat::net
