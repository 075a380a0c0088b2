// Connection and publish limits (--max-conns, --max-conns-per-ip,
// --conn-rate, --pub-rate): each refuses only the client over it, with the
// documented status or close code, counts the hit by kind, and leaves the
// other clients of the shard getting their messages.
#include <gtest/gtest.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "ws_client.h"

namespace ringchat::testing {
namespace {

using obs::Metric;

// A member of its own room on a raw socket (echo on): shows that the server
// still serves others while a limit refuses someone.
class Bystander {
 public:
  Bystander(uint16_t port, const std::string& room) : c_(port) {
    ok_ = c_.upgrade(cat("/ws/", room)) == 101;
  }
  bool ok() const { return ok_; }
  void expect_served(const std::string& text) {
    c_.send_text(text);
    auto m = c_.recv_data();
    ASSERT_TRUE(m.has_value()) << "a bystander stopped getting its messages";
    EXPECT_EQ(m->payload, text);
  }

 private:
  Client c_;
  bool ok_ = false;
};

// The answer a refused connection gets before it sends anything: the
// status, and the body (JSON with the limit's code).
struct Refused {
  int status = 0;
  std::string body;
};

Refused refused(Client& c) {
  const std::string r = c.read_some();
  Refused out;
  if (r.rfind("HTTP/1.1 ", 0) == 0) out.status = std::stoi(r.substr(9, 3));
  const size_t head_end = r.find("\r\n\r\n");
  if (head_end != std::string::npos) out.body = r.substr(head_end + 4);
  EXPECT_NE(r.find("Retry-After: 1\r\n"), std::string::npos) << r;
  EXPECT_NE(r.find("Connection: close"), std::string::npos) << r;
  EXPECT_TRUE(c.wait_eof()) << "a refused connection stays open";
  return out;
}

bool has_code(const std::string& body, const std::string& code) {
  return body.find(cat(R"("code":")", code, R"(")")) != std::string::npos;
}

TEST(Limits, ConnectionsFromOneAddressOverTheLimitGet429) {
  auto cfg = test_config(2);
  cfg.conn_limits = {.max_conns_per_ip = 4, .limit_loopback = true};
  TestServer server(cfg);
  Bystander b(server.port(), "lim-ip");
  ASSERT_TRUE(b.ok());
  std::vector<std::unique_ptr<Client>> held;
  for (int i = 0; i < 3; ++i) {
    held.push_back(std::make_unique<Client>(server.port()));
    ASSERT_EQ(held.back()->http("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"), 200) << i;
  }
  for (int i = 0; i < 3; ++i) {
    Client over(server.port());
    const Refused r = refused(over);
    EXPECT_EQ(r.status, 429);
    EXPECT_TRUE(has_code(r.body, "max_conns_per_ip")) << r.body;
  }
  EXPECT_EQ(server.total(Metric::kLimitConnsPerIp), 3u);
  b.expect_served("still here");
  // A place freed is a place again.
  held.pop_back();
  bool admitted = false;
  for (int i = 0; i < 50 && !admitted; ++i) {  // the close reaches the server on its own time
    Client again(server.port());
    admitted = again.http("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n") == 200;
    if (!admitted) usleep(20'000);
  }
  EXPECT_TRUE(admitted);
}

TEST(Limits, LoopbackIsExemptFromPerAddressLimitsByDefault) {
  auto cfg = test_config(1);
  cfg.conn_limits = {.max_conns_per_ip = 2, .conn_rate = 1, .conn_burst = 1};
  TestServer server(cfg);
  std::vector<std::unique_ptr<Client>> held;
  for (int i = 0; i < 10; ++i) {
    held.push_back(std::make_unique<Client>(server.port()));
    ASSERT_EQ(held.back()->http("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"), 200) << i;
  }
  EXPECT_EQ(server.total(Metric::kLimitConnsPerIp) + server.total(Metric::kLimitConnRate), 0u);
}

TEST(Limits, ConnectionsInAllOverTheLimitGet503) {
  auto cfg = test_config(2);
  cfg.conn_limits = {.max_conns = 3};
  TestServer server(cfg);
  Bystander b(server.port(), "lim-all");
  ASSERT_TRUE(b.ok());
  Client one(server.port()), two(server.port());
  ASSERT_EQ(one.http("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"), 200);
  ASSERT_EQ(two.http("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"), 200);
  Client over(server.port());
  const Refused r = refused(over);
  EXPECT_EQ(r.status, 503);
  EXPECT_TRUE(has_code(r.body, "max_conns")) << r.body;
  EXPECT_EQ(server.total(Metric::kLimitMaxConns), 1u);
  b.expect_served("the one in three");
}

TEST(Limits, AFloodOfNewConnectionsFromOneAddressIsThrottled) {
  auto cfg = test_config(2);
  cfg.conn_limits = {.conn_rate = 2, .conn_burst = 5, .limit_loopback = true};
  TestServer server(cfg);
  Bystander b(server.port(), "lim-rate");  // takes one of the burst
  ASSERT_TRUE(b.ok());
  int ok = 0, throttled = 0;
  for (int i = 0; i < 40; ++i) {  // connect, ask, close: as fast as it goes
    Client c(server.port());
    std::string resp;
    const int status = c.http("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", &resp);
    if (status == 200) {
      ++ok;
    } else {
      ASSERT_EQ(status, 429) << resp;
      EXPECT_TRUE(has_code(resp, "conn_rate")) << resp;
      ++throttled;
    }
  }
  // The burst (less the bystander's) plus what 2 per second refills while
  // the loop runs; closing a connection gives no token back.
  EXPECT_GE(ok, 4);
  EXPECT_LE(ok, 4 + 2 * 3);
  EXPECT_EQ(ok + throttled, 40);
  EXPECT_EQ(server.total(Metric::kLimitConnRate), static_cast<uint64_t>(throttled));
  b.expect_served("unthrottled");
}

TEST(Limits, ARawSocketOverThePublishRateIsClosedWith1008) {
  auto cfg = test_config(2);
  cfg.pub_rate = 1;
  cfg.pub_burst = 5;
  TestServer server(cfg);
  Bystander b(server.port(), "lim-pub-other");
  ASSERT_TRUE(b.ok());
  Client reader(server.port());
  ASSERT_EQ(reader.upgrade("/ws/lim-pub"), 101);
  Client flooder(server.port());
  ASSERT_EQ(flooder.upgrade("/ws/lim-pub"), 101);
  for (int i = 0; i < 20; ++i) flooder.send_text(cat("m", std::to_string(i)));
  EXPECT_EQ(flooder.read_until_close(), 1008);
  // The burst went through, in order; nothing after it.
  for (int i = 0; i < 5; ++i) {
    auto m = reader.recv_data();
    ASSERT_TRUE(m.has_value()) << i;
    EXPECT_EQ(m->payload, cat("m", std::to_string(i)));
  }
  EXPECT_FALSE(reader.recv_data(300).has_value());
  EXPECT_EQ(server.total(Metric::kLimitPubRate), 1u);
  b.expect_served("unaffected");  // a publisher too, with a bucket of its own
  EXPECT_EQ(server.total(Metric::kLimitPubRate), 1u);
}

TEST(Limits, AJsonSocketOverThePublishRateGetsErrorsAndStaysOpen) {
  auto cfg = test_config(2);
  cfg.pub_rate = 1;
  cfg.pub_burst = 3;
  TestServer server(cfg);
  Client c(server.port());
  ASSERT_EQ(c.upgrade("/ws"), 101);
  c.send_text(R"({"type":"join","room":"lim-json"})");
  auto joined = c.recv_data();
  ASSERT_TRUE(joined.has_value());
  ASSERT_NE(joined->payload.find(R"("type":"joined")"), std::string::npos) << joined->payload;
  for (int i = 0; i < 6; ++i) {
    c.send_text(cat(R"({"type":"pub","room":"lim-json","data":)", std::to_string(i), R"(,"id":"p)",
                    std::to_string(i), R"("})"));
  }
  int msgs = 0, acks = 0, limited = 0;
  for (int i = 0; i < 9; ++i) {  // 3 msgs + 3 acks + 3 errors, in some order
    auto m = c.recv_data();
    ASSERT_TRUE(m.has_value()) << "after " << i << " answers";
    const std::string& p = m->payload;
    if (p.find(R"("type":"msg")") != std::string::npos) ++msgs;
    if (p.find(R"("type":"ack")") != std::string::npos) ++acks;
    if (p.find(R"("code":"rate_limited")") != std::string::npos) {
      ++limited;
      EXPECT_NE(p.find(R"("id":"p)"), std::string::npos) << "the error names the op: " << p;
    }
  }
  EXPECT_EQ(msgs, 3);
  EXPECT_EQ(acks, 3);
  EXPECT_EQ(limited, 3);
  c.send_text(R"({"type":"ping"})");
  auto pong = c.recv_data();
  ASSERT_TRUE(pong.has_value());
  EXPECT_NE(pong->payload.find(R"("type":"pong")"), std::string::npos) << pong->payload;
  EXPECT_EQ(server.total(Metric::kLimitPubRate), 3u);
}

TEST(Limits, AnHttpPublisherOverThePublishRateGets429) {
  auto cfg = test_config(2);
  cfg.pub_rate = 1;
  cfg.pub_burst = 2;
  TestServer server(cfg);
  Client c(server.port());
  const std::string post =
      "POST /rooms/lim-http/messages HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi";
  EXPECT_EQ(c.http(post), 201);
  EXPECT_EQ(c.http(post), 201);
  std::string resp;
  EXPECT_EQ(c.http(post, &resp), 429);
  EXPECT_TRUE(has_code(resp, "rate_limited")) << resp;
  EXPECT_NE(resp.find("Retry-After: 1\r\n"), std::string::npos) << resp;
  // The connection stays usable: another request is answered.
  EXPECT_EQ(c.http("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"), 200);
  EXPECT_EQ(server.total(Metric::kLimitPubRate), 1u);
}

TEST(Limits, HeaderFieldsOverTheLimitGet431) {
  auto cfg = test_config(1);
  cfg.max_header_fields = 5;
  TestServer server(cfg);
  Bystander b(server.port(), "lim-fields");
  ASSERT_TRUE(b.ok());
  std::string head = "GET /healthz HTTP/1.1\r\nHost: x\r\n";
  for (int i = 1; i < 5; ++i) head += cat("X-", std::to_string(i), ": v\r\n");
  Client ok(server.port());
  EXPECT_EQ(ok.http(head + "\r\n"), 200);  // 5 fields: Host and 4 more
  Client over(server.port());
  std::string resp;
  EXPECT_EQ(over.http(head + "X-5: v\r\n\r\n", &resp), 431) << resp;
  EXPECT_TRUE(over.wait_eof());
  EXPECT_EQ(server.total(obs::Metric::kLimitHeader), 1u);
  b.expect_served("after the 431");
}

TEST(Limits, ABodyOverMaxMessageGets413AndIsCounted) {
  auto cfg = test_config(1);
  cfg.max_message = 1000;
  TestServer server(cfg);
  Bystander b(server.port(), "lim-body");
  ASSERT_TRUE(b.ok());
  Client c(server.port());
  std::string resp;
  EXPECT_EQ(c.http("POST /rooms/lim-body/messages HTTP/1.1\r\nHost: x\r\n"
                   "Content-Length: 1001\r\n\r\n",
                   &resp),
            413)
      << resp;
  EXPECT_EQ(server.total(obs::Metric::kLimitBody), 1u);
  b.expect_served("after the 413");
}

}  // namespace
}  // namespace ringchat::testing
