// libFuzzer target: chat::encode (src/chat/wire.h), above all the SSE event.
// Input: a kind byte, a seq byte, then the payload. The SSE event is read
// back the way a WHATWG EventSource reads it (lines end at CR, LF or CRLF):
// exactly one event, its id EPOCH:SEQ, every payload line its own `data:`
// line, no CR anywhere, no blank line before the end, and the data, joined,
// is the payload with CR and CRLF turned into LF (base64 for binary). The
// raw frame and the JSON envelope are read back too.
#include <simdjson.h>

#include <cinttypes>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "chat/json_op.h"
#include "chat/wire.h"
#include "fuzz_check.h"
#include "ringchat/ws/frame_encoder.h"
#include "ringchat/ws/frame_parser.h"
#include "ringchat/ws/utf8.h"

namespace {

using ringchat::chat::Format;
using ringchat::chat::Kind;
using ringchat::chat::Message;

constexpr uint64_t kEpoch = 0x0123456789abcdefull;
constexpr uint64_t kSeqs[] = {1, 9, 10, 99, 4294967296ull, 18446744073709551615ull, 0, 42};

std::string bytes_of(ringchat::net::SharedBuf* b) {
  std::string s(b->view());
  b->release();
  return s;
}

// RFC 4648 base64, written independently of chat::append_base64.
std::string base64(std::string_view in) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    const uint32_t v =
        uint32_t(uint8_t(in[i])) << 16 | uint32_t(uint8_t(in[i + 1])) << 8 | uint8_t(in[i + 2]);
    for (int k = 3; k >= 0; --k) out.push_back(kAlphabet[(v >> (6 * k)) & 63]);
  }
  if (in.size() - i == 1) {
    const uint32_t v = uint32_t(uint8_t(in[i])) << 16;
    out += {kAlphabet[v >> 18], kAlphabet[(v >> 12) & 63], '=', '='};
  } else if (in.size() - i == 2) {
    const uint32_t v = uint32_t(uint8_t(in[i])) << 16 | uint32_t(uint8_t(in[i + 1])) << 8;
    out += {kAlphabet[v >> 18], kAlphabet[(v >> 12) & 63], kAlphabet[(v >> 6) & 63], '='};
  }
  return out;
}

// The text with every CRLF and CR made LF: what EventSource hands on.
std::string normalised(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\r') {
      out.push_back('\n');
      if (i + 1 < text.size() && text[i + 1] == '\n') ++i;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

void check_sse(const Message& m, std::string_view text) {
  const std::string ev = bytes_of(ringchat::chat::encode(Format::kSse, m));
  FUZZ_CHECK(ev.find('\r') == std::string::npos);
  FUZZ_CHECK(ev.size() >= 2 && ev.find("\n\n") == ev.size() - 2);
  // Lines (each ends in LF, the last is the blank one).
  std::vector<std::string_view> lines;
  for (size_t at = 0; at < ev.size() - 1;) {
    const size_t lf = ev.find('\n', at);
    lines.push_back(std::string_view(ev).substr(at, lf - at));
    at = lf + 1;
  }
  char id[64];
  std::snprintf(id, sizeof id, "id: %016" PRIx64 ":%" PRIu64, m.epoch, m.seq);
  FUZZ_CHECK(!lines.empty() && lines[0] == id);
  size_t first_data = 1;
  if (m.kind == Kind::kBinary) {
    FUZZ_CHECK(lines.size() == 3 && lines[1] == "event: binary");
    first_data = 2;
  }
  std::string data;
  FUZZ_CHECK(lines.size() > first_data);
  for (size_t i = first_data; i < lines.size(); ++i) {
    // "data" then ':' then one space, which the reader strips.
    FUZZ_CHECK(lines[i].substr(0, 6) == "data: ");
    if (i > first_data) data.push_back('\n');
    data.append(lines[i].substr(6));
  }
  FUZZ_CHECK(data == (m.kind == Kind::kBinary ? base64(text) : normalised(text)));
}

// The one server frame in `wire`, as a client reads it.
ringchat::ws::Event read_frame(std::string& wire, std::vector<std::byte>& buf) {
  buf.assign(reinterpret_cast<const std::byte*>(wire.data()),
             reinterpret_cast<const std::byte*>(wire.data() + wire.size()));
  std::span<std::byte> in(buf);
  ringchat::ws::FrameParser parser(ringchat::ws::Role::kClient, 64 << 20);
  auto ev = parser.next(in);
  FUZZ_CHECK(ev.ok() && ev->kind == ringchat::ws::Event::Kind::kMessage && in.empty());
  return *ev;
}

void check_frames(const Message& m, std::string_view text) {
  std::vector<std::byte> buf;
  std::string raw = bytes_of(ringchat::chat::encode(Format::kRawWs, m));
  const auto ev = read_frame(raw, buf);
  FUZZ_CHECK(ev.opcode == (m.kind == Kind::kBinary ? ringchat::ws::Opcode::kBinary
                                                   : ringchat::ws::Opcode::kText));
  FUZZ_CHECK(ringchat::ws::as_string_view(ev.payload) == text);

  std::string json = bytes_of(ringchat::chat::encode(Format::kJsonWs, m));
  const auto env = read_frame(json, buf);
  FUZZ_CHECK(env.opcode == ringchat::ws::Opcode::kText);
  static simdjson::dom::parser reader;
  const std::string_view envelope = ringchat::ws::as_string_view(env.payload);
  simdjson::dom::object o;
  FUZZ_CHECK(reader.parse(envelope.data(), envelope.size()).get(o) == simdjson::SUCCESS);
  std::string_view s;
  FUZZ_CHECK(o["type"].get(s) == simdjson::SUCCESS && s == "msg");
  FUZZ_CHECK(o["room"].get(s) == simdjson::SUCCESS && s == m.room);
  uint64_t seq = 0;
  FUZZ_CHECK(o["seq"].get(seq) == simdjson::SUCCESS && seq == m.seq);
  if (m.kind == Kind::kBinary) {
    FUZZ_CHECK(o["data_base64"].get(s) == simdjson::SUCCESS && s == base64(text));
  } else if (m.kind == Kind::kText) {
    FUZZ_CHECK(o["data"].get(s) == simdjson::SUCCESS && s == text);
  } else {
    // The value verbatim, last: ...,"data":VALUE}
    const std::string tail = std::string(",\"data\":").append(text).append("}");
    FUZZ_CHECK(envelope.size() > tail.size() &&
               envelope.substr(envelope.size() - tail.size()) == tail);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  static ringchat::chat::OpParser json;
  std::string_view text(reinterpret_cast<const char*>(data + 2), size - 2);
  Kind kind = static_cast<Kind>(data[0] % 3);
  std::string compact;
  // What a publisher can make the server send: text is UTF-8 (a text frame
  // is validated; an HTTP body that is not goes out as binary), JSON one
  // valid value, compacted.
  if (kind == Kind::kJson) {
    auto v = json.minify(text);
    if (v) {
      compact = std::string(*v);
      text = compact;
    } else {
      kind = Kind::kText;
    }
  }
  if (kind == Kind::kText && !ringchat::ws::is_valid_utf8(ringchat::ws::as_bytes(text))) {
    kind = Kind::kBinary;
  }
  Message m;
  m.room = "lobby.1";
  m.epoch = kEpoch ^ (uint64_t{data[1]} << 56);
  m.seq = kSeqs[data[1] % 8];
  m.ts_ms = 1700000000123;
  m.from = {12, 3, 1};
  m.payload = ringchat::ws::as_bytes(text);
  m.kind = kind;
  check_sse(m, text);
  check_frames(m, text);
  return 0;
}
