#include "http_client.h"

#include <gtest/gtest.h>

namespace ringchat::ringload {
namespace {

TEST(HttpClient, SseRequestCarriesLastEventId) {
  const std::string r = build_sse_request("h", 80, "/sse/r", "00000000000000ab:3");
  EXPECT_TRUE(r.starts_with("GET /sse/r HTTP/1.1\r\nHost: h:80\r\n"));
  EXPECT_NE(r.find("\r\nLast-Event-ID: 00000000000000ab:3\r\n"), std::string::npos);
  EXPECT_TRUE(r.ends_with("\r\n\r\n"));
  EXPECT_EQ(build_sse_request("h", 80, "/sse/r", "").find("Last-Event-ID"), std::string::npos);
}

TEST(HttpClient, PostRequestHasLengthAndBody) {
  std::string out;
  append_post_request(out, "h", 8080, "/pub/r", "abc");
  EXPECT_TRUE(out.starts_with("POST /pub/r HTTP/1.1\r\nHost: h:8080\r\n"));
  EXPECT_TRUE(out.ends_with("Content-Length: 3\r\n\r\nabc"));
}

TEST(HttpClient, ExpandsRoom) {
  EXPECT_EQ(expand_room("/rooms/{room}/messages", "a-1"), "/rooms/a-1/messages");
  EXPECT_EQ(expand_room("/pub/{room}", "x"), "/pub/x");
  EXPECT_EQ(expand_room("/fixed", "x"), "/fixed");
}

TEST(HttpClient, ParsesResponseHead) {
  const std::string resp = "HTTP/1.1 201 Created\r\nContent-Length: 5\r\nX-A:  b \r\n\r\nhello";
  for (size_t cut = 0; cut < resp.size() - 5; ++cut) {
    ResponseHead h;
    ASSERT_EQ(parse_response_head(std::string_view(resp).substr(0, cut), h), HeadStatus::kNeedMore);
  }
  ResponseHead h;
  ASSERT_EQ(parse_response_head(resp, h), HeadStatus::kOk);
  EXPECT_EQ(h.status, 201);
  EXPECT_EQ(h.content_length, 5u);
  EXPECT_EQ(h.header_bytes, resp.size() - 5);
  EXPECT_FALSE(h.chunked);
  EXPECT_EQ(find_header(resp.substr(0, h.header_bytes), "x-a"), "b");
  EXPECT_FALSE(find_header(resp.substr(0, h.header_bytes), "x-b"));
}

TEST(HttpClient, SeesChunked) {
  ResponseHead h;
  ASSERT_EQ(parse_response_head("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", h),
            HeadStatus::kOk);
  EXPECT_TRUE(h.chunked);
  EXPECT_FALSE(h.content_length);
}

TEST(HttpClient, RejectsBadHeads) {
  ResponseHead h;
  EXPECT_EQ(parse_response_head("HTTX/1.1 200 OK\r\n\r\n", h), HeadStatus::kBad);
  EXPECT_EQ(parse_response_head("HTTP/1.1 2x0 OK\r\n\r\n", h), HeadStatus::kBad);
  EXPECT_EQ(parse_response_head("HTTP/1.1 200 OK\r\nContent-Length: 1z\r\n\r\n", h),
            HeadStatus::kBad);
  EXPECT_EQ(parse_response_head(std::string(9000, 'a'), h), HeadStatus::kTooLarge);
}

TEST(HttpClient, FindsRingchatResumeHeaders) {
  const std::string head =
      "HTTP/1.1 101 Switching Protocols\r\nX-Ringchat-Epoch: 5f1c0a2b3c4d5e6f\r\n"
      "X-Ringchat-First: 43\r\nX-Ringchat-Recovered: true\r\n\r\n";
  EXPECT_EQ(find_header(head, "x-ringchat-first"), "43");
  EXPECT_EQ(find_header(head, "X-RINGCHAT-RECOVERED"), "true");
}

}  // namespace
}  // namespace ringchat::ringload
