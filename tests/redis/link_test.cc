#include "ringchat/redis/link.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "redis_server.h"
#include "ringchat/core/timer_wheel.h"
#include "ringchat/obs/log.h"

namespace ringchat::redis {
namespace {

using ringchat::testing::RedisServer;

// Concatenation without `"literal" + std::string` (GCC 12's -Wrestrict).
template <typename... A>
std::string cat(const A&... parts) {
  std::string s;
  (s.append(std::string_view(parts)), ...);
  return s;
}

// What a link told its handler, in order.
class Recorder : public Link::Handler {
 public:
  void on_up() override {
    ++ups;
    if (when_up) when_up();
  }
  void on_reply(const Reply& r) override {
    replies.push_back(r.debug_string());
    if (each_reply) each_reply(r);
  }
  void on_down(size_t failed) override { downs.push_back(failed); }

  int ups = 0;
  std::vector<std::string> replies;
  std::vector<size_t> downs;
  std::function<void()> when_up;
  std::function<void(const Reply&)> each_reply;
};

// A real EventLoop on the test thread, a Dispatcher on it, and links to a
// real redis-server; run_until() drives turns (tick + flush at each turn's
// end, as a shard does) until a condition holds or a deadline passes.
class LinkTest : public ::testing::Test {
 protected:
  static constexpr int kDeadlineMs = 20000;

  void SetUp() override {
    if (!RedisServer::available()) GTEST_SKIP() << RedisServer::why_unavailable();
    core::ReactorOptions o;
    o.sq_entries = 256;
    o.cq_entries = 1024;
    o.buffer_count = 8;
    o.buffer_size = 4096;
    std::string how;
    auto r = loop_.init(o, &how);
    if (!r.ok()) GTEST_SKIP() << "io_uring unavailable: " << r.error();
    dispatcher_ = std::make_unique<Dispatcher>(loop_);
  }

  void TearDown() override {
    if (!dispatcher_) return;
    for (auto& l : links_) l->stop();
    EXPECT_TRUE(run_until([&] { return dispatcher_->idle(); }, 10000)) << "ops still in flight";
    links_.clear();
    obs::set_log_fd(2);
  }

  static Link::Options fast() {
    Link::Options o;
    o.connect_timeout_ms = 2000;
    o.reply_timeout_ms = 3000;
    o.backoff_min_ms = 50;
    o.backoff_max_ms = 400;
    return o;
  }

  Link& make_link(const std::string& url, Recorder& rec, Link::Options o = fast()) {
    auto ep = parse_url(url);
    EXPECT_TRUE(ep.ok()) << url;
    links_.push_back(
        std::make_unique<Link>(*dispatcher_, *ep, rec, std::move(o), 42 + links_.size()));
    return *links_.back();
  }

  // Runs turns until `done()` or `timeout_ms`; `each_turn` runs at every
  // turn's end, before the links' tick and flush.
  bool run_until(std::function<bool()> done, int timeout_ms = kDeadlineMs,
                 std::function<void()> each_turn = {}) {
    struct Hooks : core::TurnHooks {
      LinkTest* t;
      std::function<bool()> done;
      std::function<void()> each;
      uint64_t deadline;
      bool met = false;
      void on_timer(core::TimerNode&) override {}
      void after_event() override {}
      void end_turn() override {
        if (each) each();
        t->dispatcher_->tick(core::monotonic_ms());
        t->dispatcher_->flush();
      }
      int64_t before_sleep(int64_t) override {
        int64_t ms = 20;
        if (auto due = t->dispatcher_->next_due_ms(core::monotonic_ms())) {
          ms = std::min<int64_t>(ms, static_cast<int64_t>(*due));
        }
        return ms;
      }
      void woke() override {}
      bool finished() override {
        met = done();
        return met || core::monotonic_ms() >= deadline;
      }
    } hooks;
    hooks.t = this;
    hooks.done = std::move(done);
    hooks.each = std::move(each_turn);
    hooks.deadline = core::monotonic_ms() + static_cast<uint64_t>(timeout_ms);
    if (!loop_.run(hooks)) return false;
    return hooks.met;
  }

  bool wait_up(Link& l, int timeout_ms = kDeadlineMs) {
    return run_until([&] { return l.up(); }, timeout_ms);
  }

  // Log lines go to a file the test reads back.
  void capture_log() {
    char path[] = "/tmp/ringchat-redis-log-XXXXXX";
    int fd = mkstemp(path);
    ASSERT_GE(fd, 0);
    log_path_ = path;
    unlink(path);
    log_fd_ = fd;
    obs::set_log_fd(fd);
  }
  std::string captured_log() {
    std::string out;
    char buf[4096];
    for (off_t off = 0;;) {
      ssize_t n = pread(log_fd_, buf, sizeof(buf), off);
      if (n <= 0) break;
      out.append(buf, static_cast<size_t>(n));
      off += n;
    }
    return out;
  }

  core::EventLoop loop_;
  std::unique_ptr<Dispatcher> dispatcher_;
  std::vector<std::unique_ptr<Link>> links_;
  std::string log_path_;
  int log_fd_ = -1;
};

TEST_F(LinkTest, ConnectsAndPings) {
  RedisServer redis;
  ASSERT_TRUE(redis.start()) << redis.error();
  Recorder rec;
  Link& link = make_link(redis.url(), rec);
  link.start();
  ASSERT_TRUE(wait_up(link));
  EXPECT_EQ(rec.ups, 1);
  link.command({"PING"});
  EXPECT_EQ(link.in_flight(), 1u);
  ASSERT_TRUE(run_until([&] { return rec.replies.size() == 1; }));
  EXPECT_EQ(rec.replies[0], "+PONG");
  EXPECT_EQ(link.in_flight(), 0u);
  EXPECT_TRUE(rec.downs.empty());
}

TEST_F(LinkTest, TenThousandPipelinedCommandsReplyInOrder) {
  RedisServer redis;
  ASSERT_TRUE(redis.start()) << redis.error();
  Recorder rec;
  Link& link = make_link(redis.url(), rec);
  link.start();
  ASSERT_TRUE(wait_up(link));
  constexpr int kTotal = 10000, kPerTurn = 700;
  int queued = 0;
  int64_t expect = 1;
  bool in_order = true;
  std::string payload(100, 'p');
  rec.each_reply = [&](const Reply& r) {
    // INCR answers 1, 2, 3...: any reorder or loss shows.
    if (r.type() != ReplyType::kInteger || r.integer() != expect) in_order = false;
    ++expect;
  };
  size_t max_in_flight = 0;
  ASSERT_TRUE(run_until([&] { return expect > kTotal; }, kDeadlineMs,
                        [&] {
                          for (int i = 0; i < kPerTurn && queued < kTotal; ++i, ++queued) {
                            link.command({"INCR", "counter"});
                          }
                          max_in_flight = std::max(max_in_flight, link.in_flight());
                        }))
      << "replies: " << expect - 1;
  EXPECT_TRUE(in_order);
  EXPECT_EQ(link.in_flight(), 0u);
  EXPECT_GT(max_in_flight, 1u) << "commands were not pipelined";
  EXPECT_EQ(redis.query({"GET", "counter"}), "\"10000\"");
}

TEST_F(LinkTest, BinaryArgumentsAndRepliesSurviveTheRoundTrip) {
  RedisServer redis;
  ASSERT_TRUE(redis.start()) << redis.error();
  Recorder rec;
  Link& link = make_link(redis.url(), rec);
  link.start();
  ASSERT_TRUE(wait_up(link));
  const std::string value("a\r\nb\0c*$\r\n", 10);
  const std::string big(200000, 'x');  // more than one receive buffer
  std::vector<std::string> got;
  rec.each_reply = [&](const Reply& r) { got.emplace_back(r.str()); };
  link.command({"SET", "bin", value});
  link.command({"GET", "bin"});
  link.command({"SET", "big", big});
  link.command({"GET", "big"});
  ASSERT_TRUE(run_until([&] { return got.size() == 4; }));
  EXPECT_EQ(got[1], value);
  EXPECT_EQ(got[3], big);
}

TEST_F(LinkTest, ASendTheKernelTakesInPartsIsResumed) {
  RedisServer redis;
  ASSERT_TRUE(redis.start()) << redis.error();
  Recorder rec;
  Link& link = make_link(redis.url(), rec);
  link.start();
  ASSERT_TRUE(wait_up(link));
  // Far more than a loopback socket's send buffer: one send cannot take it.
  std::string big(16 << 20, 'b');
  for (size_t i = 0; i < big.size(); i += 4096) big[i] = static_cast<char>('a' + i % 26);
  link.command({"SET", "huge", big});
  link.command({"STRLEN", "huge"});
  link.command({"GET", "huge"});
  std::vector<std::string> got;
  rec.each_reply = [&](const Reply& r) { got.push_back(r.debug_string()); };
  ASSERT_TRUE(run_until([&] { return got.size() == 3; }));
  EXPECT_GT(link.stats().partial_sends, 0u);
  EXPECT_EQ(got[0], "+OK");
  EXPECT_EQ(got[1], std::to_string(big.size()));
  EXPECT_TRUE(got[2] == cat("\"", big, "\"")) << "the value came back changed";
}

TEST_F(LinkTest, ScriptIsLoadedAndRunByEvalsha) {
  RedisServer redis;
  ASSERT_TRUE(redis.start()) << redis.error();
  Recorder rec;
  Link::Options o = fast();
  o.scripts = {"return redis.call('INCRBY', KEYS[1], ARGV[1])", "return ARGV[1] .. KEYS[1]"};
  Link& link = make_link(redis.url(), rec, o);
  link.start();
  ASSERT_TRUE(wait_up(link));
  ASSERT_EQ(link.sha(0).size(), 40u);
  ASSERT_EQ(link.sha(1).size(), 40u);
  EXPECT_NE(link.sha(0), link.sha(1));
  link.command({"EVALSHA", link.sha(0), "1", "n", "5"});
  link.command({"EVALSHA", link.sha(0), "1", "n", "7"});
  link.command({"EVALSHA", link.sha(1), "1", "key", "arg-"});
  ASSERT_TRUE(run_until([&] { return rec.replies.size() == 3; }));
  EXPECT_EQ(rec.replies[0], "5");
  EXPECT_EQ(rec.replies[1], "12");
  EXPECT_EQ(rec.replies[2], "\"arg-key\"");
}

TEST_F(LinkTest, ScriptsAreLoadedAgainAfterAReconnect) {
  RedisServer redis;
  ASSERT_TRUE(redis.start()) << redis.error();
  Recorder rec;
  Link::Options o = fast();
  o.scripts = {"return 'hi'"};
  Link& link = make_link(redis.url(), rec, o);
  link.start();
  ASSERT_TRUE(wait_up(link));
  redis.kill();  // the restarted server has an empty script cache
  ASSERT_TRUE(run_until([&] { return rec.downs.size() == 1; }));
  ASSERT_TRUE(redis.start()) << redis.error();
  ASSERT_TRUE(wait_up(link));
  link.command({"EVALSHA", link.sha(0), "0"});
  ASSERT_TRUE(run_until([&] { return rec.replies.size() == 1; }));
  EXPECT_EQ(rec.replies[0], "\"hi\"");
}

TEST_F(LinkTest, AuthWithTheRightPassword) {
  RedisServer::Options so;
  so.password = "pa ss@word";
  RedisServer redis(so);
  ASSERT_TRUE(redis.start()) << redis.error();
  Recorder rec;
  Link& link =
      make_link(cat("redis://:pa%20ss%40word@127.0.0.1:", std::to_string(redis.port())), rec);
  link.start();
  ASSERT_TRUE(wait_up(link));
  link.command({"SET", "k", "v"});
  ASSERT_TRUE(run_until([&] { return rec.replies.size() == 1; }));
  EXPECT_EQ(rec.replies[0], "+OK");
}

TEST_F(LinkTest, AuthWithUserAndPassword) {
  RedisServer::Options so;
  so.config = {"user alice on >wonderland ~* &* +@all"};
  RedisServer redis(so);
  ASSERT_TRUE(redis.start()) << redis.error();
  Recorder rec;
  Link& link =
      make_link(cat("redis://alice:wonderland@127.0.0.1:", std::to_string(redis.port())), rec);
  link.start();
  ASSERT_TRUE(wait_up(link));
  link.command({"ACL", "WHOAMI"});
  ASSERT_TRUE(run_until([&] { return rec.replies.size() == 1; }));
  EXPECT_EQ(rec.replies[0], "\"alice\"");
}

TEST_F(LinkTest, WrongPasswordIsDownLoggedAndRetriedWithBackoff) {
  RedisServer::Options so;
  so.password = "right";
  RedisServer redis(so);
  ASSERT_TRUE(redis.start()) << redis.error();
  ASSERT_NO_FATAL_FAILURE(capture_log());
  Recorder rec;
  Link::Options o = fast();
  o.backoff_min_ms = 100;
  Link& link =
      make_link(cat("redis://:wrong-secret@127.0.0.1:", std::to_string(redis.port())), rec, o);
  link.start();
  std::vector<uint64_t> attempts;
  ASSERT_TRUE(run_until([&] { return link.stats().connects >= 4; }, kDeadlineMs,
                        [&] {
                          if (attempts.empty() || attempts.back() != link.stats().last_attempt_ms) {
                            attempts.push_back(link.stats().last_attempt_ms);
                          }
                        }));
  EXPECT_FALSE(link.up());
  EXPECT_EQ(rec.ups, 0);
  EXPECT_TRUE(rec.downs.empty()) << "never up: no on_down";
  EXPECT_GE(link.stats().failures, 3u);
  for (size_t i = 1; i < attempts.size(); ++i) {
    // The backoff's floor (100 ms), less the coarse clock's step.
    EXPECT_GE(attempts[i] - attempts[i - 1], 90u) << "attempt " << i;
  }
  const std::string log = captured_log();
  EXPECT_NE(log.find("AUTH"), std::string::npos) << log;
  EXPECT_NE(log.find("WRONGPASS"), std::string::npos) << log;
  EXPECT_NE(log.find("event=redis_link"), std::string::npos) << log;
  EXPECT_EQ(log.find("wrong-secret"), std::string::npos) << "the password was logged: " << log;
}

TEST_F(LinkTest, SelectsTheDatabase) {
  RedisServer redis;
  ASSERT_TRUE(redis.start()) << redis.error();
  Recorder rec;
  Link& link = make_link(cat(redis.url(), "/3"), rec);
  link.start();
  ASSERT_TRUE(wait_up(link));
  link.command({"SET", "in3", "yes"});
  link.command({"CLIENT", "INFO"});
  ASSERT_TRUE(run_until([&] { return rec.replies.size() == 2; }));
  EXPECT_NE(rec.replies[1].find(" db=3 "), std::string::npos) << rec.replies[1];
  EXPECT_EQ(redis.query({"GET", "in3"}), "nil") << "the key went to db 0";
  EXPECT_EQ(redis.query({"DBSIZE"}), "0");
}

TEST_F(LinkTest, BadDatabaseIsAHandshakeFailure) {
  RedisServer redis;
  ASSERT_TRUE(redis.start()) << redis.error();
  Recorder rec;
  Link& link = make_link(cat(redis.url(), "/99"), rec);  // 16 databases by default
  link.start();
  ASSERT_TRUE(run_until([&] { return link.stats().failures >= 2; }));
  EXPECT_EQ(rec.ups, 0);
}

TEST_F(LinkTest, UnixSocket) {
  RedisServer::Options so;
  so.unix_socket = true;
  RedisServer redis(so);
  ASSERT_TRUE(redis.start()) << redis.error();
  Recorder rec;
  Link& link = make_link(cat(redis.url(), "?db=2"), rec);
  ASSERT_EQ(redis.url().substr(0, 7), "unix://");
  link.start();
  ASSERT_TRUE(wait_up(link));
  link.command({"CLIENT", "INFO"});
  ASSERT_TRUE(run_until([&] { return rec.replies.size() == 1; }));
  EXPECT_NE(rec.replies[0].find(" db=2 "), std::string::npos) << rec.replies[0];
  EXPECT_NE(rec.replies[0].find(cat("laddr=", redis.unix_path())), std::string::npos)
      << rec.replies[0];
}

TEST_F(LinkTest, SubscriberReceivesPublishedMessagesInOrder) {
  RedisServer redis;
  ASSERT_TRUE(redis.start()) << redis.error();
  Recorder sub_rec, pub_rec;
  Link::Options so = fast();
  so.subscriber = true;
  Link& sub = make_link(redis.url(), sub_rec, so);
  Link& pub = make_link(redis.url(), pub_rec);
  sub.start();
  pub.start();
  ASSERT_TRUE(run_until([&] { return sub.up() && pub.up(); }));
  sub.command({"SUBSCRIBE", "room:a", "room:b"});
  EXPECT_EQ(sub.in_flight(), 1u);
  ASSERT_TRUE(run_until([&] { return sub_rec.replies.size() == 2; }));
  EXPECT_EQ(sub_rec.replies[0], "[\"subscribe\", \"room:a\", 1]");
  EXPECT_EQ(sub_rec.replies[1], "[\"subscribe\", \"room:b\", 2]");
  EXPECT_EQ(sub.in_flight(), 0u);
  constexpr int kMessages = 2000;
  for (int i = 0; i < kMessages; ++i) {
    const std::string payload = cat("m", std::to_string(i));
    pub.command({"PUBLISH", i % 2 ? "room:b" : "room:a", payload});
  }
  // The subscriber may have every message before the publisher has read
  // all its replies: wait for both.
  ASSERT_TRUE(run_until([&] {
    return sub_rec.replies.size() == 2 + kMessages && pub_rec.replies.size() == kMessages;
  })) << sub_rec.replies.size()
      << " " << pub_rec.replies.size();
  for (int i = 0; i < kMessages; ++i) {
    const std::string want =
        cat("[\"message\", \"", i % 2 ? "room:b" : "room:a", "\", \"m", std::to_string(i), "\"]");
    ASSERT_EQ(sub_rec.replies[2 + i], want) << "message " << i;
  }
  EXPECT_EQ(pub_rec.replies.size(), static_cast<size_t>(kMessages));
  EXPECT_EQ(pub_rec.replies[0], "1");
  // Unsubscribe: one reply per channel, then no more messages.
  sub.command({"UNSUBSCRIBE", "room:a", "room:b"});
  ASSERT_TRUE(run_until([&] { return sub_rec.replies.size() == 4 + kMessages; }));
  EXPECT_EQ(sub_rec.replies.back(), "[\"unsubscribe\", \"room:b\", 0]");
}

TEST_F(LinkTest, SubscribeRefusedWholeIsOneErrorReply) {
  RedisServer::Options so;
  so.config = {"user bob on >pw ~* resetchannels &ok:* +@all"};
  RedisServer redis(so);
  ASSERT_TRUE(redis.start()) << redis.error();
  Recorder rec;
  Link::Options o = fast();
  o.subscriber = true;
  Link& sub = make_link(cat("redis://bob:pw@127.0.0.1:", std::to_string(redis.port())), rec, o);
  sub.start();
  ASSERT_TRUE(wait_up(sub));
  sub.command({"SUBSCRIBE", "ok:1", "denied", "ok:2"});  // NOPERM for the whole command
  sub.command({"SUBSCRIBE", "ok:1"});
  ASSERT_TRUE(run_until([&] { return rec.replies.size() == 2; }));
  EXPECT_EQ(rec.replies[0].substr(0, 7), "-NOPERM") << rec.replies[0];
  EXPECT_EQ(rec.replies[1], "[\"subscribe\", \"ok:1\", 1]");
  EXPECT_EQ(sub.in_flight(), 0u);
  EXPECT_TRUE(sub.up());
}

TEST_F(LinkTest, SubscriberPingsWhenQuiet) {
  RedisServer redis;
  ASSERT_TRUE(redis.start()) << redis.error();
  Recorder rec;
  Link::Options so = fast();
  so.subscriber = true;
  so.reply_timeout_ms = 1000;
  Link& sub = make_link(redis.url(), rec, so);
  sub.start();
  ASSERT_TRUE(wait_up(sub));
  sub.command({"SUBSCRIBE", "quiet"});
  ASSERT_TRUE(run_until([&] { return rec.replies.size() == 1; }));
  // Quiet for a while: PINGs keep it up and their replies stay inside.
  const uint64_t until = core::monotonic_ms() + 3000;
  run_until([&] { return core::monotonic_ms() >= until; });
  EXPECT_TRUE(sub.up());
  EXPECT_EQ(rec.replies.size(), 1u);
  EXPECT_TRUE(rec.downs.empty());
  // Paused, the PING goes unanswered: down.
  redis.pause();
  ASSERT_TRUE(run_until([&] { return rec.downs.size() == 1; }));
  EXPECT_EQ(rec.downs[0], 0u) << "the link's own PING is not a caller's command";
  redis.resume();
}

TEST_F(LinkTest, KilledServerFailsCommandsThenReconnectsWithBackoff) {
  RedisServer redis;
  ASSERT_TRUE(redis.start()) << redis.error();
  Recorder rec;
  Link::Options o = fast();
  o.backoff_min_ms = 100;
  o.backoff_max_ms = 400;
  Link& link = make_link(redis.url(), rec, o);
  link.start();
  ASSERT_TRUE(wait_up(link));
  // Paused, the server takes the commands but answers none; then it dies.
  redis.pause();
  for (int i = 0; i < 5; ++i) link.command({"INCR", "x"});
  run_until([] { return false; }, 200);  // sent, unanswered
  EXPECT_EQ(link.in_flight(), 5u);
  redis.kill();
  ASSERT_TRUE(run_until([&] { return rec.downs.size() == 1; }));
  EXPECT_EQ(rec.downs[0], 5u);
  EXPECT_FALSE(link.up());
  EXPECT_EQ(link.in_flight(), 0u);
  EXPECT_TRUE(rec.replies.empty()) << "no reply after on_down";
  // Refused while it is gone: attempts spaced by the backoff.
  std::vector<uint64_t> attempts;
  const uint64_t first = link.stats().connects;
  ASSERT_TRUE(
      run_until([&] { return link.stats().connects >= first + 4; }, kDeadlineMs,
                [&] {
                  if (link.stats().connects > first &&
                      (attempts.empty() || attempts.back() != link.stats().last_attempt_ms)) {
                    attempts.push_back(link.stats().last_attempt_ms);
                  }
                }));
  for (size_t i = 1; i < attempts.size(); ++i) {
    EXPECT_GE(attempts[i] - attempts[i - 1], 90u) << "attempt " << i;
  }
  ASSERT_TRUE(redis.start()) << redis.error();
  ASSERT_TRUE(wait_up(link));
  EXPECT_EQ(rec.ups, 2);
  link.command({"GET", "x"});
  ASSERT_TRUE(run_until([&] { return rec.replies.size() == 1; }));
  EXPECT_EQ(rec.replies[0], "nil") << "nothing of the old server's commands was applied";
}

TEST_F(LinkTest, PausedServerIsAReplyTimeout) {
  RedisServer redis;
  ASSERT_TRUE(redis.start()) << redis.error();
  Recorder rec;
  Link::Options o = fast();
  o.reply_timeout_ms = 500;
  Link& link = make_link(redis.url(), rec, o);
  link.start();
  ASSERT_TRUE(wait_up(link));
  redis.pause();
  link.command({"PING"});
  link.command({"PING"});
  ASSERT_TRUE(run_until([&] { return rec.downs.size() == 1; }));
  EXPECT_EQ(rec.downs[0], 2u);
  EXPECT_TRUE(rec.replies.empty());
  redis.resume();
  ASSERT_TRUE(wait_up(link));
  link.command({"PING"});
  ASSERT_TRUE(run_until([&] { return rec.replies.size() == 1; }));
  EXPECT_EQ(rec.replies[0], "+PONG") << "the old socket's late replies are not delivered";
}

TEST_F(LinkTest, RefusedAtStartKeepsRetryingUntilTheServerIsThere) {
  RedisServer redis;  // port chosen, not started
  Recorder rec;
  Link& link = make_link(redis.url(), rec);
  link.start();
  ASSERT_TRUE(run_until([&] { return link.stats().failures >= 3; }));
  EXPECT_FALSE(link.up());
  EXPECT_EQ(rec.ups, 0);
  ASSERT_TRUE(redis.start()) << redis.error();
  ASSERT_TRUE(wait_up(link));
  EXPECT_EQ(rec.ups, 1);
  EXPECT_TRUE(rec.downs.empty());
}

// A listener whose accept queue is full: Linux drops further SYNs, so a
// connect to it hangs until the link's connect timeout.
class FullListener {
 public:
  FullListener() {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(a);
    if (bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 || listen(fd_, 0) != 0 ||
        getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      return;
    }
    port_ = ntohs(a.sin_port);
    // Fill the queue; stop at the first connect that does not complete.
    for (int i = 0; i < 8; ++i) {
      int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
      fillers_.push_back(c);
      connect(c, reinterpret_cast<sockaddr*>(&a), sizeof(a));
      pollfd p{c, POLLOUT, 0};
      if (poll(&p, 1, 300) == 0) {
        full_ = true;
        return;
      }
    }
  }
  ~FullListener() {
    for (int c : fillers_) close(c);
    if (fd_ >= 0) close(fd_);
  }
  bool full() const { return full_; }
  uint16_t port() const { return port_; }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
  bool full_ = false;
  std::vector<int> fillers_;
};

TEST_F(LinkTest, ConnectThatHangsTimesOutAndIsRetried) {
  FullListener listener;
  if (!listener.full()) GTEST_SKIP() << "this kernel answers connects to a full accept queue";
  ASSERT_NO_FATAL_FAILURE(capture_log());
  Recorder rec;
  Link::Options o = fast();
  o.connect_timeout_ms = 300;
  Link& link = make_link(cat("redis://127.0.0.1:", std::to_string(listener.port())), rec, o);
  link.start();
  ASSERT_TRUE(run_until([&] { return link.stats().failures >= 2; }));
  EXPECT_FALSE(link.up());
  EXPECT_EQ(rec.ups, 0);
  EXPECT_GE(link.stats().connects, 2u);
  const std::string log = captured_log();
  EXPECT_NE(log.find("reason=\"connect timeout\""), std::string::npos) << log;
}

TEST_F(LinkTest, StopEndsCallbacksAndLeavesNothingInFlight) {
  RedisServer redis;
  ASSERT_TRUE(redis.start()) << redis.error();
  Recorder rec;
  Link& link = make_link(redis.url(), rec);
  link.start();
  ASSERT_TRUE(wait_up(link));
  for (int i = 0; i < 100; ++i) link.command({"PING"});
  link.flush();
  link.stop();
  EXPECT_FALSE(link.up());
  ASSERT_TRUE(run_until([&] { return link.idle(); }));
  run_until([] { return false; }, 200);
  EXPECT_TRUE(rec.replies.empty());
  EXPECT_TRUE(rec.downs.empty());
  // And it can start again.
  link.start();
  ASSERT_TRUE(wait_up(link));
  EXPECT_EQ(rec.ups, 2);
}

TEST_F(LinkTest, StartRightAfterStopConnectsAgainOnceTheOldSocketIsDone) {
  RedisServer redis;
  ASSERT_TRUE(redis.start()) << redis.error();
  Recorder rec;
  Link& link = make_link(redis.url(), rec);
  link.start();
  ASSERT_TRUE(wait_up(link));
  for (int i = 0; i < 50; ++i) link.command({"INCR", "n"});
  link.flush();
  link.stop();
  EXPECT_FALSE(link.idle()) << "the send and the receive are still in the kernel";
  link.start();
  ASSERT_TRUE(wait_up(link));
  EXPECT_EQ(rec.ups, 2);
  link.command({"PING"});
  ASSERT_TRUE(run_until([&] { return !rec.replies.empty(); }));
  EXPECT_EQ(rec.replies[0], "+PONG") << "nothing of the stopped socket is delivered";
  EXPECT_EQ(rec.replies.size(), 1u);
}

TEST_F(LinkTest, HandlerMayStopTheLinkFromAReply) {
  RedisServer redis;
  ASSERT_TRUE(redis.start()) << redis.error();
  Recorder rec;
  Link& link = make_link(redis.url(), rec);
  rec.each_reply = [&](const Reply&) { link.stop(); };
  link.start();
  ASSERT_TRUE(wait_up(link));
  link.command({"PING"});
  link.command({"PING"});
  ASSERT_TRUE(run_until([&] { return !rec.replies.empty() && link.idle(); }));
  run_until([] { return false; }, 100);
  EXPECT_EQ(rec.replies.size(), 1u) << "no reply after stop()";
}

}  // namespace
}  // namespace ringchat::redis
