#include "ringchat/ws/frame_parser.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <utility>

#include "ringchat/core/check.h"
#include "ringchat/ws/frame_encoder.h"

namespace ringchat::ws {
namespace {

constexpr uint8_t kFinBit = 0x80;
constexpr uint8_t kRsvBits = 0x70;
constexpr uint8_t kOpcodeBits = 0x0F;
constexpr uint8_t kMaskBit = 0x80;
constexpr uint8_t kLenBits = 0x7F;
constexpr size_t kMinBuffer = 256;
// Leaves room for a control frame after a maximal message in a uint32_t.
constexpr size_t kMaxMessageLimit = std::numeric_limits<uint32_t>::max() - 2 * kMaxControlPayload;

uint8_t byte_at(std::span<const std::byte> b, size_t i) { return static_cast<uint8_t>(b[i]); }

uint64_t read_be(std::span<const std::byte> b, size_t pos, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i) v = (v << 8) | byte_at(b, pos + i);
  return v;
}

bool is_control(Opcode op) { return (static_cast<uint8_t>(op) & 0x08) != 0; }

bool is_known_opcode(uint8_t op) { return op <= 2 || (op >= 8 && op <= 10); }

}  // namespace

FrameParser::FrameParser(Role role, size_t max_message_bytes, uint32_t max_fragments)
    : max_message_(static_cast<uint32_t>(std::min(max_message_bytes, kMaxMessageLimit))),
      max_fragments_(
          static_cast<uint16_t>(std::clamp<uint32_t>(max_fragments, 1, kMaxFragmentsLimit))),
      role_(role) {}

FrameParser::~FrameParser() { free_buffer(); }

FrameParser::FrameParser(FrameParser&& other) noexcept
    : FrameParser(other.role_, other.max_message_, other.max_fragments_) {
  *this = std::move(other);
}

FrameParser& FrameParser::operator=(FrameParser&& other) noexcept {
  if (this == &other) return *this;
  free_buffer();
  buf_ = std::exchange(other.buf_, nullptr);
  buf_cap_ = std::exchange(other.buf_cap_, 0);
  msg_len_ = std::exchange(other.msg_len_, 0);
  max_message_ = other.max_message_;
  frame_left_ = other.frame_left_;
  mask_ = other.mask_;
  max_fragments_ = other.max_fragments_;
  fragments_ = other.fragments_;
  header_ = other.header_;
  header_len_ = other.header_len_;
  ctrl_len_ = other.ctrl_len_;
  mask_phase_ = other.mask_phase_;
  role_ = other.role_;
  state_ = std::exchange(other.state_, State::kDone);
  frame_op_ = other.frame_op_;
  msg_op_ = other.msg_op_;
  fin_ = other.fin_;
  utf8_ = other.utf8_;
  return *this;
}

bool FrameParser::idle() const {
  return state_ != State::kPayload && header_len_ == 0 && msg_op_ == Opcode::kContinuation;
}

void FrameParser::release() {
  if (idle()) free_buffer();
}

void FrameParser::free_buffer() {
  std::free(buf_);
  buf_ = nullptr;
  buf_cap_ = 0;
}

Result<Event, CloseCode> FrameParser::next(std::span<std::byte>& in) {
  Event ev;
  for (;;) {
    if (state_ == State::kDone) return Err(CloseCode::kProtocolError);
    if (state_ == State::kHeader) {
      auto header = read_header(in);
      if (!header.ok()) {
        state_ = State::kDone;
        return Err(header.error());
      }
      if (!*header) return ev;
    }
    auto step = is_control(frame_op_) ? read_control(in, ev) : read_data(in, ev);
    if (!step.ok()) {
      state_ = State::kDone;
      return Err(step.error());
    }
    if (*step == Step::kEvent) return ev;
    if (*step == Step::kNeedMore) return Event{};
  }
}

void FrameParser::take_header_bytes(std::span<std::byte>& in, size_t upto) {
  const size_t n = std::min(upto - header_len_, in.size());
  if (n == 0) return;
  std::memcpy(header_.data() + header_len_, in.data(), n);
  header_len_ = static_cast<uint8_t>(header_len_ + n);
  in = in.subspan(n);
}

// Bytes in the whole header, from its first two.
size_t FrameParser::header_size(std::span<const std::byte> h) {
  const uint8_t len7 = byte_at(h, 1) & kLenBits;
  const size_t ext = len7 == 126 ? 2 : (len7 == 127 ? 8 : 0);
  const size_t key = (byte_at(h, 1) & kMaskBit) != 0 ? 4 : 0;
  return 2 + ext + key;
}

// Everything the first two bytes can break is reported before the rest of
// the header arrives.
Result<void, CloseCode> FrameParser::check_first_bytes(std::span<const std::byte> h) const {
  const uint8_t b0 = byte_at(h, 0);
  const uint8_t b1 = byte_at(h, 1);
  const uint8_t op = b0 & kOpcodeBits;
  // RFC 6455 §5.2: RSV bits need a negotiated extension; we negotiate none.
  if ((b0 & kRsvBits) != 0 || !is_known_opcode(op)) {
    return Err(CloseCode::kProtocolError);
  }
  const bool masked = (b1 & kMaskBit) != 0;
  if (masked != (role_ == Role::kServer)) return Err(CloseCode::kProtocolError);
  if (is_control(static_cast<Opcode>(op))) {
    // RFC 6455 §5.5: control frames are at most 125 bytes, never fragmented.
    if ((b0 & kFinBit) == 0 || (b1 & kLenBits) > kMaxControlPayload) {
      return Err(CloseCode::kProtocolError);
    }
    return {};
  }
  // RFC 6455 §5.4: continuations only inside a message, and messages do not
  // nest.
  const bool in_message = msg_op_ != Opcode::kContinuation;
  const bool is_continuation = op == 0;
  if (in_message != is_continuation) return Err(CloseCode::kProtocolError);
  return {};
}

Result<bool, CloseCode> FrameParser::read_header(std::span<std::byte>& in) {
  // Fast path: the whole header is in `in`; read it there.
  if (header_len_ == 0 && in.size() >= 2 && in.size() >= header_size(in)) {
    auto checked = check_first_bytes(in);
    if (!checked.ok()) return Err(checked.error());
    const auto header = in.first(header_size(in));
    in = in.subspan(header.size());
    return finish_header(header);
  }
  if (header_len_ < 2) {
    take_header_bytes(in, 2);
    if (header_len_ < 2) return false;
    auto checked = check_first_bytes(header_);
    if (!checked.ok()) return Err(checked.error());
  }
  const size_t size = header_size(header_);
  take_header_bytes(in, size);
  if (header_len_ < size) return false;
  header_len_ = 0;
  return finish_header({header_.data(), size});
}

// REQUIRES: `h` is a whole header that passed check_first_bytes().
Result<bool, CloseCode> FrameParser::finish_header(std::span<const std::byte> h) {
  const uint8_t len7 = byte_at(h, 1) & kLenBits;
  size_t pos = 2;
  uint64_t len = len7;
  if (len7 == 126) {
    len = read_be(h, 2, 2);
    pos = 4;
  } else if (len7 == 127) {
    len = read_be(h, 2, 8);
    pos = 10;
    // RFC 6455 §5.2: the most significant bit of a 64-bit length must be 0.
    if ((len >> 63) != 0) return Err(CloseCode::kProtocolError);
  }
  // Non-minimal length encodings are accepted: RFC 6455 does not ask a
  // receiver to reject them.
  frame_op_ = static_cast<Opcode>(byte_at(h, 0) & kOpcodeBits);
  fin_ = (byte_at(h, 0) & kFinBit) != 0;
  mask_ = role_ == Role::kServer ? static_cast<uint32_t>(read_be(h, pos, 4)) : 0;
  if (!is_control(frame_op_)) {
    // Announced size alone decides 1009: nothing is buffered first.
    if (len > max_message_ - msg_len_) return Err(CloseCode::kMessageTooBig);
    if (frame_op_ != Opcode::kContinuation) {
      msg_op_ = frame_op_;
      utf8_.reset();
      fragments_ = 0;
    }
    // Each fragment costs a header and a round through this parser however
    // small it is (an empty continuation is 6 bytes), so their number is
    // bounded too. RFC 6455 §7.4.1 offers 1009 (a message too big to
    // process) and 1008 (policy violation, "when there is no other more
    // suitable status code (e.g., 1003 or 1009)"): a fragment count is a
    // size of the message, bounded like --max-message, so 1009, counted
    // with the oversized messages. The peer's remedy is the same: fewer,
    // larger frames.
    if (fragments_ >= max_fragments_) return Err(CloseCode::kMessageTooBig);
    ++fragments_;
  }
  frame_left_ = static_cast<uint32_t>(len);
  mask_phase_ = 0;
  state_ = State::kPayload;
  return true;
}

void FrameParser::unmask(std::span<std::byte> chunk) {
  if (role_ != Role::kServer) return;
  mask_bytes(chunk, mask_, mask_phase_);
  mask_phase_ = static_cast<uint8_t>((mask_phase_ + chunk.size()) & 3);
}

Result<FrameParser::Step, CloseCode> FrameParser::read_control(std::span<std::byte>& in,
                                                               Event& ev) {
  std::span<std::byte> payload;
  if (ctrl_len_ == 0 && in.size() >= frame_left_) {
    payload = in.first(frame_left_);
    in = in.subspan(frame_left_);
    unmask(payload);
  } else {
    const size_t n = std::min<size_t>(frame_left_, in.size());
    if (n == 0) return Step::kNeedMore;
    reserve(msg_len_ + ctrl_len_ + n, msg_len_ + kMaxControlPayload);
    auto chunk = in.first(n);
    in = in.subspan(n);
    unmask(chunk);
    std::memcpy(buf_ + msg_len_ + ctrl_len_, chunk.data(), n);
    ctrl_len_ = static_cast<uint8_t>(ctrl_len_ + n);
    frame_left_ -= static_cast<uint32_t>(n);
    if (frame_left_ > 0) return Step::kNeedMore;
    payload = {buf_ + msg_len_, ctrl_len_};
    ctrl_len_ = 0;
  }
  frame_left_ = 0;
  state_ = State::kHeader;
  return control_event(payload, ev);
}

Result<FrameParser::Step, CloseCode> FrameParser::control_event(std::span<const std::byte> payload,
                                                                Event& ev) {
  ev.opcode = frame_op_;
  ev.payload = payload;
  switch (frame_op_) {
    case Opcode::kPing:
      ev.kind = Event::Kind::kPing;
      return Step::kEvent;
    case Opcode::kPong:
      ev.kind = Event::Kind::kPong;
      return Step::kEvent;
    default:
      return close_event(payload, ev);
  }
}

Result<FrameParser::Step, CloseCode> FrameParser::close_event(std::span<const std::byte> payload,
                                                              Event& ev) {
  // RFC 6455 §5.5.1: after a close frame the peer sends no more frames.
  state_ = State::kDone;
  ev.kind = Event::Kind::kClose;
  if (payload.empty()) {
    ev.close_code = static_cast<uint16_t>(CloseCode::kNoStatus);
    return Step::kEvent;
  }
  if (payload.size() == 1) return Err(CloseCode::kProtocolError);
  const auto code = static_cast<uint16_t>(read_be(payload, 0, 2));
  if (!is_valid_wire_close_code(code)) return Err(CloseCode::kProtocolError);
  const auto reason = payload.subspan(2);
  // RFC 6455 §7.1.6: the reason is UTF-8.
  if (!is_valid_utf8(reason)) return Err(CloseCode::kInvalidPayload);
  ev.close_code = code;
  ev.close_reason = as_string_view(reason);
  return Step::kEvent;
}

Result<FrameParser::Step, CloseCode> FrameParser::read_data(std::span<std::byte>& in, Event& ev) {
  const bool text = msg_op_ == Opcode::kText;
  // Zero copy: the rest of the message lies wholly in `in`.
  if (msg_len_ == 0 && fin_ && in.size() >= frame_left_) {
    auto payload = in.first(frame_left_);
    in = in.subspan(frame_left_);
    frame_left_ = 0;
    state_ = State::kHeader;
    unmask(payload);
    if (text && !utf8_.feed(payload)) return Err(CloseCode::kInvalidPayload);
    return finish_message(payload, ev);
  }
  const size_t n = std::min<size_t>(frame_left_, in.size());
  if (n > 0) {
    auto chunk = in.first(n);
    in = in.subspan(n);
    unmask(chunk);
    // Fail fast: bad text is reported before the rest of the frame arrives.
    if (text && !utf8_.feed(chunk)) return Err(CloseCode::kInvalidPayload);
    reserve(msg_len_ + n, msg_len_ + frame_left_ + kMaxControlPayload);
    std::memcpy(buf_ + msg_len_, chunk.data(), n);
    msg_len_ += static_cast<uint32_t>(n);
    frame_left_ -= static_cast<uint32_t>(n);
  }
  if (frame_left_ > 0) return Step::kNeedMore;
  state_ = State::kHeader;
  if (!fin_) return Step::kFrameDone;
  return finish_message({buf_, msg_len_}, ev);
}

Result<FrameParser::Step, CloseCode> FrameParser::finish_message(std::span<const std::byte> payload,
                                                                 Event& ev) {
  // RFC 6455 §8.1: a text message must end on a code point boundary.
  if (msg_op_ == Opcode::kText && !utf8_.complete()) {
    return Err(CloseCode::kInvalidPayload);
  }
  ev.kind = Event::Kind::kMessage;
  ev.opcode = msg_op_;
  ev.payload = payload;
  msg_op_ = Opcode::kContinuation;
  msg_len_ = 0;
  return Step::kEvent;
}

// Grows buf_ to hold `required` bytes, doubling but never past `hint` (what
// the current frame can still need), so a peer announcing a large frame
// does not get memory ahead of the bytes it actually sends.
void FrameParser::reserve(size_t required, size_t hint) {
  if (required <= buf_cap_) return;
  size_t cap = std::max<size_t>(size_t{buf_cap_} * 2, kMinBuffer);
  cap = std::max(std::min(cap, hint), required);
  void* grown = std::realloc(buf_, cap);
  RC_CHECK(grown != nullptr);
  buf_ = static_cast<std::byte*>(grown);
  buf_cap_ = static_cast<uint32_t>(cap);
}

}  // namespace ringchat::ws
