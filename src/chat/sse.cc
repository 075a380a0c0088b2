#include "sse.h"

#include <cinttypes>
#include <cstdio>

#include "ringchat/chat/drain.h"
#include "ringchat/http/response.h"

namespace ringchat::chat {

using obs::Metric;

namespace {
// What the browser waits before reconnecting after the stream ends.
constexpr int kRetryMs = 2000;
}  // namespace

size_t SseStream::start(net::Conn& c, Session& s, const std::string& room,
                        std::optional<Position> since) {
  ctx_.set_protocol(c, s, ProtocolId::kSse);
  s.parser = std::monostate{};
  std::string head = http::make_stream_head(200, "text/event-stream; charset=utf-8",
                                            "Cache-Control: no-cache\r\nX-Accel-Buffering: no\r\n"
                                            "Access-Control-Allow-Origin: *\r\n");
  char retry[32];
  std::snprintf(retry, sizeof(retry), "retry: %d\n\n", kRetryMs);
  head += retry;
  send(c, head);
  // As a JSON socket's join: the answer says where the room stands (and,
  // with a position, brings what the client missed); live events follow.
  auto joined = ctx_.rooms.join(room, ctx_.conns.slot_of(c), c.gen, format(),
                                since.value_or(Position{}), since ? UINT32_MAX : 0);
  s.room = joined.membership.room;
  s.member_index = joined.membership.index;
  ctx_.conns.schedule(c, ctx_.timer_delay(c, ctx_.cfg.sse_heartbeat_ms));
  return head.size();
}

void SseStream::history(net::Conn& c, Session&, const HistoryBatch& b) {
  // `joined` has as its id the position just before the first event to
  // come: a client that reconnects before the next event (even before any
  // message of the room) resumes from there and misses nothing.
  const uint64_t first = b.msgs.empty() ? b.seq + 1 : b.msgs.front()->seq();
  char event[200];
  std::snprintf(event, sizeof(event),
                "event: joined\nid: %016" PRIx64 ":%" PRIu64 "\ndata: {\"epoch\":\"%016" PRIx64
                "\",\"seq\":%" PRIu64 ",\"recovered\":%s}\n\n",
                b.epoch, first - 1, b.epoch, b.seq, b.recovered ? "true" : "false");
  send(c, event);
  for (const Sequenced* m : b.msgs) {
    ctx_.conns.queue(c, ctx_.conns.local(wire_ref(*m, format()), 1));
  }
}

void SseStream::moved(net::Conn&, Session& s, const LocalRoom* room, uint32_t index) {
  RC_DCHECK(s.room == room || s.room == nullptr);
  s.room = const_cast<LocalRoom*>(room);
  s.member_index = index;
}

std::span<std::byte> SseStream::on_data(net::Conn&, Session&, std::span<std::byte>) {
  return {};  // nothing is expected after the request: dropped
}

void SseStream::on_timer(net::Conn& c, Session&) {
  if (ctx_.expired(c)) {
    // The stream ends; EventSource reconnects with the same URL, so the
    // expired token gets its 401 and the page must bring a new one.
    ctx_.count_auth_failure("expired");
    return ctx_.conns.close(c);
  }
  // (A stream over its backlog is closed by the connection table, as a slow
  // WebSocket is; the client resumes with Last-Event-ID.)
  // A comment: no event for the client, bytes for proxies and dead peers.
  ctx_.conns.queue(c, ctx_.conns.local(net::SharedBuf::copy_of(": hb\n\n"), 1),
                   net::ConnTable::Charge::kControl);
  ctx_.conns.schedule(c, ctx_.timer_delay(c, ctx_.cfg.sse_heartbeat_ms));
}

void SseStream::goodbye(net::Conn& c, uint64_t retry_ms) {
  // Charged as control bytes (a heartbeat's kind): a stream over its
  // backlog still ends with them rather than be closed as slow.
  ctx_.conns.send_copy(c, drain_sse(retry_ms), net::ConnTable::Charge::kControl);
  ctx_.conns.close(c);
}

void SseStream::on_closed(net::Conn& c, Session& s) {
  if (s.room) ctx_.rooms.leave(s.membership(), c.gen);
  s.room = nullptr;
}

void SseStream::send(net::Conn& c, std::string_view bytes) { ctx_.conns.send_copy(c, bytes); }

}  // namespace ringchat::chat
