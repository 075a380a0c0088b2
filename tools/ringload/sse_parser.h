#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace ringchat::ringload {

// What an SSE stream hands its reader.
class SseSink {
 public:
  virtual ~SseSink() = default;
  // A dispatched event: `type` is "" for the default "message"; `id` is the
  // stream's last event id (it persists across events, as in a browser).
  virtual void on_event(std::string_view type, std::string_view id, std::string_view data) = 0;
  // A comment line (": hb"), without its leading ':'.
  virtual void on_comment(std::string_view text) = 0;
};

// Incremental text/event-stream parser (WHATWG HTML §9.2.6): lines end at
// CRLF, LF or CR (a CRLF split between two feeds is one line end); `data:`
// lines are joined with LF; `event:` and `id:` apply to the event they are
// in (`id` also to later ones); `retry:` and unknown fields are ignored; an
// empty line dispatches the event if it had data. A leading BOM is skipped.
// Pure: no I/O; allocates only to hold a partial line and the data so far.
// Thread: owned by one connection.
class SseParser {
 public:
  // Consumes all of `in`, calling `sink` for every event and comment
  // completed by it. Returns false if a line grew past `max_line` bytes
  // (the stream is not SSE, or hostile): the parser is then done.
  bool feed(std::string_view in, SseSink& sink);
  void set_max_line(size_t n) { max_line_ = n; }
  std::string_view last_event_id() const { return id_; }
  // Frees buffers between events (an idle stream holds none).
  void release();

 private:
  void on_line(std::string_view line, SseSink& sink);
  void on_field(std::string_view name, std::string_view value);

  std::string partial_;  // a line not yet ended
  std::string data_;
  std::string type_;
  std::string id_;
  size_t max_line_ = 1 << 20;
  bool has_data_ = false;
  bool skip_lf_ = false;  // the last byte seen was a CR ending a line
  bool started_ = false;  // past a possible BOM
  bool failed_ = false;
};

}  // namespace ringchat::ringload
