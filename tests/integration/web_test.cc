// The files of web/ as a browser gets them (types, ETag, 304, HEAD, 405),
// and GET /stats: its shape, and its numbers moving after publishes.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <chrono>
#include <thread>

#include "ringchat/web/assets.h"
#include "ws_client.h"

namespace ringchat::testing {
namespace {

struct Answer {
  int status = 0;
  std::string head, body;
  // The value of header `name` (as written), or "" when absent.
  std::string header(std::string_view name) const {
    const std::string key = cat("\r\n", name, ": ");
    const size_t at = head.find(key);
    if (at == std::string::npos) return {};
    const size_t from = at + key.size();
    return head.substr(from, head.find("\r\n", from) - from);
  }
};

Answer get(uint16_t port, std::string_view method, std::string_view path,
           std::string_view extra = {}) {
  Client c(port);
  std::string resp;
  Answer a;
  if (method == "HEAD") {
    // No body follows a HEAD's head: read until the server closes.
    c.send_raw(
        cat(method, " ", path, " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n", extra, "\r\n"));
    for (std::string more; !(more = c.read_some()).empty();) resp += more;
    a.status = resp.starts_with("HTTP/1.1 ") ? std::stoi(resp.substr(9, 3)) : 0;
  } else {
    a.status = c.http(cat(method, " ", path, " HTTP/1.1\r\nHost: x\r\n", extra, "\r\n"), &resp);
  }
  const size_t end = resp.find("\r\n\r\n");
  a.head = resp.substr(0, end + 2);
  a.body = end == std::string::npos ? "" : resp.substr(end + 4);
  return a;
}

TEST(Web, ServesEveryEmbeddedFileWithItsTypeAndETag) {
  TestServer server(test_config(2));
  ASSERT_GE(web::all().size(), 5u);
  for (const web::Asset& f : web::all()) {
    const Answer a = get(server.port(), "GET", f.path);
    EXPECT_EQ(a.status, 200) << f.path;
    EXPECT_EQ(a.header("Content-Type"), f.content_type) << f.path;
    EXPECT_EQ(a.header("ETag"), f.etag) << f.path;
    EXPECT_EQ(a.header("Cache-Control"), "no-cache") << f.path;
    EXPECT_EQ(a.body, f.bytes()) << f.path;
  }
  EXPECT_EQ(get(server.port(), "GET", "/").header("Content-Type"), "text/html; charset=utf-8");
  EXPECT_EQ(get(server.port(), "GET", "/dashboard").header("Content-Type"),
            "text/html; charset=utf-8");
  EXPECT_EQ(get(server.port(), "GET", "/app.js").header("Content-Type"),
            "text/javascript; charset=utf-8");
  EXPECT_EQ(get(server.port(), "GET", "/style.css").header("Content-Type"),
            "text/css; charset=utf-8");
}

TEST(Web, ETagsAreStrongHashesOfTheBytes) {
  for (const web::Asset& f : web::all()) {
    EXPECT_EQ(f.etag.size(), 34u) << f.path;  // quoted, 32 hex digits
    EXPECT_TRUE(f.etag.starts_with('"') && f.etag.ends_with('"')) << f.etag;
    for (const web::Asset& g : web::all()) {
      if (&f != &g && f.bytes() != g.bytes()) {
        EXPECT_NE(f.etag, g.etag);
      }
    }
  }
}

TEST(Web, AnswersAMatchingIfNoneMatchWith304) {
  TestServer server(test_config(1));
  const web::Asset* page = web::find("/");
  ASSERT_NE(page, nullptr);
  const Answer hit =
      get(server.port(), "GET", "/", cat("If-None-Match: \"zz\", ", page->etag, "\r\n"));
  EXPECT_EQ(hit.status, 304);
  EXPECT_EQ(hit.header("ETag"), page->etag);
  EXPECT_EQ(hit.header("Content-Length"), "");
  EXPECT_EQ(hit.body, "");
  const Answer miss = get(server.port(), "GET", "/", "If-None-Match: \"zz\"\r\n");
  EXPECT_EQ(miss.status, 200);
  EXPECT_EQ(miss.body, page->bytes());
}

TEST(Web, HeadGetsTheHeadersWithoutTheBody) {
  TestServer server(test_config(1));
  const web::Asset* js = web::find("/app.js");
  ASSERT_NE(js, nullptr);
  const Answer a = get(server.port(), "HEAD", "/app.js");
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(a.header("Content-Length"), std::to_string(js->size));
  EXPECT_EQ(a.header("ETag"), js->etag);
  EXPECT_EQ(a.body, "");
}

TEST(Web, OtherMethodsGet405NamingGetAndHead) {
  TestServer server(test_config(1));
  for (const char* m : {"POST", "PUT", "DELETE"}) {
    const Answer a = get(server.port(), m, "/dashboard", "Content-Length: 0\r\n");
    EXPECT_EQ(a.status, 405) << m;
    EXPECT_EQ(a.header("Allow"), "GET, HEAD") << m;
  }
  EXPECT_EQ(get(server.port(), "GET", "/nope.js").status, 404);
}

// ---- /stats ----

struct Stats {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  std::string text;
  bool ok = false;
  explicit Stats(uint16_t port) {
    const Answer a = get(port, "GET", "/stats");
    EXPECT_EQ(a.status, 200);
    EXPECT_EQ(a.header("Content-Type"), "application/json");
    text = a.body;
    ok = parser.parse(text).get(root) == simdjson::SUCCESS;
    EXPECT_TRUE(ok) << text;
  }
  // The sum over shards of the number at `key` ("delivered", "connections/ws_raw").
  uint64_t sum(std::string_view key) const {
    uint64_t total = 0;
    for (simdjson::dom::element s : root["shards"].get_array()) {
      uint64_t v = 0;
      if (s.at_pointer(cat("/", key)).get(v) == simdjson::SUCCESS) total += v;
    }
    return total;
  }
  bool lists_room(std::string_view list, std::string_view field, std::string_view value) const {
    for (simdjson::dom::element e : root[list].get_array()) {
      std::string_view v;
      if (e[field].get(v) == simdjson::SUCCESS && v == value) return true;
    }
    return false;
  }
};

template <typename Ok>
bool eventually(uint16_t port, Ok ok) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < end) {
    Stats s(port);
    if (s.ok && ok(s)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

TEST(StatsEndpoint, HasEveryFieldPerShardAndTheAbout) {
  auto cfg = test_config(2);
  cfg.about = R"({"build":{"version":"t"},"config":{"port":"0"},"doctor":{"verdict":"ok"}})";
  TestServer server(cfg);
  Stats s(server.port());
  ASSERT_TRUE(s.ok);
  simdjson::dom::array shards;
  ASSERT_EQ(s.root["shards"].get(shards), simdjson::SUCCESS);
  ASSERT_EQ(shards.size(), 2u);
  for (simdjson::dom::element sh : shards) {
    for (const char* k :
         {"/connections/http", "/connections/ws_raw", "/connections/ws_json", "/connections/sse",
          "/messages_in", "/publishes", "/delivered", "/loop_lag_ms/p50", "/loop_lag_ms/p99",
          "/loop_lag_buckets", "/mailbox_depth", "/mailbox_waiting", "/send_backlog_bytes"}) {
      EXPECT_EQ(sh.at_pointer(k).error(), simdjson::SUCCESS) << k << " in " << s.text;
    }
  }
  for (const char* k :
       {"/publish_to_send_ms/p50", "/publish_to_send_ms/p99", "/publish_to_send_buckets",
        "/bucket_bounds_ms", "/hot_rooms", "/slow_consumers", "/lists_age_ms", "/build/version",
        "/config/port", "/doctor/verdict"}) {
    EXPECT_EQ(s.root.at_pointer(k).error(), simdjson::SUCCESS) << k << " in " << s.text;
  }
  EXPECT_EQ(s.root["publish_to_send_buckets"].get_array().size(),
            s.root["bucket_bounds_ms"].get_array().size() + 1);
}

TEST(StatsEndpoint, WithoutAboutSaysNull) {
  TestServer server(test_config(1));
  Stats s(server.port());
  ASSERT_TRUE(s.ok);
  EXPECT_TRUE(s.root["build"].is_null());
  EXPECT_TRUE(s.root["doctor"].is_null());
}

TEST(StatsEndpoint, NumbersMoveAfterPublishesAndTheHotRoomShows) {
  TestServer server(test_config(2));
  const Stats before(server.port());
  ASSERT_TRUE(before.ok);
  auto a = std::make_unique<Client>(server.port());
  auto b = std::make_unique<Client>(server.port());
  ASSERT_EQ(a->upgrade("/ws/stats-hot"), 101);
  ASSERT_EQ(b->upgrade("/ws/stats-hot"), 101);
  EXPECT_TRUE(
      eventually(server.port(), [](const Stats& s) { return s.sum("connections/ws_raw") == 2; }));
  // Publishes keep coming while /stats is watched: the owner's list needs
  // two of its ticks (a second apart) to count a room's messages.
  Client pub(server.port());
  uint64_t sent = 0;
  const bool hot = eventually(server.port(), [&](const Stats& s) {
    for (int i = 0; i < 5; ++i, ++sent) pub.publish("stats-hot", "m");
    return s.lists_room("hot_rooms", "room", "stats-hot");
  });
  EXPECT_TRUE(hot);
  const bool moved = eventually(server.port(), [&](const Stats& s) {
    return s.sum("publishes") - before.sum("publishes") >= sent &&
           s.sum("delivered") - before.sum("delivered") >= 2 * sent &&
           s.sum("messages_in") - before.sum("messages_in") >= sent;
  });
  EXPECT_TRUE(moved);
  uint64_t count = 0;
  const Stats after(server.port());
  EXPECT_EQ(after.root.at_pointer("/publish_to_send_ms/count").get(count), simdjson::SUCCESS);
  EXPECT_GE(count, 2 * sent);
  double p99 = 0;
  EXPECT_EQ(after.root.at_pointer("/publish_to_send_ms/p99").get(p99), simdjson::SUCCESS);
  EXPECT_GT(p99, 0);
  // Each member reads what it was sent; the lists say nothing of them.
  for (uint64_t i = 0; i < sent; ++i) ASSERT_TRUE(a->recv_data()) << i;
}

TEST(StatsEndpoint, AReaderThatStopsReadingShowsAsASlowConsumer) {
  TestServer server(test_config(2));
  Client slow(server.port(), {.rcvbuf = 4096});
  ASSERT_EQ(slow.upgrade("/ws/stats-slow"), 101);
  Client pub(server.port());
  const std::string big(64 << 10, 'x');
  // Up to 6 MiB for a reader that reads nothing: more than the kernel's
  // buffers hold, less than --send-backlog (8 MiB).
  int sent = 0;
  const bool listed = eventually(server.port(), [&](const Stats& s) {
    if (sent < 96) {
      for (int i = 0; i < 8; ++i, ++sent) pub.publish("stats-slow", big);
    }
    return s.lists_room("slow_consumers", "room", "stats-slow");
  });
  EXPECT_TRUE(listed);
  Stats s(server.port());
  EXPECT_GT(s.sum("send_backlog_bytes"), 0u);
}

}  // namespace
}  // namespace ringchat::testing
