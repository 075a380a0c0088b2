// libFuzzer target: the HTTP request path, as chat::HttpFront drives it.
// The input is the bytes a client sends on one connection: pipelined
// requests are parsed one after the other by http::RequestParser, each is
// routed (http::Router over the server's routes), its query read
// (http::query_param), an upgrade checked (ws::check_upgrade) and answered
// (http::make_response). Parsing whole, byte by byte and in two pieces must
// agree; every answer must be well-formed.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.h"
#include "ringchat/http/request_parser.h"
#include "ringchat/http/response.h"
#include "ringchat/http/router.h"
#include "ringchat/http/uri.h"
#include "ringchat/ws/handshake.h"

namespace {

using ringchat::http::Limits;
using ringchat::http::Method;
using ringchat::http::Request;
using ringchat::http::RequestParser;

// Small enough that the header budget, the field count and the body limit
// are all within a fuzzer's reach.
constexpr Limits kLimits{.max_header_bytes = 512, .max_body_bytes = 256, .max_header_fields = 16};

// The routes of chat::HttpFront.
const ringchat::http::Router<int>& routes() {
  static const auto* r = [] {
    auto* router = new ringchat::http::Router<int>;
    router->add({Method::kGet}, "/", 0);
    router->add({Method::kGet}, "/healthz", 1);
    router->add({Method::kGet}, "/readyz", 2);
    router->add({Method::kGet}, "/metrics", 3);
    router->add({Method::kGet}, "/ws", 4);
    router->add({Method::kGet}, "/sse/{room...}", 5);
    router->add({Method::kGet, Method::kPost, Method::kPut, Method::kDelete, Method::kOptions},
                "/ws/{room...}", 6);
    router->add({Method::kPost}, "/rooms/{room}/messages", 7);
    router->add({Method::kGet}, "/rooms/{room}/messages", 8);
    router->add({Method::kGet}, "/rooms/{room}/presence", 9);
    router->add({Method::kGet}, "/rooms", 10);
    return router;
  }();
  return *r;
}

struct Parsed {
  int status = 0;  // the error, 0 if none
  std::vector<Request> requests;
  size_t consumed = 0;  // by the complete requests
  bool operator==(const Parsed&) const = default;
};

// Every line of `head` ends in CRLF, and no CR or LF is anywhere else.
bool well_formed_lines(std::string_view head) {
  size_t at = 0;
  while (at < head.size()) {
    const size_t crlf = head.find("\r\n", at);
    if (crlf == std::string_view::npos) return false;
    const std::string_view line = head.substr(at, crlf - at);
    if (line.find_first_of("\r\n") != std::string_view::npos) return false;
    at = crlf + 2;
  }
  return true;
}

// What the server would do with one complete request.
void serve(const Request& req) {
  FUZZ_CHECK(req.body.size() <= kLimits.max_body_bytes);
  // split_target's forms; CONNECT's authority-form leaves the path empty.
  FUZZ_CHECK(req.path.empty() || req.path[0] == '/' || req.path == "*");
  const auto m = routes().match(req.method, req.path);
  FUZZ_CHECK(m.status == 200 || m.status == 404 || m.status == 405);
  FUZZ_CHECK((m.status == 200) == (m.handler != nullptr));
  for (size_t i = 0; i < m.params.size(); ++i) {
    const std::string_view v = m.params.value(i);
    FUZZ_CHECK(!v.empty());
    FUZZ_CHECK(v.data() >= req.path.data() &&
               v.data() + v.size() <= req.path.data() + req.path.size());
  }
  for (std::string_view name : {"since", "limit", "after", "lastEventId", "token"}) {
    (void)ringchat::http::query_param(req.query, name);
  }
  std::string path, query;
  (void)ringchat::http::split_target(req.target, path, query);
  const ringchat::ws::Upgrade up = ringchat::ws::check_upgrade(req);
  FUZZ_CHECK(up.status == 101 || up.status == 400 || up.status == 426);
  FUZZ_CHECK(well_formed_lines(up.headers));
  const std::string resp = up.status == 101
                               ? ringchat::http::make_response(101, {}, {}, true, up.headers)
                               : ringchat::http::make_error(up.status, up.detail, up.headers);
  const size_t end = resp.find("\r\n\r\n");
  FUZZ_CHECK(end != std::string::npos);
  FUZZ_CHECK(well_formed_lines(std::string_view(resp).substr(0, end + 2)));
}

// Feeds `text` cut at `cuts` (ascending) to one parser, serving requests
// as they complete, until an error or the end of the input.
Parsed parse(std::string_view text, const std::vector<size_t>& cuts, const Limits& limits) {
  RequestParser parser(limits);
  Parsed out;
  size_t fed = 0;  // bytes of text handed to feed() and not given back
  std::string_view pending;
  size_t next_cut = 0;
  size_t served = 0;
  for (;;) {
    if (pending.empty()) {
      if (fed == text.size()) break;
      const size_t end = next_cut < cuts.size() ? cuts[next_cut++] : text.size();
      pending = text.substr(fed, end - fed);
      fed = end;
    }
    auto r = parser.feed(pending);
    if (!r.ok()) {
      out.status = r.error();
      FUZZ_CHECK(out.status == 400 || out.status == 413 || out.status == 431 || out.status == 501 ||
                 out.status == 505);
      auto again = parser.feed(pending);  // the same error until reset()
      FUZZ_CHECK(!again.ok() && again.error() == out.status);
      return out;
    }
    FUZZ_CHECK(*r <= pending.size());
    served += *r;
    pending.remove_prefix(*r);
    if (!parser.done()) {
      FUZZ_CHECK(pending.empty());  // an incomplete request takes every byte
      continue;
    }
    FUZZ_CHECK(parser.feed(pending).ok() && *parser.feed(pending) == 0);
    out.requests.push_back(parser.request());
    out.consumed = served;
    if (parser.request().upgrade) break;  // the rest is the new protocol's
    parser.reset();
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const Parsed whole = parse(text, {}, kLimits);
  for (const Request& r : whole.requests) serve(r);
  if (size <= 1024) {
    std::vector<size_t> every;
    for (size_t i = 1; i < size; ++i) every.push_back(i);
    FUZZ_CHECK(parse(text, every, kLimits) == whole);
  }
  if (size > 1) {
    const size_t cut = (size_t{data[0]} * 131 + size_t{data[size - 1]}) % (size - 1) + 1;
    FUZZ_CHECK(parse(text, {cut}, kLimits) == whole);
  }
  (void)parse(text, {}, Limits{});  // the server's defaults
  return 0;
}
