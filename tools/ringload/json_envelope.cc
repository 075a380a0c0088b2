#include "json_envelope.h"

#include <simdjson.h>

#include <charconv>
#include <cstdio>
#include <memory>

namespace ringchat::ringload {
namespace {

namespace od = simdjson::ondemand;

std::optional<uint64_t> parse_hex16(std::string_view v) {
  if (v.size() != 16) return std::nullopt;
  uint64_t x = 0;
  for (char c : v) {
    int d = -1;
    if (c >= '0' && c <= '9') d = c - '0';
    if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
    if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
    if (d < 0) return std::nullopt;
    x = (x << 4) | static_cast<uint64_t>(d);
  }
  return x;
}

EnvelopeType type_of(std::string_view t) {
  if (t == "msg") return EnvelopeType::kMsg;
  if (t == "joined") return EnvelopeType::kJoined;
  if (t == "error") return EnvelopeType::kError;
  if (t == "draining") return EnvelopeType::kDraining;
  return EnvelopeType::kOther;
}

// One field of the object; false if its value has the wrong JSON type.
bool read_field(std::string_view key, od::value v, Envelope& e) {
  if (key == "type") {
    std::string_view t;
    if (v.get_string().get(t)) return false;
    e.type = type_of(t);
  } else if (key == "room") {
    if (v.get_string().get(e.room)) return false;
  } else if (key == "seq") {
    if (v.get_uint64().get(e.seq)) return false;
    e.has_seq = true;
  } else if (key == "epoch") {
    std::string_view t;
    if (v.get_string().get(t)) return false;
    auto x = parse_hex16(t);
    if (!x) return false;
    e.epoch = *x;
    e.has_epoch = true;
  } else if (key == "data") {
    // Another JSON type is legal (a JSON socket may publish any value) but
    // carries no ringload payload: has_data stays false.
    od::json_type jt;
    if (v.type().get(jt)) return false;
    if (jt == od::json_type::string) {
      if (v.get_string().get(e.data)) return false;
      e.has_data = true;
    }
  } else if (key == "recovered") {
    if (v.get_bool().get(e.recovered)) return false;
  } else if (key == "retry_ms") {
    if (v.get_uint64().get(e.retry_ms)) return false;
    e.has_retry_ms = true;
  } else if (key == "code") {
    if (v.get_string().get(e.code)) return false;
  }
  return true;
}

}  // namespace

std::optional<Position> parse_position(std::string_view text) {
  const size_t colon = text.find(':');
  if (colon != 16) return std::nullopt;
  auto epoch = parse_hex16(text.substr(0, 16));
  if (!epoch) return std::nullopt;
  const std::string_view s = text.substr(17);
  uint64_t seq = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), seq);
  if (s.empty() || ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return Position{*epoch, seq};
}

std::string format_position(const Position& p) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%016llx:%llu", static_cast<unsigned long long>(p.epoch),
                static_cast<unsigned long long>(p.seq));
  return buf;
}

struct EnvelopeParser::Impl {
  od::parser parser;
  std::string buf;  // the message plus simdjson's padding
};

void EnvelopeParser::ImplDelete::operator()(Impl* p) const { delete p; }

Result<Envelope, std::string_view> EnvelopeParser::parse(std::string_view json) {
  if (!impl_) impl_.reset(new Impl());
  // On Demand reads up to SIMDJSON_PADDING bytes past the end: copy into a
  // buffer that has them (a chat message is small; the copy is cheap).
  std::string& buf = impl_->buf;
  buf.assign(json);
  buf.append(simdjson::SIMDJSON_PADDING, '\0');
  od::document doc;
  if (impl_->parser.iterate(buf.data(), json.size(), buf.size()).get(doc)) {
    return Err(std::string_view("not_json"));
  }
  od::object obj;
  if (doc.get_object().get(obj)) return Err(std::string_view("not_object"));
  Envelope e;
  for (auto field : obj) {
    std::string_view key;
    if (field.unescaped_key().get(key)) return Err(std::string_view("not_json"));
    if (!read_field(key, field.value(), e)) return Err(std::string_view("bad_field"));
  }
  return e;
}

}  // namespace ringchat::ringload
