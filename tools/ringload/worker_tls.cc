// Worker: TLS between the ring and the protocols (--tls), and the handshake
// mode. Ciphertext from the provided-buffer receives goes into the
// connection's TlsClient; the plaintext it yields goes to on_bytes() as a
// plain connection's bytes would. Plaintext queued on c.out waits until the
// handshake is done, then is encrypted when its send is prepared; the
// ciphertext goes out through the same one-send-in-flight path.
#include "clock.h"
#include "worker.h"

namespace ringchat::ringload {
namespace {

// Handshake mode, TLS 1.3: how long to wait for the session ticket after the
// handshake before closing anyway (counted tls:no_ticket).
constexpr uint64_t kTicketWaitNs = 1'000'000'000;
constexpr uint64_t kCloseWaitNs = 1'000'000'000;

}  // namespace

void Worker::mark_dirty(uint32_t i) {
  Conn& c = conns_[i];
  if (c.dirty) return;
  c.dirty = true;
  dirty_.push_back(i);
}

bool Worker::has_output(const Conn& c) const {
  if (!c.tls) return !c.out.empty();
  return !c.tls->output().empty() || (c.tls->established() && !c.out.empty());
}

// The next bytes to send, once the previous ones are all gone: the
// plaintext queue as it is, or (TLS) encrypted, after the handshake's own.
void Worker::fill_wire(Conn& c) {
  c.wire.clear();
  c.out_off = 0;
  if (!c.tls) {
    std::swap(c.wire, c.out);
    return;
  }
  if (c.tls->established() && !c.out.empty()) {
    if (!c.tls->write(c.out)) count_error("tls:write_" + c.tls->error());
    c.out.clear();
  }
  std::swap(c.wire, c.tls->output());
}

// After the TCP connect: the ClientHello goes out. False if the connection
// was aborted.
bool Worker::start_tls(uint32_t i, uint64_t now) {
  Conn& c = conns_[i];
  WOLFSSL_SESSION* resume = s_.tls_resume ? c.tls_session.get() : nullptr;
  c.tls = std::make_unique<TlsClient>(*ep_.tls, ep_.target.host, resume);
  c.tls_counted = false;
  if (!c.tls->ok()) {
    abort_conn(i, "tls:out_of_memory", now);
    return false;
  }
  if (c.tls->start() != TlsStatus::kOk) {
    abort_conn(i, "tls:" + c.tls->error(), now);
    return false;
  }
  c.state = State::kHandshake;
  submit_send(c, i);
  return true;
}

void Worker::on_wire(uint32_t i, std::span<std::byte> data, uint64_t now) {
  Conn& c = conns_[i];
  if (!c.tls) return on_bytes(i, data, now);
  tls_plain_.clear();
  const TlsStatus st = c.tls->feed(data, tls_plain_);
  if (st == TlsStatus::kError) return abort_conn(i, "tls:" + c.tls->error(), now);
  on_tls_progress(i, now);
  const bool active = c.state == State::kHandshake || c.state == State::kJoining ||
                      c.state == State::kOpen || c.state == State::kClosing;
  if (!tls_plain_.empty() && active && s_.mode != Mode::kHandshake)
    on_bytes(i, std::as_writable_bytes(std::span(tls_plain_)), now);
  if (st == TlsStatus::kClosed) abort_conn(i, c.close_sent ? "" : "tls:close_notify", now);
}

// What a feed changed: the handshake's end (counted full or resumed), a
// session worth keeping, bytes to send.
void Worker::on_tls_progress(uint32_t i, uint64_t now) {
  Conn& c = conns_[i];
  TlsClient& t = *c.tls;
  if (t.established() && !c.tls_counted) {
    c.tls_counted = true;
    StageStats& st = stages_[static_cast<size_t>(stage_)];
    ++(t.resumed() ? st.tls_resumed : st.tls_full);
    if (tls_version_.empty()) {
      tls_version_ = t.version();
      tls_cipher_ = t.cipher();
    }
    if (s_.mode == Mode::kHandshake) {
      st.latency.record(now - c.attempt_ns);  // connect + handshake
      interval_.record(now - c.attempt_ns);
      c.deadline_ns = std::min(c.deadline_ns, now + kTicketWaitNs);
    } else if (c.role == Role::kPublisher) {
      on_open(i, now, OpenInfo{});  // HTTP keep-alive: usable now
    }
    // A client's request has waited on c.out; it goes out now.
  }
  if (s_.tls_resume && t.resumable() && !c.tls_saved) {
    c.tls_saved = true;
    c.tls_session = t.session();
  }
  if (s_.mode == Mode::kHandshake && !c.cycle_done && t.resumable()) finish_cycle(i, now);
  if (has_output(c)) mark_dirty(i);
}

// Handshake mode: the connection did what it came for (TCP connect, and
// with --tls the handshake and the ticket). Close it: close_notify first,
// then shutdown once that is sent (on_send); on_closed starts the next.
void Worker::finish_cycle(uint32_t i, uint64_t now) {
  Conn& c = conns_[i];
  c.cycle_done = true;
  --connecting_;
  ++conn_counts_.opened;
  if (!c.ever_opened) {
    c.ever_opened = true;
    ++settled_;
  }
  c.attempt = 0;
  StageStats& st = stages_[static_cast<size_t>(stage_)];
  ++st.cycles;
  ++cycles_total_;
  if (!c.tls) {
    st.latency.record(now - c.attempt_ns);  // the TCP connect alone
    interval_.record(now - c.attempt_ns);
  }
  c.state = State::kClosing;
  c.close_sent = true;
  c.deadline_ns = now + kCloseWaitNs;
  if (!c.tls) return abort_conn(i, "", now);
  c.tls->close_notify();
  mark_dirty(i);
}

}  // namespace ringchat::ringload
