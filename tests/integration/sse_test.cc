// Server-Sent Events, GET /sse/{room}: the stream's head, events parsed as
// a browser parses them (WHATWG HTML §9.2), resume by Last-Event-ID, the
// heartbeat, and one sequence shared with WebSocket and HTTP publishers.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "sse_parser.h"
#include "ws_client.h"

namespace ringchat::testing {
namespace {

// An event-stream client on a plain socket.
class SseClient {
 public:
  SseClient(uint16_t port, std::string_view path, std::string_view headers = {}) : c_(port) {
    c_.send_raw(cat("GET ", path, " HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n", headers,
                    "\r\n"));
  }
  // The response head, once it came (empty on timeout).
  std::string head() {
    while (head_.empty()) {
      std::string got = c_.read_some();
      if (got.empty()) return {};
      buf_ += got;
      const size_t end = buf_.find("\r\n\r\n");
      if (end == std::string::npos) continue;
      head_ = buf_.substr(0, end + 4);
      pending_ = parser.feed(buf_.substr(end + 4));
    }
    return head_;
  }
  // The next event (type "<none>" on timeout).
  Event next(int timeout_ms = kWaitMs) {
    head();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (pending_.empty() && std::chrono::steady_clock::now() < deadline) {
      std::string got = c_.read_some(200);
      if (got.empty() && c_.peer_closed()) break;
      for (Event& e : parser.feed(got)) pending_.push_back(std::move(e));
    }
    if (pending_.empty()) return {"<none>", {}, {}};
    Event e = pending_.front();
    pending_.erase(pending_.begin());
    return e;
  }
  Client& raw() { return c_; }
  EventParser parser;

 private:
  Client c_;
  std::string buf_, head_;
  std::vector<Event> pending_;
};

class SseTest : public ::testing::TestWithParam<unsigned> {
 protected:
  chat::ShardConfig config() {
    chat::ShardConfig c = test_config(GetParam());
    c.sse_heartbeat_ms = 200;
    return c;
  }
  TestServer server{config()};
  Client api{server.port()};

  // Publishes over HTTP; returns "EPOCH:SEQ".
  std::string publish(std::string_view room, std::string_view body,
                      std::string_view type = "text/plain") {
    return api.publish(room, body, type).position();
  }
};

TEST_P(SseTest, StreamStartsWithItsHeadRetryAndWhereTheRoomStands) {
  const std::string pos = publish("news", "before");
  SseClient s(server.port(), "/sse/news");
  const std::string head = s.head();
  EXPECT_EQ(head.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << head;
  EXPECT_NE(head.find("Content-Type: text/event-stream"), std::string::npos);
  EXPECT_NE(head.find("Cache-Control: no-cache\r\n"), std::string::npos);
  EXPECT_NE(head.find("X-Accel-Buffering: no\r\n"), std::string::npos);
  EXPECT_EQ(head.find("Content-Length"), std::string::npos) << "the body runs until the end";
  Event joined = s.next();
  EXPECT_EQ(joined.type, "joined");
  EXPECT_EQ(joined.id, pos) << "a reconnect from here misses nothing";
  EXPECT_NE(joined.data.find(R"("recovered":false)"), std::string::npos) << joined.data;
  EXPECT_FALSE(s.parser.retry.empty());
  const std::string next = publish("news", "after");
  Event e = s.next();
  EXPECT_EQ(e.type, "message");
  EXPECT_EQ(e.data, "after");
  EXPECT_EQ(e.id, next);
}

TEST_P(SseTest, NothingAPayloadHoldsCanInjectAFieldOrAnEvent) {
  SseClient s(server.port(), "/sse/inj");
  ASSERT_EQ(s.next().type, "joined");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"one\ntwo", "one\ntwo"},
      {"a\r\nid: 99\n\nevent: evil\ndata: x", "a\nid: 99\n\nevent: evil\ndata: x"},
      {"cr\ronly\r", "cr\nonly\n"},
      {"\n\n", "\n\n"},
      {" leading space", " leading space"},
      {"data: nested", "data: nested"},
  };
  for (const auto& [payload, want] : cases) {
    const std::string pos = publish("inj", payload);
    Event e = s.next();
    EXPECT_EQ(e.type, "message") << payload;
    EXPECT_EQ(e.data, want) << "CR and CRLF read as LF; nothing else changes";
    EXPECT_EQ(e.id, pos);
  }
  publish("inj", std::string("\x00\xff\xfe", 3));
  Event bin = s.next();
  EXPECT_EQ(bin.type, "binary");
  EXPECT_EQ(bin.data, "AP/+");
  publish("inj", R"({"k": [1, "two"]})", "application/json");
  EXPECT_EQ(s.next().data, R"({"k":[1,"two"]})");
}

TEST_P(SseTest, LastEventIdResumesWithoutGapOrDuplicate) {
  std::string pos;
  for (int i = 1; i <= 5; ++i) pos = publish("res", cat("m", std::to_string(i)));
  const std::string epoch = pos.substr(0, 16);
  SseClient s(server.port(), "/sse/res", cat("Last-Event-ID: ", epoch, ":2\r\n"));
  Event j = s.next();
  EXPECT_EQ(j.type, "joined");
  EXPECT_NE(j.data.find(R"("recovered":true)"), std::string::npos) << j.data;
  EXPECT_EQ(j.id, cat(epoch, ":2")) << "a reconnect before m3 arrives asks for m3 again";
  publish("res", "m6");
  for (int i = 3; i <= 6; ++i) {
    Event e = s.next();
    EXPECT_EQ(e.data, cat("m", std::to_string(i)));
    EXPECT_EQ(e.id, cat(epoch, ":", std::to_string(i)));
  }
  // The query parameter, for a first connect.
  SseClient q(server.port(), cat("/sse/res?lastEventId=", epoch, ":5"));
  EXPECT_EQ(q.next().type, "joined");
  EXPECT_EQ(q.next().data, "m6");
  // A Last-Event-ID that is not ours starts afresh; a bad lastEventId is refused.
  SseClient fresh(server.port(), "/sse/res", "Last-Event-ID: whatever\r\n");
  Event f = fresh.next();
  EXPECT_NE(f.data.find(R"("recovered":false)"), std::string::npos) << f.data;
  Client bad(server.port());
  std::string resp;
  EXPECT_EQ(bad.http("GET /sse/res?lastEventId=zz HTTP/1.1\r\nHost: x\r\n\r\n", &resp), 400);
  EXPECT_NE(resp.find(R"("code":"bad_since")"), std::string::npos) << resp;
}

TEST_P(SseTest, AnIdleStreamGetsHeartbeatComments) {
  SseClient s(server.port(), "/sse/quiet");
  ASSERT_EQ(s.next().type, "joined");
  EXPECT_EQ(s.next(1000).type, "<none>");
  EXPECT_GE(s.parser.comments, 2) << "a comment every 200 ms";
}

TEST_P(SseTest, WebSocketPublishesReachTheStreamInTheRoomsOrder) {
  SseClient s(server.port(), "/sse/mix");
  ASSERT_EQ(s.next().type, "joined");
  Client raw(server.port());
  ASSERT_EQ(raw.upgrade("/ws/mix"), 101);
  Client js(server.port());
  ASSERT_EQ(js.upgrade("/ws"), 101);
  js.send_text(R"({"type":"join","room":"mix"})");
  ASSERT_TRUE(js.recv_data());  // joined
  raw.send_text("raw says hi");
  ASSERT_TRUE(raw.recv_data());  // its echo: the next publish comes after it
  js.send_text(R"({"type":"pub","room":"mix","data":{"json":true}})");
  Event a = s.next(), b = s.next();
  EXPECT_EQ(a.data, "raw says hi");
  EXPECT_EQ(b.data, R"({"json":true})");
  EXPECT_EQ(a.id.substr(0, 17), b.id.substr(0, 17));
  EXPECT_EQ(std::stoull(b.id.substr(17)), std::stoull(a.id.substr(17)) + 1);
}

TEST_P(SseTest, ABadRoomIsAJsonErrorAndAClosedStreamLeavesItsRoom) {
  Client bad(server.port());
  std::string resp;
  EXPECT_EQ(bad.http("GET /sse/a%20b HTTP/1.1\r\nHost: x\r\n\r\n", &resp), 400);
  EXPECT_NE(resp.find(R"("code":"bad_room")"), std::string::npos) << resp;
  {
    SseClient s(server.port(), "/sse/gone");
    ASSERT_EQ(s.next().type, "joined");
    EXPECT_EQ(server.total(obs::Metric::kConnsSse), 1u);
  }
  for (int i = 0; i < 100 && server.total(obs::Metric::kConnsSse) != 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(server.total(obs::Metric::kConnsSse), 0u);
}

INSTANTIATE_TEST_SUITE_P(Shards, SseTest, ::testing::Values(1u, 2u, 4u));

}  // namespace
}  // namespace ringchat::testing
