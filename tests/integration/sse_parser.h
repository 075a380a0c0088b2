#pragma once
// The event-stream interpretation of WHATWG HTML §9.2.6, as a browser's
// EventSource reads a text/event-stream body, for integration tests.
#include <string>
#include <string_view>
#include <vector>

namespace ringchat::testing {

struct Event {
  std::string type = "message";
  std::string data;
  std::string id;  // the last event id when it was dispatched
};

// Fed the body as it comes.
class EventParser {
 public:
  // Returns the events completed by `bytes`.
  std::vector<Event> feed(std::string_view bytes) {
    std::vector<Event> out;
    for (char ch : bytes) {
      if (skip_lf_ && ch == '\n') {
        skip_lf_ = false;
        continue;
      }
      skip_lf_ = ch == '\r';
      if (ch == '\r' || ch == '\n') {
        line(line_, out);
        line_.clear();
      } else {
        line_ += ch;
      }
    }
    return out;
  }
  int comments = 0;
  std::string retry;

 private:
  void line(const std::string& l, std::vector<Event>& out) {
    if (l.empty()) {
      if (!data_.empty()) {
        if (data_.back() == '\n') data_.pop_back();
        out.push_back({type_.empty() ? "message" : type_, data_, last_id_});
      }
      data_.clear();
      type_.clear();
      return;
    }
    if (l[0] == ':') {
      ++comments;
      return;
    }
    const size_t colon = l.find(':');
    std::string field = l.substr(0, colon), value;
    if (colon != std::string::npos) {
      value = l.substr(colon + 1);
      if (!value.empty() && value[0] == ' ') value.erase(0, 1);
    }
    if (field == "data") {
      data_ += value;
      data_ += '\n';
    } else if (field == "event") {
      type_ = value;
    } else if (field == "id") {
      last_id_ = value;
    } else if (field == "retry") {
      retry = value;
    }
  }
  std::string line_, data_, type_, last_id_;
  bool skip_lf_ = false;
};

}  // namespace ringchat::testing
