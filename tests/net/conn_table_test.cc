#include "ringchat/net/conn_table.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <string>
#include <vector>

namespace ringchat::net {
namespace {

using core::Op;

// Records what the table asks of the ring; hands recv completions the
// bytes the test gives them. No ring, no socket.
struct FakeIo : ConnIo {
  std::vector<std::string> calls;
  std::string input;
  const msghdr* last_send = nullptr;
  static std::string at(const char* what, uint32_t slot) {
    return std::string(what) + " " + std::to_string(slot);
  }
  void recv(uint32_t slot, uint32_t) override { calls.push_back(at("recv", slot)); }
  std::span<std::byte> received(const io_uring_cqe*) override {
    return {reinterpret_cast<std::byte*>(input.data()), input.size()};
  }
  void cancel_recv(uint32_t slot, uint32_t) override { calls.push_back(at("cancel_recv", slot)); }
  void send(uint32_t slot, uint32_t, const msghdr* msg) override {
    last_send = msg;
    calls.push_back(at("send", slot));
  }
  void shutdown(uint32_t slot, uint32_t) override { calls.push_back(at("shutdown", slot)); }
  void cancel_all(uint32_t slot) override { calls.push_back(at("cancel_all", slot)); }
  void close(uint32_t slot, uint32_t) override { calls.push_back(at("close", slot)); }
};

// A protocol that takes bytes until told to block, and logs its calls.
struct FakeHandler : ConnHandler {
  std::string got;
  std::vector<std::string> events;
  bool block = false;
  void on_open(Conn&) override { events.push_back("open"); }
  std::span<std::byte> on_data(Conn&, std::span<std::byte> data) override {
    if (block) return data;
    got.append(reinterpret_cast<const char*>(data.data()), data.size());
    return {};
  }
  void on_timer(Conn&) override { events.push_back("timer"); }
  bool input_blocked(const Conn&) const override { return block; }
  bool blocked_elsewhere(const Conn&) const override { return false; }
  void on_close_requested(Conn&, CloseWhy why) override {
    events.push_back("close_requested " + std::to_string(static_cast<int>(why)));
  }
  void on_closed(Conn&) override { events.push_back("closed"); }
};

class ConnTableTest : public ::testing::Test {
 protected:
  ConnTableTest() : wheel_(50, 64, 0), table_(config(), io_, wheel_, handler_, metrics_) {
    EXPECT_TRUE(table_.init());
    table_.set_now(0);
  }
  static ConnTableConfig config() {
    ConnTableConfig c;
    c.max_conns = 64;
    c.max_backlog = 100;
    c.max_shard_backlog = 1 << 20;
    c.close_timeout_ms = 1000;
    return c;
  }
  // A completion of `op` for (slot, gen).
  void complete(Op op, uint32_t slot, uint32_t gen, int res, uint32_t flags = 0) {
    io_uring_cqe cqe{};
    cqe.user_data = core::pack(op, slot, gen);
    cqe.res = res;
    cqe.flags = flags;
    table_.on_completion(&cqe, core::unpack(cqe.user_data));
  }
  void recv_bytes(Conn& c, std::string bytes) {
    io_.input = std::move(bytes);
    complete(Op::kRecv, table_.slot_of(c), c.gen, static_cast<int>(io_.input.size()),
             IORING_CQE_F_MORE);
  }
  // Completes the connection's in-flight send with everything it offered.
  void send_all(Conn& c) {
    size_t n = 0;
    for (size_t i = 0; i < io_.last_send->msg_iovlen; ++i) n += io_.last_send->msg_iov[i].iov_len;
    complete(Op::kSend, table_.slot_of(c), c.gen, static_cast<int>(n));
  }
  uint64_t metric(obs::Metric m) const { return metrics_.get(m); }

  FakeIo io_;
  FakeHandler handler_;
  obs::ShardMetrics metrics_;
  core::TimerWheel wheel_;
  ConnTable table_;
};

TEST_F(ConnTableTest, OpenArmsARecvAndKeepsThePeer) {
  sockaddr_storage ss{};
  auto& in = reinterpret_cast<sockaddr_in&>(ss);
  in.sin_family = AF_INET;
  in.sin_port = htons(4242);
  in.sin_addr.s_addr = htonl(0x7F000001);
  Conn& c = table_.open(3, PeerAddr::from(ss));
  EXPECT_EQ(c.state, ConnState::kOpen);
  EXPECT_EQ(c.peer.to_string(), "127.0.0.1:4242");
  EXPECT_TRUE(c.peer.is_v4());
  EXPECT_EQ(io_.calls, (std::vector<std::string>{"recv 3"}));
  EXPECT_EQ(handler_.events, (std::vector<std::string>{"open"}));
  EXPECT_EQ(table_.open_count(), 1u);
  EXPECT_EQ(metric(obs::Metric::kConnectionsOpen), 1u);
}

TEST_F(ConnTableTest, PeerAddrFormatsIpv6) {
  sockaddr_storage ss{};
  auto& in6 = reinterpret_cast<sockaddr_in6&>(ss);
  in6.sin6_family = AF_INET6;
  in6.sin6_port = htons(80);
  in6.sin6_addr = in6addr_loopback;
  const PeerAddr p = PeerAddr::from(ss);
  EXPECT_FALSE(p.is_v4());
  EXPECT_EQ(p.to_string(), "[::1]:80");
}

TEST_F(ConnTableTest, InputReachesTheProtocol) {
  Conn& c = table_.open(0, {});
  recv_bytes(c, "hello");
  recv_bytes(c, " world");
  EXPECT_EQ(handler_.got, "hello world");
}

TEST_F(ConnTableTest, CompletionsOfAReusedSlotsOldGenerationAreDropped) {
  Conn& c = table_.open(5, {});
  const uint32_t old_gen = c.gen;
  table_.abort(c);  // the recv is in flight: cancel it first
  EXPECT_EQ(c.state, ConnState::kFinalizing);
  EXPECT_EQ(io_.calls.back(), "cancel_all 5");
  complete(Op::kRecv, 5, old_gen, -ECANCELED);  // the recv's last completion
  EXPECT_EQ(c.state, ConnState::kFree);
  EXPECT_EQ(io_.calls.back(), "close 5");
  Conn& again = table_.open(5, {});
  EXPECT_NE(again.gen, old_gen);
  recv_bytes(again, "new");
  io_.input = "stale bytes";
  complete(Op::kRecv, 5, old_gen, 11, IORING_CQE_F_MORE);
  EXPECT_EQ(handler_.got, "new") << "a completion of the old connection reached the new one";
  EXPECT_EQ(metric(obs::Metric::kStaleCompletions), 1u);
}

TEST_F(ConnTableTest, LingeringCloseSendsThenShutsDownThenWaitsForTheFin) {
  Conn& c = table_.open(1, {});
  table_.send_copy(c, "bye");
  table_.close(c);
  EXPECT_EQ(c.state, ConnState::kClosing);
  EXPECT_EQ(handler_.events.back(), "closed");
  table_.end_turn();
  EXPECT_EQ(io_.calls.back(), "send 1");
  recv_bytes(c, "ignored");  // input is read and dropped while closing
  EXPECT_EQ(handler_.got, "");
  send_all(c);
  table_.end_turn();
  EXPECT_EQ(io_.calls.back(), "shutdown 1") << "FIN only after the last byte";
  complete(Op::kShutdown, 1, c.gen, 0);
  EXPECT_EQ(c.state, ConnState::kClosing) << "still waiting for the peer's FIN";
  complete(Op::kRecv, 1, c.gen, 0);  // the FIN (the multishot recv ends)
  EXPECT_EQ(c.state, ConnState::kFree);
  EXPECT_EQ(io_.calls.back(), "close 1");
  EXPECT_EQ(std::count(handler_.events.begin(), handler_.events.end(), "closed"), 1);
}

TEST_F(ConnTableTest, ClosingPeerThatNeverSendsItsFinIsAbortedAtTheTimeout) {
  Conn& c = table_.open(2, {});
  table_.close(c);
  wheel_.advance(2000, [&](core::TimerNode& n) { table_.on_timer(static_cast<Conn&>(n)); });
  EXPECT_EQ(c.state, ConnState::kFinalizing);
  EXPECT_EQ(io_.calls.back(), "cancel_all 2");
}

TEST_F(ConnTableTest, OpenConnectionsTimerGoesToTheProtocol) {
  Conn& c = table_.open(2, {});
  table_.schedule(c, 100);
  wheel_.advance(200, [&](core::TimerNode& n) { table_.on_timer(static_cast<Conn&>(n)); });
  EXPECT_EQ(handler_.events.back(), "timer");
  EXPECT_EQ(c.state, ConnState::kOpen);
}

TEST_F(ConnTableTest, DataQueuedBehindMoreThanTheBacklogClosesASlowConsumer) {
  Conn& c = table_.open(4, {});
  table_.send_copy(c, std::string(150, 'a'));  // over the 100-byte limit, but admitted whole
  EXPECT_TRUE(c.usable());
  table_.send_copy(c, "b", ConnTable::Charge::kControl);  // control never closes
  EXPECT_TRUE(c.usable());
  table_.send_copy(c, "c");  // data behind 151 bytes: a slow consumer
  EXPECT_EQ(c.close_why, CloseWhy::kSlowConsumer);
  EXPECT_EQ(c.state, ConnState::kOpen) << "closes only at settle()";
  table_.settle();
  EXPECT_EQ(c.state, ConnState::kClosing);
  EXPECT_EQ(handler_.events[1], "close_requested 1");
  EXPECT_EQ(metric(obs::Metric::kSlowConsumerCloses), 1u);
}

TEST_F(ConnTableTest, HeldOutputWaitsUntilReleased) {
  Conn& c = table_.open(6, {});
  table_.send_copy(c, "101");
  table_.hold_output(c, true);
  table_.end_turn();
  EXPECT_EQ(io_.calls.back(), "recv 6") << "sent while held";
  table_.hold_output(c, false);
  table_.end_turn();
  EXPECT_EQ(io_.calls.back(), "send 6");
}

TEST_F(ConnTableTest, BlockedInputPausesTheRecvAndResumesWhenTheSendDrains) {
  Conn& c = table_.open(7, {});
  table_.send_copy(c, "answer");
  handler_.block = true;
  recv_bytes(c, "req1");
  EXPECT_TRUE(c.paused);
  EXPECT_EQ(io_.calls.back(), "cancel_recv 7");
  recv_bytes(c, "req2");  // arrived before the cancel took effect: kept
  EXPECT_EQ(handler_.got, "");
  table_.end_turn();  // sends the answer
  handler_.block = false;
  send_all(c);
  EXPECT_FALSE(c.paused);
  EXPECT_EQ(handler_.got, "req1req2") << "the stash goes to the protocol, in order";
  complete(Op::kRecv, 7, c.gen, -ECANCELED);  // the cancelled recv ends
  table_.end_turn();
  EXPECT_EQ(std::count(io_.calls.begin(), io_.calls.end(), "recv 7"), 2) << "reading resumed";
}

TEST_F(ConnTableTest, RequestedCloseDropsUnsentBytes) {
  Conn& c = table_.open(8, {});
  table_.send_copy(c, "x");
  EXPECT_EQ(table_.budget().held_bytes, 1u);
  table_.request_close(c, CloseWhy::kShed);
  EXPECT_EQ(table_.budget().held_bytes, 0u) << "unsent bytes were kept for a closing consumer";
  table_.send_copy(c, "y");  // refused while the close is pending
  EXPECT_EQ(table_.budget().held_bytes, 0u);
  table_.settle();
  EXPECT_EQ(metric(obs::Metric::kShardBacklogSheds), 1u);
}

// A transport of the shape of TLS: its own bytes to send (a handshake
// answer, an alert, last words when closing), input it fails on, and
// plaintext that waits in the send queue until it is ready.
struct FakeTransport : Transport {
  std::vector<std::string> events;
  std::string own;  // bytes of its own, sent before any plaintext
  bool ready = false;
  bool said_goodbye = false;
  msghdr msg{};
  iovec iov{};
  std::string out;  // what the prepared send offers
  void open(Conn&) override { events.push_back("open"); }
  void release(Conn&) override { events.push_back("release"); }
  Decoded decode(Conn&, std::span<std::byte> wire) override {
    std::string_view in(reinterpret_cast<const char*>(wire.data()), wire.size());
    if (in == "hello") {
      own += "HELLO";
      ready = true;
      return {{}, true};
    }
    if (in == "garbage") {
      own += "ALERT";
      return {{}, true, true};
    }
    if (in.ends_with(" and goodbye")) return {wire.first(in.size() - 12), false, true};
    return {wire};
  }
  const msghdr* prepare_send(Conn& c) override {
    out = std::exchange(own, {});
    if (ready && c.sendq && !c.sendq->empty()) {
      const msghdr* m = c.sendq->prepare();
      size_t n = 0;
      for (size_t i = 0; i < m->msg_iovlen; ++i) {
        out.append(static_cast<const char*>(m->msg_iov[i].iov_base), m->msg_iov[i].iov_len);
        n += m->msg_iov[i].iov_len;
      }
      c.sendq->complete(n);
    }
    if (out.empty() && c.state == ConnState::kClosing && !said_goodbye) {
      said_goodbye = true;
      out = "BYE";
    }
    if (out.empty()) return nullptr;
    iov = {out.data(), out.size()};
    msg = msghdr{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    return &msg;
  }
  void sent(Conn&, size_t n) override { events.push_back("sent " + std::to_string(n)); }
  size_t unsent(const Conn& c) const override {
    return own.size() + (c.sendq ? c.sendq->backlog_bytes() : 0);
  }
};

class ConnTableTransportTest : public ConnTableTest {
 protected:
  ConnTableTransportTest() { index_ = table_.add_transport(tls_); }
  std::string sent_text() const {
    return {static_cast<const char*>(io_.last_send->msg_iov[0].iov_base),
            io_.last_send->msg_iov[0].iov_len};
  }
  FakeTransport tls_;
  uint8_t index_ = 0;
};

TEST_F(ConnTableTransportTest, ATransportSendsItsOwnBytesAndPlaintextWaitsUntilItIsReady) {
  Conn& c = table_.open(2, {}, index_);
  EXPECT_EQ(index_, 1);
  EXPECT_EQ(tls_.events, (std::vector<std::string>{"open"}));
  // The protocol answers before the transport is ready: nothing goes out,
  // and the queue keeps the answer.
  table_.send_copy(c, "early");
  table_.end_turn();
  EXPECT_EQ(io_.last_send, nullptr);
  ASSERT_NE(c.sendq, nullptr);
  EXPECT_EQ(table_.unsent(c), 5u);
  recv_bytes(c, "hello");
  EXPECT_EQ(handler_.got, "");  // the handshake is the transport's
  table_.end_turn();
  ASSERT_NE(io_.last_send, nullptr);
  EXPECT_EQ(sent_text(), "HELLOearly");
  // One send in flight at a time, whatever is queued meanwhile.
  io_.last_send = nullptr;
  table_.send_copy(c, "more");
  table_.end_turn();
  EXPECT_EQ(io_.last_send, nullptr);
  complete(Op::kSend, 2, c.gen, 10);
  table_.end_turn();
  ASSERT_NE(io_.last_send, nullptr);
  EXPECT_EQ(sent_text(), "more");
  recv_bytes(c, "data");
  EXPECT_EQ(handler_.got, "data");
}

TEST_F(ConnTableTransportTest, WhatThePeerSentBeforeEndingTheTransportReachesTheProtocol) {
  Conn& c = table_.open(4, {}, index_);
  recv_bytes(c, "hello");
  recv_bytes(c, "last request and goodbye");
  EXPECT_EQ(handler_.got, "last request");
  EXPECT_EQ(c.state, ConnState::kClosing);
}

TEST_F(ConnTableTransportTest, InputTheTransportFailsOnClosesAfterItsAlertAndItsLastWords) {
  Conn& c = table_.open(3, {}, index_);
  recv_bytes(c, "garbage");
  EXPECT_EQ(c.state, ConnState::kClosing);
  EXPECT_EQ(handler_.events, (std::vector<std::string>{"open", "closed"}));
  table_.end_turn();
  ASSERT_NE(io_.last_send, nullptr);
  EXPECT_EQ(sent_text(), "ALERT");
  complete(Op::kSend, 3, c.gen, 5);
  table_.end_turn();
  EXPECT_EQ(sent_text(), "BYE");  // then FIN
  EXPECT_EQ(io_.calls.back(), "send 3");
  complete(Op::kSend, 3, c.gen, 3);
  table_.end_turn();
  EXPECT_EQ(io_.calls.back(), "shutdown 3");
  complete(Op::kShutdown, 3, c.gen, 0);
  complete(Op::kRecv, 3, c.gen, 0);  // the peer's FIN
  EXPECT_EQ(c.state, ConnState::kFree);
  EXPECT_EQ(tls_.events.back(), "release");
}

}  // namespace
}  // namespace ringchat::net
