#include "wire.h"

#include "ringchat/ws/frame_encoder.h"

namespace ringchat::chat {

net::SharedBuf* encode(Format f, const Message& m) {
  switch (f) {
    case Format::kRawWs:
      // A raw room socket gets the payload as it was sent: text (JSON is
      // text) or binary.
      return ws::make_server_frame(
          m.kind == Kind::kBinary ? ws::Opcode::kBinary : ws::Opcode::kText, m.payload);
    case Format::kJsonWs:
    case Format::kSse:
      break;  // not built yet
  }
  return nullptr;
}

void append_json_string(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += ch;
    } else if (c < 0x20) {
      out += "\\u00";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += ch;
    }
  }
  out += '"';
}

void append_base64(std::string& out, std::span<const std::byte> bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const uint32_t v = std::to_integer<uint32_t>(bytes[i]) << 16 |
                       std::to_integer<uint32_t>(bytes[i + 1]) << 8 |
                       std::to_integer<uint32_t>(bytes[i + 2]);
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (const size_t rest = bytes.size() - i; rest > 0) {
    uint32_t v = std::to_integer<uint32_t>(bytes[i]) << 16;
    if (rest == 2) v |= std::to_integer<uint32_t>(bytes[i + 1]) << 8;
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += rest == 2 ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
}

void append_json(std::string& out, const Message& m) {
  out += "{\"seq\":";
  out += std::to_string(m.seq);
  out += ",\"ts\":";
  out += std::to_string(m.ts_ms);
  out += ",\"from\":\"";
  out += std::to_string(m.from.shard);
  out += '-';
  out += std::to_string(m.from.slot);
  out += '-';
  out += std::to_string(m.from.gen);
  out += '"';
  if (m.kind != Kind::kBinary) {
    out += ",\"data\":";
    append_json_string(out, {reinterpret_cast<const char*>(m.payload.data()), m.payload.size()});
  } else {
    out += ",\"data_base64\":\"";
    append_base64(out, m.payload);
    out += '"';
  }
  out += '}';
}

}  // namespace ringchat::chat
