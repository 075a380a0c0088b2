#include "cluster_codec.h"

#include <charconv>
#include <cstring>

namespace ringchat::chat {

namespace {
constexpr size_t kHeader = 1 + 1 + 4 + 2 + 4 + 4 + 8;

template <typename T>
void put(std::string& out, T v) {
  for (size_t i = 0; i < sizeof(T); ++i) out.push_back(static_cast<char>(v >> (8 * i) & 0xFF));
}

template <typename T>
T get(const char* p) {
  T v = 0;
  for (size_t i = 0; i < sizeof(T); ++i) v |= T{static_cast<unsigned char>(p[i])} << (8 * i);
  return v;
}

// The decimal or hex number before the next space; advances `s` past it.
bool take(std::string_view& s, int base, uint64_t* out) {
  const size_t sp = s.find(' ');
  if (sp == std::string_view::npos || sp == 0) return false;
  auto [end, ec] = std::from_chars(s.data(), s.data() + sp, *out, base);
  if (ec != std::errc() || end != s.data() + sp) return false;
  s.remove_prefix(sp + 1);
  return true;
}
}  // namespace

std::string room_meta_key(std::string_view room) {
  return std::string("rc:{").append(room).append("}:m");
}
std::string room_log_key(std::string_view room) {
  return std::string("rc:{").append(room).append("}:log");
}
std::string room_channel(std::string_view room) {
  return std::string("rc:{").append(room).append("}");
}
std::string_view channel_room(std::string_view channel) {
  if (channel.size() < 6 || channel.substr(0, 4) != "rc:{" || channel.back() != '}') return {};
  return channel.substr(4, channel.size() - 5);
}

std::string room_presence_key(std::string_view room) {
  return std::string("rc:{").append(room).append("}:p");
}

std::string member_id(const Present& p) {
  return std::to_string(p.node)
      .append("-")
      .append(std::to_string(p.who.shard))
      .append("-")
      .append(std::to_string(p.who.slot))
      .append("-")
      .append(std::to_string(p.who.gen));
}

bool parse_member_id(std::string_view id, Present* out) {
  uint64_t v[4];
  for (int i = 0; i < 4; ++i) {
    const size_t end = i < 3 ? id.find('-') : id.size();
    if (end == std::string_view::npos || end == 0) return false;
    auto [p, ec] = std::from_chars(id.data(), id.data() + end, v[i]);
    if (ec != std::errc() || p != id.data() + end) return false;
    id.remove_prefix(i < 3 ? end + 1 : end);
  }
  if (v[0] > UINT32_MAX || v[1] > UINT16_MAX || v[2] > UINT32_MAX || v[3] > UINT32_MAX) {
    return false;
  }
  out->node = static_cast<uint32_t>(v[0]);
  out->who = {static_cast<uint32_t>(v[2]), static_cast<uint32_t>(v[3]),
              static_cast<uint16_t>(v[1])};
  return true;
}

bool is_presence_record(std::string_view record) { return record.starts_with("P "); }

bool decode_presence(std::string_view record, Present* who, bool* here, uint64_t* count) {
  if (!is_presence_record(record)) return false;
  std::string_view s = record.substr(2);
  uint64_t h = 0;
  if (!take(s, 10, count) || !take(s, 10, &h) || h > 1) return false;
  *here = h == 1;
  const size_t sp = s.find(' ');
  if (sp == std::string_view::npos || !parse_member_id(s.substr(0, sp), who)) return false;
  who->user = std::string(s.substr(sp + 1));
  return true;
}

std::string epoch_text(uint64_t epoch) {
  char buf[17];
  for (int i = 15; i >= 0; --i) {
    buf[i] = "0123456789abcdef"[epoch & 0xF];
    epoch >>= 4;
  }
  return {buf, 16};
}

bool parse_epoch(std::string_view text, uint64_t* epoch) {
  if (text.size() != 16) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *epoch, 16);
  return ec == std::errc() && end == text.data() + text.size();
}

std::string encode_publish(const PublishMsg& m, uint32_t node, uint64_t ts_ms) {
  const std::string_view body = m.body->view();
  const std::string_view user = m.user();
  const std::string_view payload = body.substr(m.room_len + m.user_len);
  std::string out;
  out.reserve(kHeader + user.size() + payload.size());
  out.push_back(static_cast<char>(m.kind));
  out.push_back(static_cast<char>(user.size()));
  put<uint32_t>(out, node);
  put<uint16_t>(out, m.shard);
  put<uint32_t>(out, m.slot);
  put<uint32_t>(out, m.gen);
  put<uint64_t>(out, ts_ms);
  out.append(user);
  out.append(payload);
  return out;
}

bool decode_record(std::string_view record, ClusterRecord* out) {
  std::string_view s = record;
  const size_t sp = s.find(' ');
  if (sp == std::string_view::npos || !parse_epoch(s.substr(0, sp), &out->epoch)) return false;
  s.remove_prefix(sp + 1);
  if (!take(s, 10, &out->seq) || out->seq == 0 || s.size() < kHeader) return false;
  const char* p = s.data();
  const auto kind = static_cast<uint8_t>(p[0]);
  if (kind > static_cast<uint8_t>(Kind::kJson)) return false;
  out->kind = static_cast<Kind>(kind);
  const size_t user_len = static_cast<unsigned char>(p[1]);
  if (s.size() < kHeader + user_len) return false;
  out->node = get<uint32_t>(p + 2);
  out->from.shard = get<uint16_t>(p + 6);
  out->from.slot = get<uint32_t>(p + 8);
  out->from.gen = get<uint32_t>(p + 12);
  out->ts_ms = get<uint64_t>(p + 16);
  out->user = s.substr(kHeader, user_len);
  const std::string_view payload = s.substr(kHeader + user_len);
  out->payload = {reinterpret_cast<const std::byte*>(payload.data()), payload.size()};
  return true;
}

}  // namespace ringchat::chat
