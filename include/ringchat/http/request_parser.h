#pragma once
#include <llhttp.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "ringchat/core/result.h"
#include "ringchat/http/request.h"

namespace ringchat::http {

// Incremental HTTP/1.x request parser for one connection, driven by llhttp.
// Pure: no I/O. The caller feeds bytes as they arrive; the parser stops
// right after one complete request so pipelined requests are served one at
// a time. It exists only during a connection's HTTP phase; besides llhttp's
// state it holds the current request and one header name.
// Not movable: llhttp keeps a pointer back to it.
// Thread: owned by its connection, on that connection's shard.
class RequestParser {
 public:
  explicit RequestParser(Limits limits);
  RequestParser(const RequestParser&) = delete;
  RequestParser& operator=(const RequestParser&) = delete;

  // Consumes bytes of the connection and returns how many. Stops right after
  // ONE complete request (done() is then true): the caller handles it, calls
  // reset() and feeds the unconsumed rest again. An upgrade request stops
  // after its headers (and body, if it declared one); the bytes after it
  // belong to the upgraded protocol and are not consumed. Returns every
  // byte while the request is incomplete.
  // Errors are the status to answer before closing:
  //   400 malformed (llhttp's verdict, a bad header name, a bad target, a
  //       header or trailer line folded onto the one before it (obs-fold),
  //       Transfer-Encoding in an HTTP/1.0 request);
  //   413 Content-Length, a chunk size or a chunked body over
  //       max_body_bytes (a chunk as soon as its size line is read), or
  //       chunk extensions over max_header_bytes;
  //   431 request line + headers + trailers over max_header_bytes, counted
  //       across feeds and reported as soon as the limit is passed, or more
  //       than max_header_fields header and trailer fields;
  //   501 a Transfer-Encoding other than chunked;
  //   505 an HTTP version other than 1.0 and 1.1 (HTTP/0.9, 1.2, 2.0, ...),
  //       as soon as the request line has it.
  // After an error every call returns it again until reset(). When done(),
  // consumes nothing.
  Result<size_t, int> feed(std::span<const char> in);

  // A complete request is ready.
  bool done() const { return done_; }
  // Bytes of a request have been taken since construction or reset(): one
  // is under way (or done). False: the connection is between requests.
  bool started() const { return section_bytes_ > 0 || phase_ != Phase::kHead || done_; }
  // REQUIRES: done() (before, it holds a partial request).
  const Request& request() const { return request_; }
  // Ready for the next request on the same connection; frees the old one.
  void reset();

  // When the current request's first byte arrived, on the caller's clock:
  // the first mark_arrival() since construction or reset() sets it (the
  // access log's durations run from there); 0 until then.
  void mark_arrival(uint64_t now) {
    if (arrival_ == 0) arrival_ = now;
  }
  uint64_t arrival() const { return arrival_; }

 private:
  // Where a header's value goes.
  enum class Slot : uint8_t {
    kNone,
    kHost,
    kUpgrade,
    kConnection,
    kSecWebSocketKey,
    kSecWebSocketVersion,
    kSecWebSocketProtocol,
    kOrigin,
    kAuthorization,
    kLastEventId,
    kContentType,
    kTransferEncoding,
    kUserAgent,
    kIfNoneMatch,
  };

  // What the bytes fed next belong to. A request's head and its trailer
  // section are "sections": given to llhttp only as far as
  // max_header_bytes allows, and scanned for folded lines.
  enum class Phase : uint8_t { kHead, kBody, kTrailers };

  static RequestParser& self(llhttp_t* p);
  static const llhttp_settings_t& settings();
  static int on_url(llhttp_t* p, const char* at, size_t len);
  static int on_version_complete(llhttp_t* p);
  static int on_header_field(llhttp_t* p, const char* at, size_t len);
  static int on_header_field_complete(llhttp_t* p);
  static int on_header_value(llhttp_t* p, const char* at, size_t len);
  static int on_header_value_complete(llhttp_t* p);
  static int on_headers_complete(llhttp_t* p);
  static int on_chunk_header(llhttp_t* p);
  static int on_chunk_extension(llhttp_t* p, const char* at, size_t len);
  static int on_body(llhttp_t* p, const char* at, size_t len);
  static int on_message_complete(llhttp_t* p);

  static Slot slot_for(std::string_view name);
  static bool is_list(Slot slot);
  std::string* target_of(Slot slot);
  void init_llhttp();
  int headers_complete();
  int fail_in_callback(int status);
  size_t find_fold(std::span<const char> in) const;
  Result<size_t, int> feed_section(std::span<const char> in);
  Result<size_t, int> execute(const char* data, size_t len);
  Result<size_t, int> fail(int status);

  llhttp_t parser_;
  Limits limits_;
  Request request_;
  std::string field_;              // header name so far (arrives in pieces)
  std::string transfer_encoding_;  // checked at the end of the headers
  size_t section_bytes_ = 0;       // head and trailer bytes given to llhttp so far
  size_t extension_bytes_ = 0;     // chunk extension bytes (parsed, not kept)
  size_t fields_ = 0;              // header and trailer fields so far
  size_t value_start_ = 0;         // where this value starts in its target
  uint16_t seen_ = 0;              // bit per Slot already present
  Slot slot_ = Slot::kNone;        // slot of the header being read
  Phase phase_ = Phase::kHead;
  bool after_lf_ = false;  // the last section byte given to llhttp was LF
  int error_ = 0;          // status to answer, once failed
  uint64_t arrival_ = 0;   // mark_arrival()
  bool done_ = false;
};

}  // namespace ringchat::http
