#include "ringchat/redis/reply.h"

#include <hiredis/hiredis.h>

#include "ringchat/core/check.h"

namespace ringchat::redis {

std::string_view to_string(ReplyType t) {
  switch (t) {
    case ReplyType::kString:
      return "string";
    case ReplyType::kStatus:
      return "status";
    case ReplyType::kError:
      return "error";
    case ReplyType::kInteger:
      return "integer";
    case ReplyType::kNil:
      return "nil";
    case ReplyType::kArray:
      return "array";
  }
  return "?";
}

ReplyType Reply::type() const {
  switch (r_->type) {
    case REDIS_REPLY_STRING:
      return ReplyType::kString;
    case REDIS_REPLY_STATUS:
      return ReplyType::kStatus;
    case REDIS_REPLY_ERROR:
      return ReplyType::kError;
    case REDIS_REPLY_INTEGER:
      return ReplyType::kInteger;
    case REDIS_REPLY_ARRAY:
      return ReplyType::kArray;
    default:
      return ReplyType::kNil;
  }
}

std::string_view Reply::str() const {
  switch (r_->type) {
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
    case REDIS_REPLY_ERROR:
      return std::string_view(r_->str, r_->len);
    default:
      return {};
  }
}

int64_t Reply::integer() const {
  return r_->type == REDIS_REPLY_INTEGER ? static_cast<int64_t>(r_->integer) : 0;
}

size_t Reply::size() const { return r_->type == REDIS_REPLY_ARRAY ? r_->elements : 0; }

Reply Reply::operator[](size_t i) const {
  RC_CHECK(r_->type == REDIS_REPLY_ARRAY && i < r_->elements);
  return Reply(r_->element[i]);
}

namespace {
std::string quoted(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  out += '"';
  out += s;
  out += '"';
  return out;
}
std::string prefixed(char c, std::string_view s) {
  std::string out(1, c);
  out += s;
  return out;
}
}  // namespace

std::string Reply::debug_string() const {
  switch (type()) {
    case ReplyType::kString:
      return quoted(str());
    case ReplyType::kStatus:
      return prefixed('+', str());
    case ReplyType::kError:
      return prefixed('-', str());
    case ReplyType::kInteger:
      return std::to_string(integer());
    case ReplyType::kNil:
      return "nil";
    case ReplyType::kArray:
      break;
  }
  std::string out = "[";
  for (size_t i = 0; i < size(); ++i) {
    if (i) out += ", ";
    out += (*this)[i].debug_string();
  }
  out += ']';
  return out;
}

OwnedReply& OwnedReply::operator=(OwnedReply&& o) noexcept {
  if (this != &o) {
    if (r_) freeReplyObject(r_);
    r_ = o.r_;
    o.r_ = nullptr;
  }
  return *this;
}

OwnedReply::~OwnedReply() {
  if (r_) freeReplyObject(r_);
}

namespace {
redisReader* make_reader() {
  redisReader* r = redisReaderCreate();
  RC_CHECK(r != nullptr);
  return r;
}
}  // namespace

Decoder::Decoder() : reader_(make_reader()) {}

Decoder::~Decoder() { redisReaderFree(static_cast<redisReader*>(reader_)); }

void Decoder::feed(std::string_view bytes) {
  if (bytes.empty()) return;
  // Fails only on allocation failure or after a protocol error; next()
  // reports the latter.
  (void)redisReaderFeed(static_cast<redisReader*>(reader_), bytes.data(), bytes.size());
}

Result<std::optional<OwnedReply>, std::string> Decoder::next() {
  auto* r = static_cast<redisReader*>(reader_);
  void* out = nullptr;
  if (r->err != 0 || redisReaderGetReply(r, &out) != REDIS_OK) {
    return Err(std::string("RESP protocol error: ") + r->errstr);
  }
  if (out == nullptr) return std::optional<OwnedReply>();
  return std::optional<OwnedReply>(OwnedReply(static_cast<redisReply*>(out)));
}

void Decoder::reset() {
  redisReaderFree(static_cast<redisReader*>(reader_));
  reader_ = make_reader();
}

}  // namespace ringchat::redis
