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
  //   400 malformed (llhttp's verdict, a bad header name, a bad target);
  //   413 Content-Length or chunked body over max_body_bytes, or chunk
  //       extensions over max_header_bytes;
  //   431 request line + headers over max_header_bytes, counted across
  //       feeds and reported as soon as the limit is passed; likewise
  //       trailers;
  //   501 a Transfer-Encoding other than chunked;
  //   505 an HTTP version other than 1.x.
  // After an error every call returns it again until reset(). When done(),
  // consumes nothing.
  Result<size_t, int> feed(std::span<const char> in);

  // A complete request is ready.
  bool done() const { return done_; }
  // REQUIRES: done() (before, it holds a partial request).
  const Request& request() const { return request_; }
  // Ready for the next request on the same connection; frees the old one.
  void reset();

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
  };

  static RequestParser& self(llhttp_t* p);
  static const llhttp_settings_t& settings();
  static int on_url(llhttp_t* p, const char* at, size_t len);
  static int on_header_field(llhttp_t* p, const char* at, size_t len);
  static int on_header_field_complete(llhttp_t* p);
  static int on_header_value(llhttp_t* p, const char* at, size_t len);
  static int on_header_value_complete(llhttp_t* p);
  static int on_headers_complete(llhttp_t* p);
  static int on_chunk_extension(llhttp_t* p, const char* at, size_t len);
  static int on_body(llhttp_t* p, const char* at, size_t len);
  static int on_message_complete(llhttp_t* p);

  static Slot slot_for(std::string_view name);
  static bool is_list(Slot slot);
  std::string* target_of(Slot slot);
  int headers_complete();
  int count_after_headers(size_t len, int status);
  int fail_in_callback(int status);
  Result<size_t, int> execute(const char* data, size_t len);
  Result<size_t, int> fail(int status);

  llhttp_t parser_;
  Limits limits_;
  Request request_;
  std::string field_;              // header name so far (arrives in pieces)
  std::string transfer_encoding_;  // checked at the end of the headers
  // Before the headers complete: header bytes given to llhttp so far;
  // after: trailer and chunk extension bytes (parsed, not kept).
  size_t header_bytes_ = 0;
  size_t value_start_ = 0;   // where this value starts in its target
  uint16_t seen_ = 0;        // bit per Slot already present
  Slot slot_ = Slot::kNone;  // slot of the header being read
  int error_ = 0;            // status to answer, once failed
  bool headers_complete_ = false;
  bool done_ = false;
};

}  // namespace ringchat::http
