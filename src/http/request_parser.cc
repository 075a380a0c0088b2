#include "ringchat/http/request_parser.h"

#include <algorithm>
#include <string_view>

#include "ringchat/core/check.h"
#include "ringchat/http/uri.h"

namespace ringchat::http {
namespace {

// Callbacks may return -1 (error), 0 (go on) or HPE_PAUSED; llhttp_execute
// then reports HPE_USER or HPE_PAUSED.
constexpr int kCallbackError = -1;

Method method_of(uint8_t llhttp_method) {
  switch (llhttp_method) {
    case HTTP_GET:
      return Method::kGet;
    case HTTP_HEAD:
      return Method::kHead;
    case HTTP_POST:
      return Method::kPost;
    case HTTP_PUT:
      return Method::kPut;
    case HTTP_DELETE:
      return Method::kDelete;
    case HTTP_OPTIONS:
      return Method::kOptions;
    default:
      return Method::kOther;
  }
}

// RFC 9110 §5.6.2: tchar, what a header field name is made of.
bool is_tchar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
    return true;
  }
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// The status a llhttp error earns (the callbacks pick their own).
int status_for(llhttp_errno_t err, const llhttp_t& parser) {
  switch (err) {
    case HPE_INVALID_VERSION:  // "HTTP/3.0" is well-formed but not ours
      return parser.http_major != 1 ? 505 : 400;
    case HPE_PAUSED_H2_UPGRADE:  // "PRI * HTTP/2.0": prior-knowledge HTTP/2
      return 505;
    default:
      return 400;
  }
}

// Trims optional whitespace (RFC 9110 §5.6.3) from s[from..] in place.
void trim_tail_from(std::string& s, size_t from) {
  size_t end = s.size();
  while (end > from && (s[end - 1] == ' ' || s[end - 1] == '\t')) --end;
  size_t begin = from;
  while (begin < end && (s[begin] == ' ' || s[begin] == '\t')) ++begin;
  s.erase(end);
  s.erase(from, begin - from);
}

}  // namespace

RequestParser::RequestParser(Limits limits) : limits_(limits) {
  RC_CHECK(limits_.max_header_bytes > 0);
  llhttp_init(&parser_, HTTP_REQUEST, &settings());
  parser_.data = this;
}

const llhttp_settings_t& RequestParser::settings() {
  static const llhttp_settings_t kSettings = [] {
    llhttp_settings_t s;
    llhttp_settings_init(&s);
    s.on_url = &on_url;
    s.on_header_field = &on_header_field;
    s.on_header_field_complete = &on_header_field_complete;
    s.on_header_value = &on_header_value;
    s.on_header_value_complete = &on_header_value_complete;
    s.on_headers_complete = &on_headers_complete;
    s.on_chunk_extension_name = &on_chunk_extension;
    s.on_chunk_extension_value = &on_chunk_extension;
    s.on_body = &on_body;
    s.on_message_complete = &on_message_complete;
    return s;
  }();
  return kSettings;
}

void RequestParser::reset() {
  llhttp_init(&parser_, HTTP_REQUEST, &settings());
  parser_.data = this;
  request_ = Request{};
  field_ = std::string{};
  transfer_encoding_ = std::string{};
  header_bytes_ = 0;
  value_start_ = 0;
  seen_ = 0;
  slot_ = Slot::kNone;
  error_ = 0;
  headers_complete_ = false;
  done_ = false;
}

Result<size_t, int> RequestParser::feed(std::span<const char> in) {
  if (error_ != 0) return Err(error_);
  if (done_ || in.empty()) return size_t{0};
  size_t consumed = 0;
  if (!headers_complete_) {
    // Give llhttp no more than the header budget allows, so an oversized
    // head is refused the moment it passes the limit, whatever the split.
    size_t budget = limits_.max_header_bytes - header_bytes_;
    size_t n = std::min(in.size(), budget);
    auto r = execute(in.data(), n);
    if (!r.ok() || done_) return r;
    consumed = *r;
    if (!headers_complete_) {
      header_bytes_ += n;
      if (in.size() > n) return fail(431);
      return consumed;
    }
  }
  auto r = execute(in.data() + consumed, in.size() - consumed);
  if (!r.ok()) return r;
  return consumed + *r;
}

Result<size_t, int> RequestParser::execute(const char* data, size_t len) {
  if (len == 0) return size_t{0};
  llhttp_errno_t err = llhttp_execute(&parser_, data, len);
  if (err == HPE_OK) return len;
  if ((err == HPE_PAUSED || err == HPE_PAUSED_UPGRADE) && done_) {
    return size_t(llhttp_get_error_pos(&parser_) - data);
  }
  if (error_ != 0) return Err(error_);
  return fail(status_for(err, parser_));
}

Result<size_t, int> RequestParser::fail(int status) {
  error_ = status;
  done_ = false;
  return Err(status);
}

int RequestParser::fail_in_callback(int status) {
  error_ = status;
  return kCallbackError;
}

RequestParser& RequestParser::self(llhttp_t* p) { return *static_cast<RequestParser*>(p->data); }

int RequestParser::on_url(llhttp_t* p, const char* at, size_t len) {
  self(p).request_.target.append(at, len);
  return 0;
}

int RequestParser::on_header_field(llhttp_t* p, const char* at, size_t len) {
  RequestParser& s = self(p);
  // RFC 9112 §5.1: whitespace before the colon must be rejected with 400;
  // llhttp (non-strict) lets it and other non-token bytes through.
  if (!std::all_of(at, at + len, is_tchar)) return s.fail_in_callback(400);
  if (s.headers_complete_) return s.count_after_headers(len, 431);
  s.field_.append(at, len);
  return 0;
}

int RequestParser::on_header_field_complete(llhttp_t* p) {
  RequestParser& s = self(p);
  if (s.headers_complete_) return 0;  // a trailer: counted, not kept
  s.slot_ = slot_for(s.field_);
  s.field_.clear();
  if (s.slot_ == Slot::kNone) return 0;
  uint16_t bit = uint16_t(1u << int(s.slot_));
  std::string* target = s.target_of(s.slot_);
  if ((s.seen_ & bit) != 0) {
    if (!is_list(s.slot_)) {
      s.request_.has_header_dupes = true;
      s.slot_ = Slot::kNone;
      return 0;
    }
    if (!target->empty()) target->append(", ");
  }
  s.seen_ |= bit;
  s.value_start_ = target->size();
  return 0;
}

int RequestParser::on_header_value(llhttp_t* p, const char* at, size_t len) {
  RequestParser& s = self(p);
  if (s.headers_complete_) return s.count_after_headers(len, 431);
  if (s.slot_ != Slot::kNone) s.target_of(s.slot_)->append(at, len);
  return 0;
}

int RequestParser::on_chunk_extension(llhttp_t* p, const char*, size_t len) {
  return self(p).count_after_headers(len, 413);
}

// Trailers and chunk extensions are parsed but not kept; counting them
// against max_header_bytes keeps a request from streaming them forever.
int RequestParser::count_after_headers(size_t len, int status) {
  if (len > limits_.max_header_bytes - header_bytes_) {
    return fail_in_callback(status);
  }
  header_bytes_ += len;
  return 0;
}

int RequestParser::on_header_value_complete(llhttp_t* p) {
  RequestParser& s = self(p);
  if (s.slot_ == Slot::kNone) return 0;
  std::string& target = *s.target_of(s.slot_);
  trim_tail_from(target, s.value_start_);
  // An empty repeat of a list header adds no element: drop its ", ".
  if (target.size() == s.value_start_ && s.value_start_ >= 2) {
    target.erase(s.value_start_ - 2);
  }
  s.slot_ = Slot::kNone;
  return 0;
}

int RequestParser::on_headers_complete(llhttp_t* p) { return self(p).headers_complete(); }

int RequestParser::headers_complete() {
  headers_complete_ = true;
  header_bytes_ = 0;  // from now on: trailer and chunk extension bytes
  if (parser_.http_major != 1) return fail_in_callback(505);
  // RFC 9112 §6.1: a server answers 501 to a transfer coding it does not
  // understand; we understand only chunked, alone.
  if ((parser_.flags & F_TRANSFER_ENCODING) != 0 && !iequals(transfer_encoding_, "chunked")) {
    return fail_in_callback(501);
  }
  if ((parser_.flags & F_CONTENT_LENGTH) != 0 && parser_.content_length > limits_.max_body_bytes) {
    return fail_in_callback(413);
  }
  if (!split_target(request_.target, request_.path, request_.query)) {
    if (parser_.method != HTTP_CONNECT) return fail_in_callback(400);
  }
  request_.method = method_of(parser_.method);
  request_.version_minor = parser_.http_minor;
  request_.upgrade = parser_.upgrade != 0;
  request_.keep_alive = llhttp_should_keep_alive(&parser_) != 0;
  field_ = std::string{};
  return 0;
}

int RequestParser::on_body(llhttp_t* p, const char* at, size_t len) {
  RequestParser& s = self(p);
  if (len > s.limits_.max_body_bytes - s.request_.body.size()) {
    return s.fail_in_callback(413);
  }
  s.request_.body.append(at, len);
  return 0;
}

int RequestParser::on_message_complete(llhttp_t* p) {
  RequestParser& s = self(p);
  s.done_ = true;
  s.request_.keep_alive = llhttp_should_keep_alive(p) != 0;
  // Stop here: the next pipelined request (or the upgraded protocol's
  // bytes) stays with the caller.
  return HPE_PAUSED;
}

RequestParser::Slot RequestParser::slot_for(std::string_view name) {
  struct Entry {
    std::string_view name;
    Slot slot;
  };
  static constexpr Entry kEntries[] = {
      {"host", Slot::kHost},
      {"upgrade", Slot::kUpgrade},
      {"connection", Slot::kConnection},
      {"sec-websocket-key", Slot::kSecWebSocketKey},
      {"sec-websocket-version", Slot::kSecWebSocketVersion},
      {"sec-websocket-protocol", Slot::kSecWebSocketProtocol},
      {"origin", Slot::kOrigin},
      {"authorization", Slot::kAuthorization},
      {"last-event-id", Slot::kLastEventId},
      {"content-type", Slot::kContentType},
      {"transfer-encoding", Slot::kTransferEncoding},
  };
  for (const Entry& e : kEntries) {
    if (iequals(name, e.name)) return e.slot;
  }
  return Slot::kNone;
}

bool RequestParser::is_list(Slot slot) {
  return slot == Slot::kUpgrade || slot == Slot::kConnection ||
         slot == Slot::kSecWebSocketProtocol || slot == Slot::kTransferEncoding;
}

std::string* RequestParser::target_of(Slot slot) {
  switch (slot) {
    case Slot::kHost:
      return &request_.host;
    case Slot::kUpgrade:
      return &request_.upgrade_header;
    case Slot::kConnection:
      return &request_.connection;
    case Slot::kSecWebSocketKey:
      return &request_.sec_websocket_key;
    case Slot::kSecWebSocketVersion:
      return &request_.sec_websocket_version;
    case Slot::kSecWebSocketProtocol:
      return &request_.sec_websocket_protocol;
    case Slot::kOrigin:
      return &request_.origin;
    case Slot::kAuthorization:
      return &request_.authorization;
    case Slot::kLastEventId:
      return &request_.last_event_id;
    case Slot::kContentType:
      return &request_.content_type;
    case Slot::kTransferEncoding:
      return &transfer_encoding_;
    case Slot::kNone:
      break;
  }
  RC_CHECK(false);
  return nullptr;
}

}  // namespace ringchat::http
