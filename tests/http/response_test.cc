#include "ringchat/http/response.h"

#include <gtest/gtest.h>

#include <string>

namespace ringchat::http {
namespace {

// The head of `response` (through the blank line) and its body.
struct Parts {
  std::string head;
  std::string body;
};

Parts parts(const std::string& response) {
  size_t end = response.find("\r\n\r\n");
  EXPECT_NE(end, std::string::npos);
  return {response.substr(0, end + 4), response.substr(end + 4)};
}

bool has_line(const std::string& head, const std::string& line) {
  return head.find("\r\n" + line + "\r\n") != std::string::npos;
}

TEST(MakeResponse, WritesStatusLineHeadersAndBody) {
  std::string r = make_response(200, "application/json", "{\"a\":1}", true);
  Parts p = parts(r);
  EXPECT_EQ(r.rfind("HTTP/1.1 200 OK\r\n", 0), 0u);
  EXPECT_TRUE(has_line(p.head, "Server: ringchat"));
  EXPECT_TRUE(has_line(p.head, "Content-Type: application/json"));
  EXPECT_TRUE(has_line(p.head, "Content-Length: 7"));
  EXPECT_TRUE(has_line(p.head, "Connection: keep-alive"));
  EXPECT_EQ(p.body, "{\"a\":1}");
}

TEST(MakeResponse, ContentLengthMatchesBody) {
  for (size_t n : {0u, 1u, 9u, 10u, 12345u}) {
    std::string body(n, 'x');
    Parts p = parts(make_response(201, "text/plain", body, false));
    EXPECT_TRUE(has_line(p.head, "Content-Length: " + std::to_string(n)));
    EXPECT_EQ(p.body.size(), n);
  }
}

TEST(MakeResponse, SaysCloseWhenNotKeepAlive) {
  Parts p = parts(make_response(200, "text/plain", "x", false));
  EXPECT_TRUE(has_line(p.head, "Connection: close"));
  EXPECT_FALSE(has_line(p.head, "Connection: keep-alive"));
}

TEST(MakeResponse, AppendsExtraHeadersVerbatim) {
  Parts p = parts(make_response(405, "", "", true, "Allow: GET, HEAD\r\nX-A: b\r\n"));
  EXPECT_TRUE(has_line(p.head, "Allow: GET, HEAD"));
  EXPECT_TRUE(has_line(p.head, "X-A: b"));
  EXPECT_EQ(p.head.find("Content-Type"), std::string::npos);
}

TEST(MakeResponse, OmitsLengthAndBodyFor204) {
  std::string r = make_response(204, "", "ignored", true);
  EXPECT_EQ(r.find("Content-Length"), std::string::npos);
  EXPECT_EQ(parts(r).body, "");
}

TEST(MakeResponse, OmitsLengthAndBodyFor304) {
  std::string r = make_response(304, "", "ignored", true, "ETag: \"x\"\r\n");
  EXPECT_EQ(r.rfind("HTTP/1.1 304 Not Modified\r\n", 0), 0u);
  EXPECT_EQ(r.find("Content-Length"), std::string::npos);
  EXPECT_TRUE(has_line(parts(r).head, "ETag: \"x\""));
  EXPECT_EQ(parts(r).body, "");
}

TEST(MakeResponse, LeavesConnectionOf101ToCaller) {
  std::string r = make_response(101, "", "", true, "Upgrade: websocket\r\nConnection: Upgrade\r\n");
  EXPECT_EQ(r.rfind("HTTP/1.1 101 Switching Protocols\r\n", 0), 0u);
  EXPECT_EQ(r.find("keep-alive"), std::string::npos);
  EXPECT_EQ(r.find("Content-Length"), std::string::npos);
  EXPECT_TRUE(has_line(parts(r).head, "Connection: Upgrade"));
}

TEST(MakeResponseHead, AnnouncesLengthWithoutBody) {
  std::string r = make_response_head(200, "text/html", 4096, true);
  Parts p = parts(r);
  EXPECT_TRUE(has_line(p.head, "Content-Length: 4096"));
  EXPECT_EQ(p.body, "");
}

TEST(MakeStreamHead, HasNoLengthAndEndsWithTheConnection) {
  std::string r = make_stream_head(200, "text/event-stream", "Cache-Control: no-cache\r\n");
  Parts p = parts(r);
  EXPECT_EQ(r.rfind("HTTP/1.1 200 OK\r\n", 0), 0u);
  EXPECT_EQ(p.head.find("Content-Length"), std::string::npos);
  EXPECT_TRUE(has_line(p.head, "Connection: close"));
  EXPECT_TRUE(has_line(p.head, "Content-Type: text/event-stream"));
  EXPECT_TRUE(has_line(p.head, "Cache-Control: no-cache"));
  EXPECT_EQ(p.body, "");
}

TEST(MakeError, WritesPlainTextBodyAndCloses) {
  std::string r = make_error(404, "no such room");
  Parts p = parts(r);
  EXPECT_EQ(r.rfind("HTTP/1.1 404 Not Found\r\n", 0), 0u);
  EXPECT_EQ(p.body, "404 Not Found: no such room\n");
  EXPECT_TRUE(has_line(p.head, "Connection: close"));
  EXPECT_TRUE(has_line(p.head, "Content-Type: text/plain; charset=utf-8"));
  EXPECT_TRUE(has_line(p.head, "Content-Length: " + std::to_string(p.body.size())));
}

TEST(MakeError, OmitsColonWithoutDetailAndKeepsExtraHeaders) {
  std::string r = make_error(426, "", "Upgrade: websocket\r\n");
  EXPECT_EQ(parts(r).body, "426 Upgrade Required\n");
  EXPECT_TRUE(has_line(parts(r).head, "Upgrade: websocket"));
}

TEST(ReasonPhrase, KnowsStatusesTheServerSends) {
  EXPECT_EQ(reason_phrase(400), "Bad Request");
  EXPECT_EQ(reason_phrase(413), "Content Too Large");
  EXPECT_EQ(reason_phrase(431), "Request Header Fields Too Large");
  EXPECT_EQ(reason_phrase(503), "Service Unavailable");
  EXPECT_EQ(reason_phrase(799), "Unknown");
}

}  // namespace
}  // namespace ringchat::http
