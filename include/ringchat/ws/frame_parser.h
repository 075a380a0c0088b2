#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "ringchat/core/result.h"
#include "ringchat/ws/close_code.h"
#include "ringchat/ws/utf8.h"

namespace ringchat::ws {

// Which end of the connection the parser sits on. RFC 6455 §5.1: a server
// requires every peer frame masked; a client requires none masked.
enum class Role : uint8_t { kServer, kClient };

// One thing the peer said, as returned by FrameParser::next().
struct Event {
  enum class Kind : uint8_t { kNeedMore, kMessage, kPing, kPong, kClose };
  Kind kind = Kind::kNeedMore;
  Opcode opcode = Opcode::kContinuation;  // kText or kBinary for kMessage
  // Unmasked payload; valid until the next call to next() or release().
  std::span<const std::byte> payload;
  uint16_t close_code = 1005;     // kClose: 1005 when the frame had no body
  std::string_view close_reason;  // kClose: valid UTF-8, points into payload
};

// Frames one message may arrive in, unless the parser is told otherwise.
inline constexpr uint32_t kDefaultMaxFragments = 1024;
inline constexpr uint32_t kMaxFragmentsLimit = 65535;

// Incremental RFC 6455 frame parser for one connection. Pure: no I/O. It
// holds no heap memory between frames once release() is called; a message
// that is not wholly in the caller's bytes is assembled in a buffer that
// grows as its bytes arrive (never ahead of them).
// Messages are limited to max_message_bytes (clamped to 4 GiB - 256) and to
// max_fragments data frames (1 to kMaxFragmentsLimit): a message announcing more bytes,
// or a data frame past the last fragment allowed, is kMessageTooBig (1009)
// as soon as its header is read. Control frames between fragments do not
// count.
// Thread: owned by its connection, on that connection's shard.
class FrameParser {
 public:
  FrameParser(Role role, size_t max_message_bytes, uint32_t max_fragments = kDefaultMaxFragments);
  ~FrameParser();
  FrameParser(const FrameParser&) = delete;
  FrameParser& operator=(const FrameParser&) = delete;
  FrameParser(FrameParser&& other) noexcept;
  FrameParser& operator=(FrameParser&& other) noexcept;

  // Consumes bytes from the front of `in` (advancing it) until one event is
  // complete and returns it, or until `in` is exhausted (Kind::kNeedMore;
  // every byte consumed, partial state kept). Payloads are unmasked IN PLACE
  // in `in`; an unfragmented message wholly inside `in` is returned as a span
  // into `in` without copying. An error is the close code the peer earned.
  // After an error or a kClose event the parser is done: a further call
  // returns kProtocolError.
  Result<Event, CloseCode> next(std::span<std::byte>& in);

  // True between frames with no fragmented message in progress.
  bool idle() const;
  // Frees the internal buffer if idle(); invalidates the last payload.
  void release();
  // Heap bytes held right now (for metrics and tests).
  size_t buffer_capacity() const { return buf_cap_; }

 private:
  enum class State : uint8_t { kHeader, kPayload, kDone };
  enum class Step : uint8_t { kNeedMore, kFrameDone, kEvent };

  void take_header_bytes(std::span<std::byte>& in, size_t upto);
  static size_t header_size(std::span<const std::byte> h);
  Result<void, CloseCode> check_first_bytes(std::span<const std::byte> h) const;
  Result<bool, CloseCode> read_header(std::span<std::byte>& in);
  Result<bool, CloseCode> finish_header(std::span<const std::byte> h);
  Result<Step, CloseCode> read_control(std::span<std::byte>& in, Event& ev);
  Result<Step, CloseCode> control_event(std::span<const std::byte> payload, Event& ev);
  Result<Step, CloseCode> close_event(std::span<const std::byte> payload, Event& ev);
  Result<Step, CloseCode> read_data(std::span<std::byte>& in, Event& ev);
  Result<Step, CloseCode> finish_message(std::span<const std::byte> payload, Event& ev);
  void unmask(std::span<std::byte> chunk);
  void reserve(size_t required, size_t hint);
  void free_buffer();

  std::byte* buf_ = nullptr;  // message bytes, then a partial control frame
  uint32_t buf_cap_ = 0;
  uint32_t msg_len_ = 0;  // bytes of the data message in buf_
  uint32_t max_message_;
  uint32_t frame_left_ = 0;  // payload bytes of this frame still to come
  uint32_t mask_ = 0;        // key bytes big-endian, as mask_bytes() wants
  // 16 bits each: they fit where the parser had padding, and a session
  // (chat/session.h) stays within its slot.
  uint16_t max_fragments_;
  uint16_t fragments_ = 0;              // data frames of the message in progress
  std::array<std::byte, 14> header_{};  // a header split across calls
  uint8_t header_len_ = 0;
  uint8_t ctrl_len_ = 0;    // bytes of a partial control frame in buf_
  uint8_t mask_phase_ = 0;  // key byte for the next payload byte
  Role role_;
  State state_ = State::kHeader;
  Opcode frame_op_ = Opcode::kContinuation;
  Opcode msg_op_ = Opcode::kContinuation;  // kContinuation: none in progress
  bool fin_ = false;
  Utf8Validator utf8_;  // the text message in progress
};

// Many thousands of idle connections each hold one.
static_assert(sizeof(FrameParser) <= 64);

}  // namespace ringchat::ws
