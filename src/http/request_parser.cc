#include "ringchat/http/request_parser.h"

#include <algorithm>
#include <cstring>
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

// The status a llhttp error earns (the callbacks pick their own). A
// well-formed version we do not speak is refused (505) by
// on_version_complete; HPE_INVALID_VERSION is left for malformed ones
// ("HTTP/1.x", "HTTP/12.0"), which are 400.
int status_for(llhttp_errno_t err) {
  return err == HPE_PAUSED_H2_UPGRADE ? 505 : 400;  // "PRI * HTTP/2.0"
}

// RFC 9112 §5.2: obs-fold is a line end followed by SP or HTAB.
bool is_fold_ws(char c) { return c == ' ' || c == '\t'; }

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
  init_llhttp();
}

void RequestParser::init_llhttp() {
  llhttp_init(&parser_, HTTP_REQUEST, &settings());
  parser_.data = this;
  // llhttp refuses "HTTP/1.9" itself, as malformed; with this it hands every
  // DIGIT.DIGIT version to on_version_complete, which answers 505.
  parser_.lenient_flags |= LENIENT_VERSION;
}

const llhttp_settings_t& RequestParser::settings() {
  static const llhttp_settings_t kSettings = [] {
    llhttp_settings_t s;
    llhttp_settings_init(&s);
    s.on_url = &on_url;
    s.on_version_complete = &on_version_complete;
    s.on_header_field = &on_header_field;
    s.on_header_field_complete = &on_header_field_complete;
    s.on_header_value = &on_header_value;
    s.on_header_value_complete = &on_header_value_complete;
    s.on_headers_complete = &on_headers_complete;
    s.on_chunk_header = &on_chunk_header;
    s.on_chunk_extension_name = &on_chunk_extension;
    s.on_chunk_extension_value = &on_chunk_extension;
    s.on_body = &on_body;
    s.on_message_complete = &on_message_complete;
    return s;
  }();
  return kSettings;
}

void RequestParser::reset() {
  init_llhttp();
  request_ = Request{};
  field_ = std::string{};
  transfer_encoding_ = std::string{};
  section_bytes_ = 0;
  extension_bytes_ = 0;
  fields_ = 0;
  value_start_ = 0;
  seen_ = 0;
  slot_ = Slot::kNone;
  phase_ = Phase::kHead;
  after_lf_ = false;
  error_ = 0;
  done_ = false;
  arrival_ = 0;
}

// llhttp pauses at every change of phase (end of the head, the last chunk,
// the end of the request), so each piece of input goes to llhttp under the
// rules of the phase it belongs to. After a change of phase llhttp runs
// again even with no input left: a request without a body completes then.
Result<size_t, int> RequestParser::feed(std::span<const char> in) {
  if (error_ != 0) return Err(error_);
  size_t consumed = 0;
  bool phase_changed = false;
  while (!done_ && (consumed < in.size() || phase_changed)) {
    const Phase phase = phase_;
    auto rest = in.subspan(consumed);
    auto r = phase == Phase::kBody ? execute(rest.data(), rest.size()) : feed_section(rest);
    if (!r.ok()) return r;
    consumed += *r;
    phase_changed = phase_ != phase;
    // Each round takes all of `rest`, or stops at a change of phase.
    RC_DCHECK(consumed == in.size() || phase_changed || done_);
  }
  return consumed;
}

// A head or a trailer section: llhttp gets no more than the budget allows,
// so an oversized section is refused the moment it passes the limit,
// whatever the split; and nothing past a folded line.
Result<size_t, int> RequestParser::feed_section(std::span<const char> in) {
  const Phase phase = phase_;
  const size_t n = std::min(in.size(), limits_.max_header_bytes - section_bytes_);
  const size_t fold = find_fold(in.first(n));
  auto r = execute(in.data(), fold);
  if (!r.ok()) return r;
  section_bytes_ += *r;
  if (*r > 0) after_lf_ = in[*r - 1] == '\n';
  if (phase_ != phase || done_) return r;  // the section ended within
  // RFC 9112 §5.2: a server must reject obs-fold in a request (or replace
  // it, which we do not); §2.2: likewise whitespace before the first field.
  if (fold < n) return fail(400);
  if (n < in.size()) return fail(431);
  return r;
}

// Where in `in` the first line starting with SP or HTAB begins (a fold, if
// it is still in the section), or in.size().
size_t RequestParser::find_fold(std::span<const char> in) const {
  if (in.empty()) return 0;
  if (after_lf_ && is_fold_ws(in[0])) return 0;
  const char* const end = in.data() + in.size();
  for (const char* p = in.data();; ++p) {
    p = static_cast<const char*>(std::memchr(p, '\n', size_t(end - p)));
    if (p == nullptr || p + 1 == end) return in.size();
    if (is_fold_ws(p[1])) return size_t(p + 1 - in.data());
  }
}

// Runs llhttp over data[0, len), also when len is 0: llhttp may have steps
// to take that need no input. REQUIRES: data is not null.
Result<size_t, int> RequestParser::execute(const char* data, size_t len) {
  llhttp_errno_t err = llhttp_execute(&parser_, data, len);
  if (err == HPE_OK) return len;
  if (err == HPE_PAUSED || (err == HPE_PAUSED_UPGRADE && done_)) {
    if (!done_) llhttp_resume(&parser_);
    return size_t(llhttp_get_error_pos(&parser_) - data);
  }
  if (error_ != 0) return Err(error_);
  return fail(status_for(err));
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

// RFC 9110 §2.5 would let a server read HTTP/1.2 and up as 1.1; no such
// version exists, so it is refused like every other version we do not
// speak, as the README promises.
int RequestParser::on_version_complete(llhttp_t* p) {
  if (p->http_major != 1 || p->http_minor > 1) return self(p).fail_in_callback(505);
  return 0;
}

int RequestParser::on_header_field(llhttp_t* p, const char* at, size_t len) {
  RequestParser& s = self(p);
  // RFC 9112 §5.1: whitespace before the colon must be rejected with 400;
  // llhttp (non-strict) lets it and other non-token bytes through.
  if (!std::all_of(at, at + len, is_tchar)) return s.fail_in_callback(400);
  if (s.phase_ == Phase::kHead) s.field_.append(at, len);
  return 0;
}

int RequestParser::on_header_field_complete(llhttp_t* p) {
  RequestParser& s = self(p);
  // Each field costs a little beyond its bytes (a callback round, a slot
  // lookup): bounded, trailers included.
  if (++s.fields_ > s.limits_.max_header_fields) return s.fail_in_callback(431);
  if (s.phase_ != Phase::kHead) return 0;  // a trailer: counted, not kept
  s.slot_ = slot_for(s.field_);
  s.field_.clear();
  if (s.slot_ == Slot::kNone) return 0;
  uint16_t bit = uint16_t(1u << int(s.slot_));
  // User-Agent is only logged: kept when asked for, its repeats ignored
  // (they are no reason to refuse a handshake).
  if (s.slot_ == Slot::kUserAgent && (s.limits_.max_user_agent == 0 || (s.seen_ & bit) != 0)) {
    s.slot_ = Slot::kNone;
    return 0;
  }
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
  if (s.slot_ == Slot::kUserAgent) {
    const size_t room =
        s.limits_.max_user_agent - std::min(s.limits_.max_user_agent, s.request_.user_agent.size());
    s.request_.user_agent.append(at, std::min(len, room));
  } else if (s.slot_ != Slot::kNone) {
    s.target_of(s.slot_)->append(at, len);
  }
  return 0;
}

// The size line of a chunk is read: one over the body budget is refused
// now, not after its bytes. The last chunk (size 0) starts the trailers.
int RequestParser::on_chunk_header(llhttp_t* p) {
  RequestParser& s = self(p);
  if (p->content_length > s.limits_.max_body_bytes - s.request_.body.size()) {
    return s.fail_in_callback(413);
  }
  if (p->content_length != 0) return 0;
  s.phase_ = Phase::kTrailers;
  s.after_lf_ = true;  // the size line's
  return HPE_PAUSED;
}

// Chunk extensions are parsed but not kept; counting them against
// max_header_bytes keeps a request from streaming them forever.
int RequestParser::on_chunk_extension(llhttp_t* p, const char*, size_t len) {
  RequestParser& s = self(p);
  if (len > s.limits_.max_header_bytes - s.extension_bytes_) return s.fail_in_callback(413);
  s.extension_bytes_ += len;
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
  phase_ = Phase::kBody;
  // A request without a version ("GET /\r\n", HTTP/0.9) has none to check
  // in on_version_complete.
  if (parser_.http_major != 1 || parser_.http_minor > 1) return fail_in_callback(505);
  const bool has_te = (parser_.flags & F_TRANSFER_ENCODING) != 0;
  // RFC 9112 §6.1: Transfer-Encoding in an HTTP/1.0 message is faulty
  // framing (1.0 has no chunked coding): refused, whatever its value.
  if (has_te && parser_.http_minor == 0) return fail_in_callback(400);
  // RFC 9112 §6.1: a server answers 501 to a transfer coding it does not
  // understand; we understand only chunked, alone.
  if (has_te && !iequals(transfer_encoding_, "chunked")) return fail_in_callback(501);
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
  // Pause: the bytes after the head are not the head's (no budget, no
  // fold scan).
  return HPE_PAUSED;
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
      {"user-agent", Slot::kUserAgent},
      {"if-none-match", Slot::kIfNoneMatch},
  };
  for (const Entry& e : kEntries) {
    if (iequals(name, e.name)) return e.slot;
  }
  return Slot::kNone;
}

bool RequestParser::is_list(Slot slot) {
  return slot == Slot::kUpgrade || slot == Slot::kConnection ||
         slot == Slot::kSecWebSocketProtocol || slot == Slot::kTransferEncoding ||
         slot == Slot::kIfNoneMatch;
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
    case Slot::kUserAgent:
      return &request_.user_agent;
    case Slot::kIfNoneMatch:
      return &request_.if_none_match;
    case Slot::kNone:
      break;
  }
  RC_CHECK(false);
  return nullptr;
}

}  // namespace ringchat::http
