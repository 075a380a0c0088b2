#include "sse_parser.h"

#include <cstring>

namespace ringchat::ringload {

namespace {

// Where the first CR or LF of `s` is, or npos. Two memchr passes instead of
// find_first_of, which calls memchr over "\r\n" once per byte of `s`.
size_t line_end(std::string_view s) {
  const void* lf = std::memchr(s.data(), '\n', s.size());
  const size_t n = lf ? static_cast<size_t>(static_cast<const char*>(lf) - s.data()) : s.size();
  if (const void* cr = std::memchr(s.data(), '\r', n))
    return static_cast<const char*>(cr) - s.data();
  return lf ? n : std::string_view::npos;
}

}  // namespace

bool SseParser::feed(std::string_view in, SseSink& sink) {
  if (failed_) return false;
  if (!started_) {
    // WHATWG: one leading U+FEFF is ignored. It may arrive split.
    constexpr std::string_view kBom = "\xEF\xBB\xBF";
    std::string head = partial_ + std::string(in.substr(0, kBom.size()));
    if (head.size() < kBom.size() && kBom.starts_with(head)) {
      partial_ = head;
      return true;
    }
    started_ = true;
    if (head.starts_with(kBom)) {
      in.remove_prefix(kBom.size() - partial_.size());
      partial_.clear();
    }
  }
  while (!in.empty()) {
    if (skip_lf_) {
      skip_lf_ = false;
      if (in.front() == '\n') {
        in.remove_prefix(1);
        continue;
      }
    }
    const size_t end = line_end(in);
    if (end == std::string_view::npos) {
      if (partial_.size() + in.size() > max_line_) {
        failed_ = true;
        return false;
      }
      partial_.append(in);
      return true;
    }
    skip_lf_ = in[end] == '\r';
    if (partial_.empty()) {
      on_line(in.substr(0, end), sink);
    } else {
      partial_.append(in.substr(0, end));
      on_line(partial_, sink);
      partial_.clear();
    }
    in.remove_prefix(end + 1);
  }
  return true;
}

void SseParser::on_line(std::string_view line, SseSink& sink) {
  if (line.empty()) {
    if (has_data_) {
      std::string_view data = data_;
      if (!data.empty()) data.remove_suffix(1);  // the LF after the last data line
      sink.on_event(type_, id_, data);
    }
    data_.clear();
    type_.clear();
    has_data_ = false;
    return;
  }
  if (line.front() == ':') {
    sink.on_comment(line.substr(1));
    return;
  }
  const size_t colon = line.find(':');
  if (colon == std::string_view::npos) return on_field(line, {});
  std::string_view value = line.substr(colon + 1);
  if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  on_field(line.substr(0, colon), value);
}

void SseParser::on_field(std::string_view name, std::string_view value) {
  if (name == "data") {
    data_.append(value);
    data_.push_back('\n');
    has_data_ = true;
  } else if (name == "event") {
    type_.assign(value);
  } else if (name == "id") {
    if (value.find('\0') == std::string_view::npos) id_.assign(value);
  }
}

void SseParser::release() {
  if (partial_.empty() && !has_data_) {
    std::string().swap(partial_);
    std::string().swap(data_);
  }
}

}  // namespace ringchat::ringload
