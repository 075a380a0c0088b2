// The JSON socket, GET /ws: ops and their answers, many rooms on one socket,
// errors that keep the socket open, resume by `join` with `since`, history,
// and one sequence shared with raw sockets and HTTP publishers.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <map>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include "ws_client.h"

namespace ringchat::testing {
namespace {

// One server message, parsed.
struct Reply {
  std::string text;
  std::unique_ptr<simdjson::dom::parser> parser = std::make_unique<simdjson::dom::parser>();
  simdjson::dom::element e;

  std::string str(const char* key) const {
    std::string_view v;
    return e[key].get(v) == simdjson::SUCCESS ? std::string(v) : std::string("<none>");
  }
  int64_t num(const char* key) const {
    int64_t v = -1;
    return e[key].get(v) == simdjson::SUCCESS ? v : -1;
  }
  bool has(const char* key) const { return e[key].error() == simdjson::SUCCESS; }
  std::string raw(const char* key) const {
    simdjson::dom::element v;
    return e[key].get(v) == simdjson::SUCCESS ? simdjson::minify(v) : std::string("<none>");
  }
};

// A JSON socket client.
class JsonClient {
 public:
  explicit JsonClient(uint16_t port) : c_(port) { ok_ = c_.upgrade("/ws") == 101; }
  bool ok() const { return ok_; }
  Client& raw() { return c_; }
  void send(std::string_view op) { c_.send_text(op); }
  // The next text message, parsed (type "<none>" on timeout).
  Reply next(int timeout_ms = kWaitMs) {
    Reply r;
    auto m = c_.recv_data(timeout_ms);
    if (!m || m->op != ws::Opcode::kText) return r;
    r.text = m->payload;
    if (r.parser->parse(r.text).get(r.e) != simdjson::SUCCESS) ADD_FAILURE() << r.text;
    return r;
  }
  // Sends an op and expects the next message to be of `type`.
  Reply call(std::string_view op, std::string_view type) {
    send(op);
    Reply r = next();
    EXPECT_EQ(r.str("type"), type) << "after " << op << ": " << r.text;
    return r;
  }
  // Waits until everything sent before has been answered.
  void barrier() {
    send(R"({"type":"ping","id":"barrier"})");
    for (;;) {
      Reply r = next();
      if (r.text.empty()) return ADD_FAILURE() << "no pong";
      if (r.str("type") == "pong") return;
      extra.push_back(r.text);
    }
  }
  std::vector<std::string> extra;  // messages a barrier skipped

 private:
  Client c_;
  bool ok_ = false;
};

class JsonSocketTest : public ::testing::TestWithParam<unsigned> {
 protected:
  chat::ShardConfig config() {
    chat::ShardConfig c = test_config(GetParam());
    c.max_rooms_per_conn = 16;
    c.presence_events_max = 0;  // but in the presence tests
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

TEST_P(JsonSocketTest, PubReachesEveryMemberAsAnEnvelopeAndIsAcked) {
  JsonClient a(server.port()), b(server.port());
  ASSERT_TRUE(a.ok() && b.ok());
  Reply j = a.call(R"({"type":"join","room":"lobby","id":"j1"})", "joined");
  EXPECT_EQ(j.str("room"), "lobby");
  EXPECT_EQ(j.str("id"), "j1");
  EXPECT_EQ(j.num("seq"), 0);
  EXPECT_EQ(j.raw("recovered"), "false");
  EXPECT_TRUE(std::regex_match(j.str("epoch"), std::regex("[0-9a-f]{16}"))) << j.text;
  b.call(R"({"type":"join","room":"lobby"})", "joined");

  a.send(
      R"({"type":"pub","room":"lobby","data":{"text":"hi \"there\"","n":[1,2.5,null]},"id":41})");
  Reply mine = a.next();
  EXPECT_EQ(mine.str("type"), "msg") << mine.text;
  Reply ack = a.next();
  EXPECT_EQ(ack.str("type"), "ack") << ack.text;
  EXPECT_EQ(ack.num("id"), 41);
  EXPECT_EQ(ack.num("seq"), 1);
  Reply got = b.next();
  EXPECT_EQ(got.text, mine.text) << "every member gets the same envelope";
  EXPECT_EQ(got.str("room"), "lobby");
  EXPECT_EQ(got.num("seq"), 1);
  EXPECT_GT(got.num("ts"), 1'600'000'000'000);
  EXPECT_TRUE(std::regex_match(got.str("from"), std::regex(R"(\d+-\d+-\d+)"))) << got.text;
  EXPECT_EQ(got.raw("data"), R"({"text":"hi \"there\"","n":[1,2.5,null]})");

  // A pub without id is not acked; the message still comes.
  a.send(R"({"type":"pub","room":"lobby","data":"plain"})");
  EXPECT_EQ(b.next().raw("data"), R"("plain")");
  a.barrier();
  ASSERT_EQ(a.extra.size(), 1u) << "only its own message, no ack";
}

TEST_P(JsonSocketTest, OneSocketInManyRoomsGetsEachRoomInOrder) {
  JsonClient reader(server.port()), writer(server.port());
  ASSERT_TRUE(reader.ok() && writer.ok());
  constexpr int kRooms = 8, kEach = 30;
  for (int r = 0; r < kRooms; ++r) {
    const std::string room = cat("many-", std::to_string(r));
    reader.call(cat(R"({"type":"join","room":")", room, R"("})"), "joined");
    writer.call(cat(R"({"type":"join","room":")", room, R"("})"), "joined");
  }
  for (int i = 0; i < kEach; ++i) {
    for (int r = 0; r < kRooms; ++r) {
      writer.send(cat(R"({"type":"pub","room":"many-)", std::to_string(r), R"(","data":)",
                      std::to_string(i), "}"));
    }
  }
  std::map<std::string, int64_t> last;
  for (int n = 0; n < kRooms * kEach; ++n) {
    Reply m = reader.next();
    ASSERT_EQ(m.str("type"), "msg") << n << ": " << m.text;
    const std::string room = m.str("room");
    EXPECT_EQ(m.num("seq"), last[room] + 1) << m.text;
    EXPECT_EQ(m.raw("data"), std::to_string(last[room])) << "in the order published";
    last[room] = m.num("seq");
  }
  EXPECT_EQ(last.size(), static_cast<size_t>(kRooms));
}

TEST_P(JsonSocketTest, EveryErrorHasItsCodeAndTheSocketKeepsWorking) {
  JsonClient c(server.port());
  ASSERT_TRUE(c.ok());
  c.call(R"({"type":"join","room":"err"})", "joined");
  const uint64_t errors_before = server.total(obs::Metric::kJsonErrors);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"not json", "bad_json"},
      {R"([1,2])", "bad_json"},
      {std::string(2000, '['), "bad_json"},
      {R"({"type":"zap","id":"e1"})", "bad_type"},
      {R"({"room":"x"})", "bad_type"},
      {R"({"type":"join"})", "bad_field"},
      {R"({"type":"join","room":5})", "bad_field"},
      {R"({"type":"pub","room":"err"})", "bad_field"},
      {R"({"type":"join","room":"a b"})", "bad_room"},
      {R"({"type":"join","room":"x","since":"nope"})", "bad_since"},
      {R"({"type":"history","room":"x","limit":0})", "bad_limit"},
      {R"({"type":"history","room":"x","limit":1001})", "bad_limit"},
      {R"({"type":"history","room":"x","before":0})", "bad_before"},
      {R"({"type":"ping","id":[1]})", "bad_id"},
      {R"({"type":"pub","room":"elsewhere","data":1,"id":"p"})", "not_joined"},
      {R"({"type":"leave","room":"elsewhere"})", "not_joined"},
      {R"({"type":"join","room":"err"})", "already_joined"},
  };
  for (const auto& [op, code] : cases) {
    Reply r = c.call(op, "error");
    EXPECT_EQ(r.str("code"), code) << op << " -> " << r.text;
    EXPECT_FALSE(r.str("reason").empty());
  }
  Reply withid = c.call(R"({"type":"pub","room":"elsewhere","data":1,"id":"p7"})", "error");
  EXPECT_EQ(withid.str("id"), "p7") << "the error names the op it answers";
  c.raw().send_frame(ws::Opcode::kBinary, "\x01\x02");
  EXPECT_EQ(c.next().str("code"), "bad_json") << "a binary message is not an op";
  for (int r = 1; r < 16; ++r)
    c.call(cat(R"({"type":"join","room":"more-)", std::to_string(r), R"("})"), "joined");
  EXPECT_EQ(c.call(R"({"type":"join","room":"one-too-many"})", "error").str("code"),
            "too_many_rooms");
  c.call(R"({"type":"ping"})", "pong");
  EXPECT_EQ(server.total(obs::Metric::kJsonErrors) - errors_before, cases.size() + 3);
  // Still a member of its first room.
  publish("err", "still here");
  EXPECT_EQ(c.next().str("data"), "still here");
}

TEST_P(JsonSocketTest, JoinWithSinceResumesWithoutGapOrDuplicate) {
  std::string pos;
  for (int i = 1; i <= 5; ++i) pos = publish("res", cat("m", std::to_string(i)));
  const std::string epoch = pos.substr(0, 16);
  JsonClient c(server.port());
  ASSERT_TRUE(c.ok());
  Reply j = c.call(cat(R"({"type":"join","room":"res","since":")", epoch, R"(:2"})"), "joined");
  EXPECT_EQ(j.raw("recovered"), "true");
  EXPECT_EQ(j.str("epoch"), epoch);
  EXPECT_EQ(j.num("seq"), 5);
  publish("res", "m6");
  for (int i = 3; i <= 6; ++i) {
    Reply m = c.next();
    EXPECT_EQ(m.num("seq"), i) << m.text;
    EXPECT_EQ(m.str("data"), cat("m", std::to_string(i)));
  }
  // Another epoch: told so, and given what history holds.
  JsonClient d(server.port());
  ASSERT_TRUE(d.ok());
  Reply k = d.call(R"({"type":"join","room":"res","since":"00000000000000aa:3"})", "joined");
  EXPECT_EQ(k.raw("recovered"), "false");
  EXPECT_EQ(k.str("epoch"), epoch);
  for (int i = 1; i <= 6; ++i) EXPECT_EQ(d.next().num("seq"), i);
}

TEST_P(JsonSocketTest, LeaveEndsTheRoomsMessagesAndRejoinPicksUp) {
  JsonClient c(server.port());
  ASSERT_TRUE(c.ok());
  Reply j = c.call(R"({"type":"join","room":"lv"})", "joined");
  publish("lv", "one");
  EXPECT_EQ(c.next().str("data"), "one");
  Reply left = c.call(R"({"type":"leave","room":"lv","id":9})", "left");
  EXPECT_EQ(left.str("room"), "lv");
  EXPECT_EQ(left.num("id"), 9);
  publish("lv", "two");
  const std::string pos = publish("lv", "three");
  c.barrier();
  EXPECT_TRUE(c.extra.empty()) << c.extra.front();
  // Back with its position: what it missed while away, nothing twice.
  Reply again =
      c.call(cat(R"({"type":"join","room":"lv","since":")", j.str("epoch"), R"(:1"})"), "joined");
  EXPECT_EQ(again.raw("recovered"), "true");
  EXPECT_EQ(c.next().str("data"), "two");
  EXPECT_EQ(c.next().str("data"), "three");
  c.barrier();
  EXPECT_TRUE(c.extra.empty());
}

TEST_P(JsonSocketTest, HistoryReadsBeforeASeq) {
  for (int i = 1; i <= 10; ++i) publish("hist", cat("h", std::to_string(i)));
  JsonClient c(server.port());
  ASSERT_TRUE(c.ok());
  Reply h = c.call(R"({"type":"history","room":"hist","before":8,"limit":3,"id":"q"})", "history");
  EXPECT_EQ(h.str("id"), "q");
  EXPECT_EQ(h.num("seq"), 10);
  simdjson::dom::array msgs;
  ASSERT_EQ(h.e["messages"].get(msgs), simdjson::SUCCESS) << h.text;
  std::vector<int64_t> seqs;
  for (auto m : msgs) seqs.push_back(int64_t(m["seq"]));
  EXPECT_EQ(seqs, (std::vector<int64_t>{5, 6, 7}));
  Reply newest = c.call(R"({"type":"history","room":"hist","limit":2})", "history");
  ASSERT_EQ(newest.e["messages"].get(msgs), simdjson::SUCCESS);
  seqs.clear();
  for (auto m : msgs) seqs.push_back(int64_t(m["seq"]));
  EXPECT_EQ(seqs, (std::vector<int64_t>{9, 10}));
  Reply none = c.call(R"({"type":"history","room":"nowhere"})", "history");
  EXPECT_EQ(none.raw("messages"), "[]");
}

TEST_P(JsonSocketTest, RawSocketsJsonSocketsAndHttpShareOneSequence) {
  Client raw(server.port());
  ASSERT_EQ(raw.upgrade("/ws/mix"), 101);
  JsonClient js(server.port());
  ASSERT_TRUE(js.ok());
  js.call(R"({"type":"join","room":"mix"})", "joined");
  publish("mix", R"({"k":[true]})", "application/json");
  raw.send_text("from raw");
  raw.send_frame(ws::Opcode::kBinary, std::string("\x00\xff", 2));
  // The raw socket sees payloads, the JSON socket envelopes: one order.
  // (Publishes of two connections are ordered by when the owner gets them:
  // the JSON socket publishes once the raw socket's are back.)
  const std::vector<std::string> raw_want = {R"({"k":[true]})", "from raw",
                                             std::string("\x00\xff", 2), R"({"from":"json"})"};
  for (size_t i = 0; i < raw_want.size(); ++i) {
    if (i == 3) js.send(R"({"type":"pub","room":"mix","data":{"from":"json"}})");
    auto m = raw.recv_data();
    ASSERT_TRUE(m) << i;
    EXPECT_EQ(m->payload, raw_want[i]) << i;
    EXPECT_EQ(m->op, i == 2 ? ws::Opcode::kBinary : ws::Opcode::kText) << i;
  }
  Reply a = js.next(), b = js.next(), c = js.next(), d = js.next();
  EXPECT_EQ(a.raw("data"), R"({"k":[true]})") << "an application/json body is a JSON value";
  EXPECT_EQ(b.str("data"), "from raw");
  EXPECT_EQ(c.str("data_base64"), "AP8=");
  EXPECT_FALSE(c.has("data"));
  EXPECT_EQ(d.raw("data"), R"({"from":"json"})");
  EXPECT_EQ(std::vector<int64_t>({a.num("seq"), b.num("seq"), c.num("seq"), d.num("seq")}),
            (std::vector<int64_t>{1, 2, 3, 4}));
}

TEST_P(JsonSocketTest, PresenceCountsEveryTransportAndSmallRoomsHearWhoComesAndGoes) {
  chat::ShardConfig cfg = test_config(GetParam());
  cfg.presence_events_max = 3;
  TestServer srv(cfg);
  JsonClient a(srv.port());
  ASSERT_TRUE(a.ok());
  a.call(R"({"type":"join","room":"pr"})", "joined");
  Client raw(srv.port());
  ASSERT_EQ(raw.upgrade("/ws/pr"), 101);
  Reply came = a.next();
  EXPECT_EQ(came.str("type"), "join") << came.text;
  EXPECT_EQ(came.str("room"), "pr");
  const std::string raw_id = came.raw("member");
  EXPECT_TRUE(std::regex_match(raw_id, std::regex(R"(\{"id":"\d+-\d+-\d+"\})"))) << raw_id;
  Client sse(srv.port());
  sse.send_raw("GET /sse/pr HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(a.next().str("type"), "join");

  Reply p = a.call(R"({"type":"presence","room":"pr","id":1})", "presence");
  EXPECT_EQ(p.num("id"), 1);
  simdjson::dom::array members;
  ASSERT_EQ(p.e["members"].get(members), simdjson::SUCCESS) << p.text;
  EXPECT_EQ(members.size(), 3u) << "the JSON socket, the raw socket and the SSE stream";
  Client api2(srv.port());
  std::string resp;
  ASSERT_EQ(api2.http("GET /rooms/pr/presence HTTP/1.1\r\nHost: x\r\n\r\n", &resp), 200);
  EXPECT_NE(resp.find(R"("count":3)"), std::string::npos) << resp;

  raw.reset_now();  // gone without a goodbye: no ghost
  Reply went = a.next();
  EXPECT_EQ(went.str("type"), "leave") << went.text;
  EXPECT_EQ(went.raw("member"), raw_id);
  ASSERT_EQ(api2.http("GET /rooms HTTP/1.1\r\nHost: x\r\n\r\n", &resp), 200);
  EXPECT_NE(resp.find(R"({"room":"pr","members":2})"), std::string::npos) << resp;

  // A room over the limit hears nothing.
  JsonClient b(srv.port()), d(srv.port());
  b.call(R"({"type":"join","room":"pr"})", "joined");  // the 3rd member: told
  EXPECT_EQ(a.next().str("type"), "join");
  d.call(R"({"type":"join","room":"pr"})", "joined");  // the 4th: not
  a.barrier();
  EXPECT_TRUE(a.extra.empty()) << a.extra.front();
}

TEST_P(JsonSocketTest, RoomsArePagedByName) {
  for (const char* r : {"pg-c", "pg-a", "pg-e", "pg-b", "pg-d"}) publish(r, "x");
  std::string resp;
  ASSERT_EQ(api.http("GET /rooms?after=pg-&limit=2 HTTP/1.1\r\nHost: x\r\n\r\n", &resp), 200);
  EXPECT_NE(
      resp.find(
          R"({"rooms":[{"room":"pg-a","members":0},{"room":"pg-b","members":0}],"next":"pg-b"})"),
      std::string::npos)
      << resp;
  ASSERT_EQ(api.http("GET /rooms?after=pg-d&limit=2 HTTP/1.1\r\nHost: x\r\n\r\n", &resp), 200);
  EXPECT_NE(resp.find(R"({"rooms":[{"room":"pg-e","members":0}],"next":null})"), std::string::npos)
      << resp;
  EXPECT_EQ(api.http("GET /rooms?limit=0 HTTP/1.1\r\nHost: x\r\n\r\n", &resp), 400);
}

INSTANTIATE_TEST_SUITE_P(Shards, JsonSocketTest, ::testing::Values(1u, 2u, 4u));

}  // namespace
}  // namespace ringchat::testing
