#include "ringchat/http/request_parser.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace ringchat::http {
namespace {

// What feeding a byte stream produced.
struct Outcome {
  int status = 0;       // 0 while no error
  size_t consumed = 0;  // bytes the parser took
  bool done = false;
  Request request;
};

// Feeds `text` cut at `cuts` (ascending offsets) until a request completes
// or an error stops it.
Outcome feed_pieces(RequestParser& parser, std::string_view text, const std::vector<size_t>& cuts) {
  Outcome out;
  size_t begin = 0;
  for (size_t i = 0; i <= cuts.size() && !out.done; ++i) {
    size_t end = i < cuts.size() ? cuts[i] : text.size();
    auto r = parser.feed(text.substr(begin, end - begin));
    if (!r.ok()) {
      out.status = r.error();
      return out;
    }
    out.consumed += *r;
    out.done = parser.done();
    begin = end;
  }
  if (out.done) out.request = parser.request();
  return out;
}

Outcome feed_pieces(std::string_view text, const std::vector<size_t>& cuts, Limits limits = {}) {
  RequestParser parser(limits);
  return feed_pieces(parser, text, cuts);
}

Outcome parse(std::string_view text, Limits limits = {}) { return feed_pieces(text, {}, limits); }

Outcome parse_byte_by_byte(std::string_view text, Limits limits = {}) {
  std::vector<size_t> cuts;
  for (size_t i = 1; i < text.size(); ++i) cuts.push_back(i);
  return feed_pieces(text, cuts, limits);
}

int status_of(std::string_view text, Limits limits = {}) { return parse(text, limits).status; }

// Every way of feeding `text` (whole, cut once at every offset, a byte at a
// time) ends in `status`, 0 for a complete request.
void expect_status(std::string_view text, int status, Limits limits = {}) {
  Outcome whole = parse(text, limits);
  EXPECT_EQ(whole.status, status) << "whole: " << text;
  if (status == 0) {
    EXPECT_TRUE(whole.done) << text;
  }
  for (size_t cut = 1; cut < text.size(); ++cut) {
    Outcome split = feed_pieces(text, {cut}, limits);
    EXPECT_EQ(split.status, status) << "cut at " << cut << ": " << text;
    if (status == 0) {
      EXPECT_TRUE(split.request == whole.request) << "cut at " << cut;
    }
  }
  EXPECT_EQ(parse_byte_by_byte(text, limits).status, status) << "byte by byte: " << text;
}

// The parts, concatenated ("lit" + std::string trips GCC 12's -Wrestrict).
template <typename... Parts>
std::string cat(const Parts&... parts) {
  std::string out;
  (out.append(parts), ...);
  return out;
}

std::string repeat(std::string_view piece, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) out.append(piece);
  return out;
}

constexpr std::string_view kGet =
    "GET /ws/lobby%20one?since=12:34&token=x HTTP/1.1\r\n"
    "Host: chat.example.test:8080\r\n"
    "User-Agent: test\r\n"
    "Upgrade: websocket\r\n"
    "Connection: keep-alive, Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Sec-WebSocket-Version: 13\r\n"
    "Sec-WebSocket-Protocol: chat, bearer.abc\r\n"
    "Origin: http://chat.example.test\r\n"
    "Authorization: Bearer abc.def.ghi\r\n"
    "\r\n";

constexpr std::string_view kPlainGet =
    "GET /sse/room HTTP/1.1\r\nHost: h\r\nLast-Event-ID: 7:9\r\n\r\n";

constexpr std::string_view kPostLength =
    "POST /rooms/r/messages HTTP/1.1\r\nHost: h\r\n"
    "Content-Type: text/plain\r\nContent-Length: 11\r\n\r\nhello world";

constexpr std::string_view kPostChunked =
    "POST /rooms/r/messages HTTP/1.1\r\nHost: h\r\n"
    "Transfer-Encoding: chunked\r\n\r\n"
    "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n";

TEST(RequestParser, ParsesGetWithHeaders) {
  Outcome o = parse(kGet);
  ASSERT_TRUE(o.done);
  EXPECT_EQ(o.consumed, kGet.size());
  const Request& r = o.request;
  EXPECT_EQ(r.method, Method::kGet);
  EXPECT_EQ(r.target, "/ws/lobby%20one?since=12:34&token=x");
  EXPECT_EQ(r.path, "/ws/lobby one");
  EXPECT_EQ(r.query, "since=12:34&token=x");
  EXPECT_EQ(r.version_minor, 1);
  EXPECT_TRUE(r.keep_alive);
  EXPECT_TRUE(r.upgrade);
  EXPECT_EQ(r.host, "chat.example.test:8080");
  EXPECT_EQ(r.upgrade_header, "websocket");
  EXPECT_EQ(r.connection, "keep-alive, Upgrade");
  EXPECT_EQ(r.sec_websocket_key, "dGhlIHNhbXBsZSBub25jZQ==");
  EXPECT_EQ(r.sec_websocket_version, "13");
  EXPECT_EQ(r.sec_websocket_protocol, "chat, bearer.abc");
  EXPECT_EQ(r.origin, "http://chat.example.test");
  EXPECT_EQ(r.authorization, "Bearer abc.def.ghi");
  EXPECT_FALSE(r.has_header_dupes);
  EXPECT_TRUE(r.body.empty());
}

TEST(RequestParser, MatchesHeaderNamesCaseInsensitivelyAndTrimsValues) {
  Outcome o = parse(
      "GET / HTTP/1.1\r\nHOST:   h1 \t\r\nlast-event-id:\t5:6  \r\n"
      "CONTENT-type: a/b\r\n\r\n");
  ASSERT_TRUE(o.done);
  EXPECT_EQ(o.request.host, "h1");
  EXPECT_EQ(o.request.last_event_id, "5:6");
  EXPECT_EQ(o.request.content_type, "a/b");
}

TEST(RequestParser, MapsMethods) {
  struct Case {
    std::string_view name;
    Method method;
  };
  for (Case c :
       {Case{"GET", Method::kGet}, Case{"HEAD", Method::kHead}, Case{"POST", Method::kPost},
        Case{"PUT", Method::kPut}, Case{"DELETE", Method::kDelete},
        Case{"OPTIONS", Method::kOptions}, Case{"PATCH", Method::kOther}}) {
    std::string text = std::string(c.name) + " /x HTTP/1.1\r\nHost: h\r\n\r\n";
    Outcome o = parse(text);
    ASSERT_TRUE(o.done) << c.name;
    EXPECT_EQ(o.request.method, c.method) << c.name;
  }
}

TEST(RequestParser, GivesSameRequestAtEverySplitOffset) {
  for (std::string_view text : {kGet, kPlainGet, kPostLength, kPostChunked}) {
    Outcome whole = parse(text);
    ASSERT_TRUE(whole.done) << text;
    for (size_t cut = 1; cut < text.size(); ++cut) {
      Outcome split = feed_pieces(text, {cut});
      ASSERT_TRUE(split.done) << "cut at " << cut << " of " << text;
      EXPECT_EQ(split.consumed, text.size()) << cut;
      EXPECT_TRUE(split.request == whole.request) << "cut at " << cut;
    }
    Outcome bytes = parse_byte_by_byte(text);
    ASSERT_TRUE(bytes.done);
    EXPECT_TRUE(bytes.request == whole.request) << text;
  }
}

TEST(RequestParser, StopsAfterFirstPipelinedRequest) {
  std::string two = std::string(kPlainGet) + std::string(kPostLength);
  RequestParser parser(Limits{});
  auto r = parser.feed(two);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, kPlainGet.size());
  ASSERT_TRUE(parser.done());
  EXPECT_EQ(parser.request().path, "/sse/room");
  EXPECT_EQ(*parser.feed(std::string_view(two).substr(*r)), 0u);
}

TEST(RequestParser, ServesPipelinedRequestsAfterReset) {
  std::string three = std::string(kPlainGet) + std::string(kPostLength) + std::string(kGet);
  RequestParser parser(Limits{});
  std::string_view rest = three;
  std::vector<std::string> paths;
  while (!rest.empty()) {
    auto r = parser.feed(rest);
    ASSERT_TRUE(r.ok());
    ASSERT_TRUE(parser.done());
    paths.push_back(parser.request().path);
    EXPECT_TRUE(parser.request().keep_alive);
    rest.remove_prefix(*r);
    parser.reset();
  }
  EXPECT_EQ(paths, (std::vector<std::string>{"/sse/room", "/rooms/r/messages", "/ws/lobby one"}));
}

TEST(RequestParser, ResetForgetsPreviousRequest) {
  RequestParser parser(Limits{});
  ASSERT_TRUE(parser.feed(kGet).ok());
  parser.reset();
  EXPECT_FALSE(parser.done());
  ASSERT_TRUE(parser.feed(kPlainGet).ok());
  ASSERT_TRUE(parser.done());
  EXPECT_EQ(parser.request().sec_websocket_key, "");
  EXPECT_FALSE(parser.request().upgrade);
  EXPECT_EQ(parser.request().last_event_id, "7:9");
}

TEST(RequestParser, IsStartedByTheFirstByteOfARequestUntilReset) {
  RequestParser parser(Limits{});
  EXPECT_FALSE(parser.started());
  ASSERT_TRUE(parser.feed(std::string_view()).ok());
  EXPECT_FALSE(parser.started());
  for (size_t cut = 1; cut < kPostLength.size(); ++cut) {
    RequestParser p(Limits{});
    ASSERT_TRUE(p.feed(kPostLength.substr(0, cut)).ok());
    EXPECT_TRUE(p.started()) << cut;
    EXPECT_FALSE(p.done()) << cut;
  }
  ASSERT_TRUE(parser.feed(kPlainGet).ok());
  EXPECT_TRUE(parser.started());
  parser.reset();
  EXPECT_FALSE(parser.started());
}

TEST(RequestParser, KeepsUserAgentOnlyWhenAsked) {
  constexpr std::string_view kUa = "GET / HTTP/1.1\r\nUser-Agent:  curl/8.1 \r\n\r\n";
  EXPECT_EQ(parse(kUa).request.user_agent, "");
  Outcome o = parse_byte_by_byte(kUa, Limits{.max_user_agent = 256});
  ASSERT_TRUE(o.done);
  EXPECT_EQ(o.request.user_agent, "curl/8.1");
}

TEST(RequestParser, JoinsRepeatedIfNoneMatchIntoOneList) {
  Outcome o = parse_byte_by_byte(
      "GET /app.js HTTP/1.1\r\nIf-None-Match: \"a\"\r\nif-none-match:  W/\"b\" \r\n\r\n");
  ASSERT_TRUE(o.done);
  EXPECT_EQ(o.request.if_none_match, "\"a\", W/\"b\"");
  EXPECT_FALSE(o.request.has_header_dupes);
}

TEST(RequestParser, CutsUserAgentAtItsLimit) {
  const std::string text =
      std::string("GET / HTTP/1.1\r\nUser-Agent: ") + std::string(100, 'a') + "\r\n\r\n";
  Outcome o = parse_byte_by_byte(text, Limits{.max_user_agent = 10});
  ASSERT_TRUE(o.done);
  EXPECT_EQ(o.request.user_agent, std::string(10, 'a'));
}

TEST(RequestParser, RepeatedUserAgentIsNoDuplicate) {
  // A repeat is ignored: it must not make a handshake fail.
  Outcome o = parse("GET / HTTP/1.1\r\nUser-Agent: a\r\nUser-Agent: b\r\n\r\n",
                    Limits{.max_user_agent = 256});
  ASSERT_TRUE(o.done);
  EXPECT_EQ(o.request.user_agent, "a");
  EXPECT_FALSE(o.request.has_header_dupes);
}

TEST(RequestParser, ArrivalIsTheFirstMarkUntilReset) {
  RequestParser parser(Limits{});
  EXPECT_EQ(parser.arrival(), 0u);
  parser.mark_arrival(5);
  parser.mark_arrival(9);
  EXPECT_EQ(parser.arrival(), 5u);
  parser.reset();
  EXPECT_EQ(parser.arrival(), 0u);
  parser.mark_arrival(12);
  EXPECT_EQ(parser.arrival(), 12u);
}

TEST(RequestParser, LeavesBytesAfterUpgradeUnconsumed) {
  std::string text = std::string(kGet) + "\x81\x85\x01\x02\x03\x04hello";
  for (size_t cut = 1; cut < text.size(); ++cut) {
    Outcome o = feed_pieces(text, {cut});
    ASSERT_TRUE(o.done) << cut;
    EXPECT_EQ(o.consumed, kGet.size()) << cut;
    EXPECT_TRUE(o.request.upgrade);
  }
}

TEST(RequestParser, ReadsContentLengthBody) {
  Outcome o = parse(kPostLength);
  ASSERT_TRUE(o.done);
  EXPECT_EQ(o.request.method, Method::kPost);
  EXPECT_EQ(o.request.content_type, "text/plain");
  EXPECT_EQ(o.request.body, "hello world");
}

TEST(RequestParser, ReadsChunkedBody) {
  Outcome o = parse(kPostChunked);
  ASSERT_TRUE(o.done);
  EXPECT_EQ(o.consumed, kPostChunked.size());
  EXPECT_EQ(o.request.body, "hello world");
}

TEST(RequestParser, WaitsForWholeBody) {
  RequestParser parser(Limits{});
  auto r = parser.feed(kPostLength.substr(0, kPostLength.size() - 1));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, kPostLength.size() - 1);
  EXPECT_FALSE(parser.done());
}

TEST(RequestParser, Http10DefaultsToClose) {
  Outcome o = parse("GET / HTTP/1.0\r\n\r\n");
  ASSERT_TRUE(o.done);
  EXPECT_EQ(o.request.version_minor, 0);
  EXPECT_FALSE(o.request.keep_alive);
  Outcome ka = parse("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  ASSERT_TRUE(ka.done);
  EXPECT_TRUE(ka.request.keep_alive);
}

TEST(RequestParser, ConnectionCloseEndsKeepAlive) {
  Outcome o = parse("GET / HTTP/1.1\r\nConnection: close\r\n\r\n");
  ASSERT_TRUE(o.done);
  EXPECT_FALSE(o.request.keep_alive);
}

TEST(RequestParser, FlagsDuplicateWebSocketKey) {
  Outcome o = parse(
      "GET /ws HTTP/1.1\r\nHost: h\r\nSec-WebSocket-Key: a\r\n"
      "sec-websocket-key: b\r\n\r\n");
  ASSERT_TRUE(o.done);
  EXPECT_TRUE(o.request.has_header_dupes);
  EXPECT_EQ(o.request.sec_websocket_key, "a");
}

TEST(RequestParser, JoinsRepeatedListHeaders) {
  Outcome o = parse(
      "GET /ws HTTP/1.1\r\nConnection: keep-alive\r\nConnection:\r\n"
      "Connection: Upgrade\r\nSec-WebSocket-Protocol: a\r\n"
      "Sec-WebSocket-Protocol: b\r\n\r\n");
  ASSERT_TRUE(o.done);
  EXPECT_FALSE(o.request.has_header_dupes);
  EXPECT_EQ(o.request.connection, "keep-alive, Upgrade");
  EXPECT_EQ(o.request.sec_websocket_protocol, "a, b");
}

TEST(RequestParser, AcceptsAbsoluteFormTarget) {
  Outcome o = parse("GET http://h:1/rooms/a?x=1 HTTP/1.1\r\nHost: h:1\r\n\r\n");
  ASSERT_TRUE(o.done);
  EXPECT_EQ(o.request.path, "/rooms/a");
  EXPECT_EQ(o.request.query, "x=1");
}

TEST(RequestParser, ConsumesNothingOnceDone) {
  RequestParser parser(Limits{});
  ASSERT_TRUE(parser.feed(kPlainGet).ok());
  auto r = parser.feed(kPlainGet);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 0u);
}

TEST(RequestParser, Rejects400ForGarbage) {
  EXPECT_EQ(status_of("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"), 400);
  EXPECT_EQ(status_of("hello there\r\n\r\n"), 400);
}

TEST(RequestParser, Rejects400ForBadMethod) {
  EXPECT_EQ(status_of("GOT / HTTP/1.1\r\n\r\n"), 400);
  EXPECT_EQ(status_of("get / HTTP/1.1\r\n\r\n"), 400);
}

TEST(RequestParser, Rejects400ForControlCharInHeaderValue) {
  EXPECT_EQ(status_of("GET / HTTP/1.1\r\nHost: a\x01z\r\n\r\n"), 400);
}

TEST(RequestParser, Rejects400ForBadHeaderNameChar) {
  EXPECT_EQ(status_of("GET / HTTP/1.1\r\nHo st: a\r\n\r\n"), 400);
  EXPECT_EQ(status_of("GET / HTTP/1.1\r\nHost : a\r\n\r\n"), 400);
  EXPECT_EQ(status_of("GET / HTTP/1.1\r\nHo(st: a\r\n\r\n"), 400);
}

TEST(RequestParser, Rejects400ForBareLfInRequestLine) {
  EXPECT_EQ(status_of("GET / HTTP/1.1\rX\n\r\n"), 400);
}

TEST(RequestParser, Rejects400ForBadPercentInPath) {
  EXPECT_EQ(status_of("GET /ws/%zz HTTP/1.1\r\n\r\n"), 400);
}

TEST(RequestParser, Rejects400ForRelativeTarget) {
  EXPECT_EQ(status_of("GET ws/room HTTP/1.1\r\n\r\n"), 400);
}

TEST(RequestParser, Rejects400ForContentLengthWithTransferEncoding) {
  EXPECT_EQ(status_of("POST / HTTP/1.1\r\nContent-Length: 3\r\n"
                      "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
            400);
}

TEST(RequestParser, Rejects400ForTwoContentLengths) {
  EXPECT_EQ(status_of("POST / HTTP/1.1\r\nContent-Length: 1\r\n"
                      "Content-Length: 2\r\n\r\nab"),
            400);
}

TEST(RequestParser, Rejects400ForBadChunkSize) {
  EXPECT_EQ(status_of("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                      "zz\r\n"),
            400);
}

TEST(RequestParser, Rejects501ForUnknownTransferEncoding) {
  EXPECT_EQ(status_of("POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked"
                      "\r\n\r\n0\r\n\r\n"),
            501);
}

TEST(RequestParser, Rejects505ForOtherHttpVersions) {
  EXPECT_EQ(status_of("GET / HTTP/2.0\r\n\r\n"), 505);
  EXPECT_EQ(status_of("GET / HTTP/3.1\r\n\r\n"), 505);
  EXPECT_EQ(status_of("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), 505);
}

// Every well-formed version but 1.0 and 1.1 is 505, 1.x ones included.
TEST(RequestParser, Rejects505ForEveryVersionButHttp10And11) {
  for (std::string_view v : {"0.9", "1.2", "1.9", "2.0", "3.0", "9.9", "0.0"}) {
    expect_status(cat("GET / HTTP/", v, "\r\nHost: h\r\n\r\n"), 505);
  }
  expect_status("GET /\r\n\r\n", 505);  // an HTTP/0.9 simple request
}

TEST(RequestParser, Rejects505AsSoonAsTheRequestLineEnds) {
  RequestParser parser(Limits{});
  auto r = parser.feed("GET / HTTP/1.9\r\n");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), 505);
}

TEST(RequestParser, Rejects400ForMalformedVersions) {
  for (std::string_view v :
       {"HTTP/1.x", "HTTP/12.0", "HTTP/1", "HTTP/1.1.1", "HTTPS/1.1", "http/1.1"}) {
    expect_status(cat("GET / ", v, "\r\nHost: h\r\n\r\n"), 400);
  }
}

// RFC 9112 §5.2: obs-fold, a line that continues the field before it.
TEST(RequestParser, Rejects400ForFoldedHeaderLine) {
  expect_status("GET / HTTP/1.1\r\nHost: h\r\nX-A: a\r\n b\r\n\r\n", 400);
  expect_status("GET / HTTP/1.1\r\nHost: h\r\nX-A: a\r\n\tb\r\n\r\n", 400);
  expect_status("GET / HTTP/1.1\r\nX-A:\r\n b\r\nHost: h\r\n\r\n", 400);
  expect_status("GET / HTTP/1.1\r\nHost: h\r\n \r\n\r\n", 400);
  expect_status("GET /ws HTTP/1.1\r\nUpgrade: web\r\n socket\r\n\r\n", 400);
}

// RFC 9112 §2.2: whitespace between the request line and the first field.
TEST(RequestParser, Rejects400ForWhitespaceBeforeFirstHeader) {
  expect_status("GET / HTTP/1.1\r\n Host: h\r\n\r\n", 400);
  expect_status("GET / HTTP/1.1\r\n\tHost: h\r\n\r\n", 400);
}

TEST(RequestParser, Rejects400ForFoldedTrailerLine) {
  expect_status(
      "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
      "1\r\nx\r\n0\r\nX-T: a\r\n b\r\n\r\n",
      400);
  expect_status(
      "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
      "1\r\nx\r\n0\r\n X-T: a\r\n\r\n",
      400);
}

// A line end followed by a space is a fold only in a head or trailers.
TEST(RequestParser, AcceptsBodiesWithLinesStartingWithSpace) {
  expect_status("POST / HTTP/1.1\r\nContent-Length: 4\r\n\r\n \n a", 0);
  expect_status(
      "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
      "4\r\n\n \n\t\r\n1\r\n \r\n0\r\n\r\n",
      0);
  EXPECT_EQ(parse("POST / HTTP/1.1\r\nContent-Length: 4\r\n\r\n \n a").request.body, " \n a");
}

TEST(RequestParser, AcceptsPipelinedRequestAfterBodyEndingInLineEnd) {
  std::string two = cat("POST / HTTP/1.1\r\nContent-Length: 2\r\n\r\n\r\n", kPlainGet);
  RequestParser parser(Limits{});
  auto r = parser.feed(two);
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(parser.done());
  EXPECT_EQ(parser.request().body, "\r\n");
  parser.reset();
  auto r2 = parser.feed(std::string_view(two).substr(*r));
  ASSERT_TRUE(r2.ok());
  EXPECT_TRUE(parser.done());
}

// RFC 9112 §6.1: Transfer-Encoding in HTTP/1.0 is faulty framing.
TEST(RequestParser, Rejects400ForTransferEncodingInHttp10) {
  expect_status("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400);
  expect_status("POST / HTTP/1.0\r\nTransfer-Encoding: gzip\r\n\r\n", 400);
}

TEST(RequestParser, Rejects413ForChunkSizeOverLimitWhenAnnounced) {
  Limits limits{.max_body_bytes = 10};
  const std::string head = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
  // Refused at the size line: no chunk byte has to arrive.
  expect_status(head + "b\r\n", 413, limits);
  expect_status(head + "ffffffff\r\n", 413, limits);
  expect_status(head + "5;e=1\r\nhello\r\n6\r\n", 413, limits);
  expect_status(head + "5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n", 0, limits);
}

std::string chunked_with_trailers(std::string_view trailers) {
  return cat("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n", trailers,
             "\r\n");
}

// Empty trailers cost their line ends: the whole section is counted.
TEST(RequestParser, Rejects431ForManyEmptyTrailers) {
  Limits limits{.max_header_bytes = 256, .max_header_fields = 100000};
  expect_status(chunked_with_trailers(repeat("a:\r\n", 100)), 431, limits);
  // The default limits: 3,000 of them are refused (by count, then bytes).
  EXPECT_EQ(status_of(chunked_with_trailers(repeat("a:\r\n", 3000))), 431);
  Limits bytes_only{.max_header_fields = 100000};
  EXPECT_EQ(status_of(chunked_with_trailers(repeat("a:\r\n", 3000)), bytes_only), 431);
}

// Head and trailers share max_header_bytes, every byte counted.
TEST(RequestParser, CountsHeadAndTrailerSectionTogether) {
  std::string text = chunked_with_trailers(cat("X-T: ", std::string(40, 't'), "\r\n"));
  // The head, the trailers and the blank line after them; not the chunks.
  const size_t section = text.size() - std::string_view("1\r\nx\r\n0\r\n").size();
  expect_status(text, 0, Limits{.max_header_bytes = section});
  expect_status(text, 431, Limits{.max_header_bytes = section - 1});
}

TEST(RequestParser, AcceptsHeaderFieldsUpToTheLimit) {
  std::string text = cat("GET / HTTP/1.1\r\n", repeat("A: b\r\n", 100), "\r\n");
  expect_status(text, 0);
}

TEST(RequestParser, Rejects431ForTooManyHeaderFields) {
  expect_status(cat("GET / HTTP/1.1\r\n", repeat("A: b\r\n", 101), "\r\n"), 431);
  expect_status(cat("GET / HTTP/1.1\r\n", repeat("A:\r\n", 5), "\r\n"), 431,
                Limits{.max_header_fields = 4});
}

TEST(RequestParser, CountsHeadersAndTrailersTogether) {
  Limits limits{.max_header_fields = 4};
  std::string head = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n";
  expect_status(head + "0\r\nA: 1\r\nB: 2\r\n\r\n", 0, limits);
  expect_status(head + "0\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", 431, limits);
}

std::string request_with_header_bytes(size_t total) {
  std::string head = "GET / HTTP/1.1\r\nX-Pad: ";
  std::string tail = "\r\n\r\n";
  return head + std::string(total - head.size() - tail.size(), 'p') + tail;
}

TEST(RequestParser, AcceptsHeadersExactlyAtLimit) {
  Limits limits{.max_header_bytes = 256};
  std::string text = request_with_header_bytes(256);
  EXPECT_TRUE(parse(text, limits).done);
  EXPECT_TRUE(parse_byte_by_byte(text, limits).done);
}

TEST(RequestParser, Rejects431WhenHeadersExceedLimit) {
  Limits limits{.max_header_bytes = 256};
  EXPECT_EQ(status_of(request_with_header_bytes(257), limits), 431);
}

TEST(RequestParser, Rejects431WhenHeadersExceedLimitByteByByte) {
  Limits limits{.max_header_bytes = 256};
  EXPECT_EQ(parse_byte_by_byte(request_with_header_bytes(257), limits).status, 431);
}

TEST(RequestParser, Rejects431AsSoonAsLimitIsPassed) {
  Limits limits{.max_header_bytes = 64};
  RequestParser parser(limits);
  std::string endless = "GET / HTTP/1.1\r\nX-Pad: " + std::string(41, 'p');
  ASSERT_EQ(endless.size(), 64u);
  auto r = parser.feed(endless);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 64u);
  auto over = parser.feed("p");
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error(), 431);
}

TEST(RequestParser, Rejects413ForContentLengthOverLimit) {
  Limits limits{.max_body_bytes = 10};
  EXPECT_EQ(status_of(kPostLength, limits), 413);
  // Refused at the headers, before any body byte arrives.
  std::string_view head = kPostLength.substr(0, kPostLength.find("hello"));
  EXPECT_EQ(status_of(head, limits), 413);
}

TEST(RequestParser, Rejects413ForChunkedBodyOverLimit) {
  Limits limits{.max_body_bytes = 10};
  EXPECT_EQ(status_of(kPostChunked, limits), 413);
  EXPECT_EQ(parse_byte_by_byte(kPostChunked, limits).status, 413);
}

TEST(RequestParser, AcceptsBodyExactlyAtLimit) {
  Limits limits{.max_body_bytes = 11};
  EXPECT_TRUE(parse(kPostLength, limits).done);
  EXPECT_TRUE(parse(kPostChunked, limits).done);
}

TEST(RequestParser, IgnoresTrailersForHeaderFields) {
  Outcome o = parse(
      "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
      "1\r\nx\r\n0\r\nHost: evil\r\nConnection: close\r\n\r\n");
  ASSERT_TRUE(o.done);
  EXPECT_EQ(o.request.host, "h");
  EXPECT_FALSE(o.request.has_header_dupes);
  EXPECT_EQ(o.request.connection, "");
  EXPECT_EQ(o.request.body, "x");
}

TEST(RequestParser, Rejects431ForOversizedTrailers) {
  Limits limits{.max_header_bytes = 128};
  std::string text =
      "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-T: " + std::string(200, 't');
  EXPECT_EQ(status_of(text, limits), 431);
  EXPECT_EQ(parse_byte_by_byte(text, limits).status, 431);
}

TEST(RequestParser, Rejects413ForOversizedChunkExtensions) {
  Limits limits{.max_header_bytes = 128};
  std::string text =
      "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1;e=" + std::string(200, 'e');
  EXPECT_EQ(status_of(text, limits), 413);
}

TEST(RequestParser, KeepsReturningErrorUntilReset) {
  RequestParser parser(Limits{});
  ASSERT_FALSE(parser.feed("BAD\x01 / HTTP/1.1\r\n").ok());
  auto again = parser.feed(kPlainGet);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error(), 400);
  parser.reset();
  ASSERT_TRUE(parser.feed(kPlainGet).ok());
  EXPECT_TRUE(parser.done());
}

// Random bytes, or random bytes after a valid prefix, must end in an error
// or in waiting for more; never a crash or a consumed count past the input.
TEST(RequestParser, SurvivesSeededRandomGarbage) {
  std::mt19937 rng(20240601);
  const std::string_view alphabet = "GET /HTP1.\r\n: abcXYZ%?&=\t\x01\x7f\xff";
  for (int round = 0; round < 2000; ++round) {
    std::string text = round % 2 == 0 ? "" : std::string(kGet.substr(0, rng() % kGet.size()));
    size_t n = rng() % 300;
    for (size_t i = 0; i < n; ++i) {
      text.push_back(round % 3 == 0 ? char(rng()) : alphabet[rng() % alphabet.size()]);
    }
    Limits limits{.max_header_bytes = 200};
    Outcome whole = parse(text, limits);
    size_t cut = text.empty() ? 0 : rng() % text.size();
    EXPECT_EQ(feed_pieces(text, {cut}, limits).status, whole.status) << cut;
    EXPECT_LE(whole.consumed, text.size());
    if (whole.status == 0 && !whole.done) {
      EXPECT_EQ(whole.consumed, text.size());  // need more: all taken
    }
    if (whole.status != 0) {
      EXPECT_TRUE(whole.status == 400 || whole.status == 413 || whole.status == 431 ||
                  whole.status == 501 || whole.status == 505)
          << whole.status;
    }
  }
}

// A valid request with one byte changed is judged the same whichever way it
// is split.
TEST(RequestParser, JudgesMutatedRequestsAlikeWholeAndByteByByte) {
  std::mt19937 rng(7);
  for (std::string_view base : {kGet, kPostLength, kPostChunked}) {
    for (int round = 0; round < 150; ++round) {
      std::string text(base);
      text[rng() % text.size()] = char(rng());
      Outcome whole = parse(text);
      Outcome bytes = parse_byte_by_byte(text);
      EXPECT_EQ(whole.status, bytes.status) << text;
      EXPECT_EQ(whole.done, bytes.done) << text;
      if (whole.status == 0) {
        EXPECT_EQ(whole.consumed, bytes.consumed) << text;
      }
      EXPECT_TRUE(whole.request == bytes.request) << text;
    }
  }
}

}  // namespace
}  // namespace ringchat::http
