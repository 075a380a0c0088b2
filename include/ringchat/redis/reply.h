#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "ringchat/core/result.h"

// hiredis's reply type, declared here so callers never include hiredis.
struct redisReply;

namespace ringchat::redis {

// The RESP2 reply types (hiredis 0.14 knows no RESP3 push type).
enum class ReplyType : uint8_t { kString, kStatus, kError, kInteger, kNil, kArray };
std::string_view to_string(ReplyType t);

// A non-owning view of one decoded reply (hiredis's redisReply). Cheap to
// copy; valid while the OwnedReply it came from lives (for Link's
// Handler::on_reply: during the call only).
// Thread: whoever holds the reply.
class Reply {
 public:
  explicit Reply(const redisReply* r) : r_(r) {}

  ReplyType type() const;
  bool is_error() const { return type() == ReplyType::kError; }
  bool is_nil() const { return type() == ReplyType::kNil; }
  // The bytes of a string, status or error (binary safe); empty otherwise.
  std::string_view str() const;
  // An integer reply's value; 0 otherwise.
  int64_t integer() const;
  // An array's element count; 0 otherwise.
  size_t size() const;
  // REQUIRES: type() == kArray and i < size().
  Reply operator[](size_t i) const;
  // For messages and tests: `"text"`, `-ERR ...`, `+OK`, `42`, `nil`,
  // `["a", 1]` (strings shown as they are, not escaped).
  std::string debug_string() const;

 private:
  const redisReply* r_;
};

// One reply taken from a Decoder: owns it and frees it (freeReplyObject).
// Thread: whoever holds it.
class OwnedReply {
 public:
  explicit OwnedReply(redisReply* r) : r_(r) {}
  OwnedReply(OwnedReply&& o) noexcept : r_(o.r_) { o.r_ = nullptr; }
  OwnedReply& operator=(OwnedReply&& o) noexcept;
  OwnedReply(const OwnedReply&) = delete;
  OwnedReply& operator=(const OwnedReply&) = delete;
  ~OwnedReply();

  Reply view() const { return Reply(r_); }
  Reply operator*() const { return view(); }

 private:
  redisReply* r_;
};

// Incremental RESP2 decoder: hiredis's reader (redisReader), no I/O. The
// caller feeds bytes as they arrive, in any pieces, and takes whole replies
// out with next(). A protocol error is final: every later next() returns it.
// Thread: one owner.
class Decoder {
 public:
  Decoder();
  Decoder(const Decoder&) = delete;
  Decoder& operator=(const Decoder&) = delete;
  ~Decoder();

  // Copies `bytes` into the reader's buffer.
  void feed(std::string_view bytes);
  // The next whole reply, nullopt when more bytes are needed, or the
  // protocol error's text.
  Result<std::optional<OwnedReply>, std::string> next();
  // Drops buffered bytes and any error: a fresh decoder (a new connection).
  void reset();

 private:
  void* reader_;  // redisReader*
};

}  // namespace ringchat::redis
