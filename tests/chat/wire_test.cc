#include "wire.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <cstdint>
#include <cstring>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "ringchat/ws/frame_encoder.h"
#include "ringchat/ws/frame_parser.h"

namespace ringchat::chat {
namespace {

std::string json_string(std::string_view s) {
  std::string out;
  append_json_string(out, s);
  return out;
}

std::string base64(std::string_view s) {
  std::string out;
  append_base64(out, ws::as_bytes(s));
  return out;
}

Message message(std::string_view payload, Kind kind = Kind::kText) {
  Message m;
  m.room = "lobby.1";
  m.epoch = 0x0123456789abcdef;
  m.seq = 42;
  m.ts_ms = 1700000000123;
  m.from = {12, 3, 1};
  m.payload = ws::as_bytes(payload);
  m.kind = kind;
  return m;
}

// The bytes of `m` in `f`, as a string.
std::string encoded(Format f, const Message& m) {
  net::SharedBuf* b = encode(f, m);
  std::string out(b->view());
  b->release();
  return out;
}

// The one message a client reads from `wire`; fails unless `wire` is exactly
// one unfragmented frame of `op`.
std::string frame_payload(std::string_view wire, ws::Opcode op = ws::Opcode::kText) {
  std::vector<std::byte> bytes(wire.size());
  std::memcpy(bytes.data(), wire.data(), wire.size());
  std::span<std::byte> in(bytes);
  ws::FrameParser parser(ws::Role::kClient, 1 << 20);
  const auto ev = parser.next(in);
  EXPECT_TRUE(ev.ok());
  if (!ev.ok()) return {};
  EXPECT_EQ(ev->kind, ws::Event::Kind::kMessage);
  EXPECT_EQ(ev->opcode, op);
  EXPECT_TRUE(in.empty()) << "bytes after the frame";
  return std::string(ws::as_string_view(ev->payload));
}

std::string envelope(const Message& m) { return frame_payload(encoded(Format::kJsonWs, m)); }

// Text payloads built from pieces that are hard for a JSON encoder: every
// control byte, quotes, backslashes, U+2028/U+2029 and 2-, 3- and 4-byte
// UTF-8. Always valid UTF-8.
std::string tricky_text(std::mt19937& rng, size_t pieces) {
  static const std::vector<std::string> kPieces = {"a",
                                                   "Z",
                                                   " ",
                                                   "\"",
                                                   "\\",
                                                   "/",
                                                   "\x7f",
                                                   "\xc3\xa9",
                                                   "\xe4\xb8\xad",
                                                   "\xe2\x80\xa8",
                                                   "\xe2\x80\xa9",
                                                   "\xf0\x9f\x98\x80",
                                                   "\\u0000",
                                                   "data: ",
                                                   "\r\n",
                                                   ":"};
  std::string s;
  for (size_t i = 0; i < pieces; ++i) {
    const uint32_t r = rng() % (kPieces.size() + 32);
    if (r < 32) {
      s += static_cast<char>(r);  // a control byte, NUL included
    } else {
      s += kPieces[r - 32];
    }
  }
  return s;
}

TEST(Wire, JsonStringEscapesQuotesBackslashesAndControls) {
  EXPECT_EQ(json_string("plain"), "\"plain\"");
  EXPECT_EQ(json_string("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(json_string("line\nnext\ttab\x01"), "\"line\\u000anext\\u0009tab\\u0001\"");
  EXPECT_EQ(json_string("\xc3\xa9\xe4\xb8\xad"), "\"\xc3\xa9\xe4\xb8\xad\"") << "UTF-8 as it is";
  EXPECT_EQ(json_string(std::string("\0\x1f\x20\x7f", 4)), "\"\\u0000\\u001f \x7f\"");
}

TEST(Wire, JsonStringEscapesAtEveryOffsetOfALongString) {
  for (size_t at = 0; at < 40; ++at) {
    std::string s(40, 'x');
    s[at] = '"';
    std::string want = "\"";
    want.append(at, 'x').append("\\\"").append(39 - at, 'x').append("\"");
    EXPECT_EQ(json_string(s), want) << at;
  }
}

TEST(Wire, Base64MatchesRfc4648Vectors) {
  EXPECT_EQ(base64(""), "");
  EXPECT_EQ(base64("f"), "Zg==");
  EXPECT_EQ(base64("fo"), "Zm8=");
  EXPECT_EQ(base64("foo"), "Zm9v");
  EXPECT_EQ(base64("foob"), "Zm9vYg==");
  EXPECT_EQ(base64("fooba"), "Zm9vYmE=");
  EXPECT_EQ(base64("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64(std::string("\xff\xfe\x00", 3)), "//4A");
}

// RFC 4648 §4 decoding, written apart from the encoder: nullopt unless `s`
// is padded base64.
std::optional<std::string> from_base64(std::string_view s) {
  constexpr std::string_view kDigits =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  if (s.size() % 4 != 0) return std::nullopt;
  size_t pad = 0;
  while (pad < 2 && pad < s.size() && s[s.size() - 1 - pad] == '=') ++pad;
  std::string out;
  uint32_t v = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    const size_t d = i + pad >= s.size() ? 0 : kDigits.find(s[i]);
    if (d == std::string_view::npos) return std::nullopt;
    v = v << 6 | static_cast<uint32_t>(d);
    if (i % 4 == 3) {
      out += static_cast<char>(v >> 16);
      out += static_cast<char>(v >> 8);
      out += static_cast<char>(v);
      v = 0;
    }
  }
  out.resize(out.size() - pad);
  return out;
}

TEST(Wire, Base64DecodesBackAtEveryLength) {
  std::mt19937 rng(11);
  for (size_t n = 0; n < 100; ++n) {
    std::string bytes;
    for (size_t i = 0; i < n; ++i) bytes += static_cast<char>(rng());
    const std::string b64 = base64(bytes);
    EXPECT_EQ(b64.size(), (n + 2) / 3 * 4);
    EXPECT_EQ(from_base64(b64), bytes) << n;
  }
}

TEST(Wire, JsonMessageCarriesSeqTsSenderAndData) {
  Message m;
  m.room = "r";
  m.seq = 7;
  m.ts_ms = 1700000000123;
  m.from = {12, 3, 1};
  m.payload = ws::as_bytes("hi \"you\"");
  m.kind = Kind::kText;
  std::string out;
  append_json(out, m);
  EXPECT_EQ(out, R"({"seq":7,"ts":1700000000123,"from":"1-12-3","data":"hi \"you\""})");
  m.kind = Kind::kBinary;
  m.payload = ws::as_bytes("foo");
  out.clear();
  append_json(out, m);
  EXPECT_EQ(out, R"({"seq":7,"ts":1700000000123,"from":"1-12-3","data_base64":"Zm9v"})");
}

TEST(Wire, JsonMessageCarriesAJsonPayloadVerbatim) {
  std::string out = "[";
  append_json(out, message(R"({"a":[1,"x\"y"],"b":null})", Kind::kJson));
  EXPECT_EQ(out,
            R"([{"seq":42,"ts":1700000000123,"from":"1-12-3","data":{"a":[1,"x\"y"],"b":null}})");
}

TEST(Wire, MessagesAreAnArrayOfTheirJsonObjects) {
  std::string out;
  append_messages(out, {});
  EXPECT_EQ(out, "[]");
  const std::string_view room = "r";
  std::vector<Sequenced*> recs;
  for (uint64_t seq : {5, 6}) {
    const std::string body = std::string(room).append(seq == 5 ? "hi" : "[1]");
    recs.push_back(Sequenced::create(net::SharedBuf::copy_of(body), 1,
                                     seq == 5 ? Kind::kText : Kind::kJson, {12, 3, 1}, 1, seq, 9));
  }
  append_messages(out, recs);
  EXPECT_EQ(out, R"([][{"seq":5,"ts":9,"from":"1-12-3","data":"hi"},)"
                 R"({"seq":6,"ts":9,"from":"1-12-3","data":[1]}])");
  for (Sequenced* r : recs) r->release();
}

TEST(Wire, MembersAreObjectsWithTheSenderIdAndTheirUser) {
  std::string out;
  append_member(out, {{12, 3, 1}, ""});
  EXPECT_EQ(out, R"({"id":"1-12-3"})");
  out.clear();
  append_member(out, {{12, 3, 1}, "al\"ice"});
  EXPECT_EQ(out, R"({"id":"1-12-3","user":"al\"ice"})");
  out.clear();
  append_members(out, {});
  EXPECT_EQ(out, "[]");
  const std::vector<Present> two = {{{12, 3, 0}, ""}, {{7, 1, 65534}, "bob"}};
  out = "x";
  append_members(out, two);
  EXPECT_EQ(out, R"(x[{"id":"0-12-3"},{"id":"65534-7-1","user":"bob"}])");
}

TEST(Wire, RawFormatIsAServerFrameWithTheMessagesOpcode) {
  Message m;
  m.payload = ws::as_bytes("abc");
  m.kind = Kind::kBinary;
  net::SharedBuf* b = encode(Format::kRawWs, m);
  std::string expected;
  ws::append_server_frame(expected, ws::Opcode::kBinary, ws::as_bytes("abc"));
  EXPECT_EQ(b->view(), expected);
  b->release();
}

// --- kJsonWs ---

TEST(JsonWs, EnvelopeIsExactlyTheMsgFields) {
  EXPECT_EQ(envelope(message("hi")),
            R"({"type":"msg","room":"lobby.1","seq":42,"ts":1700000000123,"from":"1-12-3",)"
            R"("data":"hi"})");
  EXPECT_EQ(envelope(message("foo", Kind::kBinary)),
            R"({"type":"msg","room":"lobby.1","seq":42,"ts":1700000000123,"from":"1-12-3",)"
            R"("data_base64":"Zm9v"})");
  EXPECT_EQ(envelope(message("[1,{}]", Kind::kJson)),
            R"({"type":"msg","room":"lobby.1","seq":42,"ts":1700000000123,"from":"1-12-3",)"
            R"("data":[1,{}]})");
}

TEST(JsonWs, FromIsThePublishersUserWhenItHasOne) {
  Message m = message("hi");
  m.user = "alice";
  EXPECT_EQ(envelope(m), R"({"type":"msg","room":"lobby.1","seq":42,"ts":1700000000123,)"
                         R"("from":"alice","data":"hi"})");
  m.user = "a\"b\\c \u00e9";  // a sub is UTF-8 with quotes allowed: escaped
  EXPECT_EQ(envelope(m),
            "{\"type\":\"msg\",\"room\":\"lobby.1\",\"seq\":42,\"ts\":1700000000123,"
            "\"from\":\"a\\\"b\\\\c \u00e9\",\"data\":\"hi\"}");
}

TEST(JsonWs, EnvelopeIsTheHistoryObjectAfterTypeAndRoom) {
  for (Kind k : {Kind::kText, Kind::kBinary, Kind::kJson}) {
    const Message m = message(k == Kind::kJson ? "\"q\\\"\"" : "a\"b\n", k);
    std::string want = R"({"type":"msg","room":"lobby.1",)";
    std::string object;
    append_json(object, m);
    want.append(object, 1);
    EXPECT_EQ(envelope(m), want);
  }
}

// Parses `json` and checks it has exactly the envelope's fields, in order,
// for `m`; returns the data (or data_base64) element's minified text.
std::string check_envelope(simdjson::dom::parser& parser, const std::string& json,
                           const Message& m) {
  simdjson::dom::object obj;
  const auto err = parser.parse(json).get(obj);
  EXPECT_EQ(err, simdjson::SUCCESS) << json;
  if (err) return {};
  const std::string data_key = m.kind == Kind::kBinary ? "data_base64" : "data";
  std::vector<std::string> keys;
  for (auto field : obj) keys.emplace_back(field.key);
  EXPECT_EQ(keys, (std::vector<std::string>{"type", "room", "seq", "ts", "from", data_key}));
  EXPECT_EQ(std::string_view(obj["type"].get_string().value_unsafe()), "msg");
  EXPECT_EQ(std::string_view(obj["room"].get_string().value_unsafe()), m.room);
  EXPECT_EQ(obj["seq"].get_uint64().value_unsafe(), m.seq);
  EXPECT_EQ(obj["ts"].get_uint64().value_unsafe(), m.ts_ms);
  EXPECT_EQ(std::string_view(obj["from"].get_string().value_unsafe()), "1-12-3");
  return simdjson::minify(obj[data_key].value_unsafe());
}

TEST(JsonWs, TextPayloadsParseBackAsTheSameString) {
  simdjson::dom::parser parser;
  std::vector<std::string> payloads = {
      "",
      "plain",
      "quote \" backslash \\ slash /",
      std::string("nul \0 and \x1f \x7f", 13),
      "\r\n\t\b\f",
      "line separator \xe2\x80\xa8 paragraph \xe2\x80\xa9",
      "\xc3\xa9t\xc3\xa9 \xe4\xb8\xad\xe6\x96\x87 \xf0\x9f\x98\x80",
      R"(already "escaped\" \u0041)",
      R"(","data":"injected)",
  };
  std::mt19937 rng(2024);
  for (int i = 0; i < 300; ++i) payloads.push_back(tricky_text(rng, rng() % 64));
  for (const std::string& p : payloads) {
    const Message m = message(p);
    const std::string data = check_envelope(parser, envelope(m), m);
    std::string_view back;
    ASSERT_EQ(parser.parse(data).get(back), simdjson::SUCCESS) << data;
    EXPECT_EQ(back, p);
  }
}

TEST(JsonWs, JsonPayloadParsesBackAsTheSameValue) {
  simdjson::dom::parser parser;
  for (std::string_view p :
       {"0", "-1.5e300", "true", "null", "\"\"", R"("a\"b\\c\u2028\n")", "\"\xf0\x9f\x98\x80\"",
        "[]", "{}", R"({"type":"evil","room":"x","data":[1,2,{"data":null}]})",
        R"([18446744073709551615,-9223372036854775808,0.1])"}) {
    const Message m = message(p, Kind::kJson);
    const std::string json = envelope(m);
    EXPECT_EQ(json.substr(json.size() - p.size() - 1), std::string(p) + "}") << "verbatim";
    const std::string data = check_envelope(parser, json, m);
    simdjson::dom::element want;
    ASSERT_EQ(parser.parse(p.data(), p.size()).get(want), simdjson::SUCCESS);
    EXPECT_EQ(data, simdjson::minify(want)) << p;
  }
}

TEST(JsonWs, BinaryPayloadIsBase64) {
  simdjson::dom::parser parser;
  std::string bytes;
  for (int i = 0; i < 256; ++i) bytes += static_cast<char>(i);
  for (size_t n : {0, 1, 2, 3, 4, 7, 8, 9, 255, 256}) {
    const std::string p = bytes.substr(256 - n);
    const Message m = message(p, Kind::kBinary);
    const std::string data = check_envelope(parser, envelope(m), m);
    std::string_view b64;
    ASSERT_EQ(parser.parse(data).get(b64), simdjson::SUCCESS) << data;
    EXPECT_EQ(from_base64(b64), p);
  }
}

TEST(JsonWs, RoomIsEscapedAnyway) {
  simdjson::dom::parser parser;
  Message m = message("x");
  m.room = "a\"b\\c";
  check_envelope(parser, envelope(m), m);
}

// What the envelope of `m` adds to a kJson payload.
size_t envelope_overhead() { return envelope(message("0", Kind::kJson)).size() - 1; }

TEST(JsonWs, HeaderLengthFollowsTheEnvelopeAcrossEveryBoundary) {
  const size_t overhead = envelope_overhead();
  // RFC 6455 §5.2: 7-bit length up to 125, then 126 and 16 bits, then 127
  // and 64 bits, all big-endian.
  const std::pair<size_t, std::string> cases[] = {
      {overhead + 2, std::string{'\x81', static_cast<char>(overhead + 2)}},
      {125, std::string("\x81\x7d", 2)},
      {126, std::string("\x81\x7e\x00\x7e", 4)},
      {65535, std::string("\x81\x7e\xff\xff", 4)},
      {65536, std::string("\x81\x7f\x00\x00\x00\x00\x00\x01\x00\x00", 10)},
  };
  for (const auto& [len, header] : cases) {
    // A JSON string of `len - overhead` bytes makes an envelope of `len`.
    std::string p(len - overhead, 'v');
    p.front() = p.back() = '"';
    const std::string wire = encoded(Format::kJsonWs, message(p, Kind::kJson));
    ASSERT_EQ(wire.size(), header.size() + len);
    EXPECT_EQ(wire.substr(0, header.size()), header) << len;
    EXPECT_EQ(frame_payload(wire).size(), len);
  }
}

TEST(JsonWs, FrameIsWholeForPayloadsAtEveryBoundary) {
  simdjson::dom::parser parser;
  for (size_t n : {0, 125, 126, 65535, 65536}) {
    const std::string p(n, 'x');
    for (Kind k : {Kind::kText, Kind::kBinary}) {
      const Message m = message(p, k);
      check_envelope(parser, envelope(m), m);
    }
  }
}

// --- kSse ---

// A WHATWG HTML §9.2.6 event-stream parser, on bytes: lines end at CRLF, LF
// or CR; a line is a comment, a field with a value (one leading space
// stripped) or a field alone; data lines are joined with LF; an empty line
// dispatches the event unless no data came.
struct SseEvent {
  std::string id, type, data;
  friend bool operator==(const SseEvent&, const SseEvent&) = default;
};

class SseParser {
 public:
  void feed(std::string_view s) {
    for (char c : s) {
      const bool lf_after_cr = after_cr_ && c == '\n';
      after_cr_ = c == '\r';
      if (lf_after_cr) continue;
      if (c == '\r' || c == '\n') {
        line(line_);
        line_.clear();
      } else {
        line_ += c;
      }
    }
  }
  const std::vector<SseEvent>& events() const { return events_; }
  // Bytes or fields read but not yet dispatched.
  bool pending() const { return !line_.empty() || !data_.empty() || !type_.empty(); }

 private:
  void line(std::string_view l) {
    if (l.empty()) return dispatch();
    if (l[0] == ':') return;
    const size_t colon = l.find(':');
    const std::string_view field = l.substr(0, colon);
    std::string_view value;
    if (colon != std::string_view::npos) {
      value = l.substr(colon + 1);
      if (!value.empty() && value[0] == ' ') value.remove_prefix(1);
    }
    if (field == "event") {
      type_ = value;
    } else if (field == "data") {
      data_.append(value).append("\n");
    } else if (field == "id" && value.find('\0') == std::string_view::npos) {
      last_id_ = value;
    }  // retry and unknown fields do nothing here
  }
  void dispatch() {
    if (data_.empty()) {
      type_.clear();
      return;
    }
    data_.pop_back();
    events_.push_back({last_id_, type_.empty() ? "message" : type_, data_});
    data_.clear();
    type_.clear();
  }

  std::vector<SseEvent> events_;
  std::string last_id_, type_, data_, line_;
  bool after_cr_ = false;
};

// `s` with every CRLF and CR turned into LF: what SSE delivers.
std::string normalized(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\r') {
      out += '\n';
      if (i + 1 < s.size() && s[i + 1] == '\n') ++i;
    } else {
      out += s[i];
    }
  }
  return out;
}

constexpr std::string_view kId = "0123456789abcdef:42";

// Parses the event of `m` alone and checks it is one whole event.
SseEvent sse(const Message& m) {
  SseParser parser;
  parser.feed(encoded(Format::kSse, m));
  EXPECT_FALSE(parser.pending());
  EXPECT_EQ(parser.events().size(), 1u);
  return parser.events().empty() ? SseEvent{} : parser.events().front();
}

TEST(Sse, EventIsIdThenOneDataLinePerLine) {
  EXPECT_EQ(encoded(Format::kSse, message("hi")), "id: 0123456789abcdef:42\ndata: hi\n\n");
  EXPECT_EQ(encoded(Format::kSse, message("")), "id: 0123456789abcdef:42\ndata: \n\n");
  EXPECT_EQ(encoded(Format::kSse, message("a\r\nb\n\rc\r")),
            "id: 0123456789abcdef:42\ndata: a\ndata: b\ndata: \ndata: c\ndata: \n\n");
  EXPECT_EQ(encoded(Format::kSse, message("foo", Kind::kBinary)),
            "id: 0123456789abcdef:42\nevent: binary\ndata: Zm9v\n\n");
  Message m = message("{\"a\":1}", Kind::kJson);
  m.epoch = 0xa;
  m.seq = 18446744073709551615u;
  EXPECT_EQ(encoded(Format::kSse, m),
            "id: 000000000000000a:18446744073709551615\ndata: {\"a\":1}\n\n");
}

TEST(Sse, LineBreaksOfEveryKindComeBackAsLf) {
  for (std::string_view p :
       {"", "a", "a\nb", "a\rb", "a\r\nb", "a\n\rb", "\r", "\n", "\r\n", "\r\n\r\n", "\n\n", "\r\r",
        "trailing cr\r", "trailing lf\n", "\rleading", "a\r\n\nb\r\r\nc"}) {
    EXPECT_EQ(sse(message(p)), (SseEvent{std::string(kId), "message", normalized(p)})) << p;
  }
}

TEST(Sse, PayloadCannotInjectFieldsOrEndTheEventEarly) {
  for (std::string_view p :
       {"x\n\nid: 9\nevent: evil\ndata: y", "x\r\rid: 9\revent: evil\r",
        "x\r\n\r\nid: 9\r\nevent: evil\r\n\r\n", "\n\nevent: evil\n\n", "id: 9", "event: evil",
        "retry: 1", ": comment\n:\n", "data:", "\ndata: y\n\n"}) {
    const std::string wire = encoded(Format::kSse, message(p));
    // Fed whole and in two pieces at every offset: always the one event.
    for (size_t cut = 0; cut <= wire.size(); ++cut) {
      SseParser parser;
      parser.feed(std::string_view(wire).substr(0, cut));
      parser.feed(std::string_view(wire).substr(cut));
      ASSERT_EQ(parser.events().size(), 1u) << p;
      EXPECT_FALSE(parser.pending());
      EXPECT_EQ(parser.events()[0], (SseEvent{std::string(kId), "message", normalized(p)})) << p;
    }
  }
}

TEST(Sse, SpacesAfterTheColonAreKept) {
  EXPECT_EQ(sse(message("  two spaces")).data, "  two spaces");
  EXPECT_EQ(sse(message(" one\n  two\n")).data, " one\n  two\n");
  EXPECT_EQ(sse(message(":colon first")).data, ":colon first");
}

TEST(Sse, BinaryIsOneBase64LineOfTypeBinary) {
  const std::string p("\r\n\0\xff\n\n", 6);
  EXPECT_EQ(sse(message(p, Kind::kBinary)), (SseEvent{std::string(kId), "binary", base64(p)}));
  EXPECT_EQ(sse(message("", Kind::kBinary)), (SseEvent{std::string(kId), "binary", ""}));
}

TEST(Sse, JsonPayloadIsItsText) {
  const std::string_view p = R"({"a":"b\nc","d":[1,2]})";
  EXPECT_EQ(sse(message(p, Kind::kJson)), (SseEvent{std::string(kId), "message", std::string(p)}));
}

TEST(Sse, RandomPayloadsInOneStreamComeBackInOrder) {
  std::mt19937 rng(7);
  std::vector<std::string> payloads;
  std::string stream;
  for (uint64_t seq = 1; seq <= 500; ++seq) {
    payloads.push_back(tricky_text(rng, rng() % 48));
    Message m = message(payloads.back(), seq % 7 == 0 ? Kind::kBinary : Kind::kText);
    m.seq = seq;
    stream += encoded(Format::kSse, m);
  }
  SseParser parser;
  parser.feed(stream);
  EXPECT_FALSE(parser.pending());
  ASSERT_EQ(parser.events().size(), payloads.size());
  for (uint64_t seq = 1; seq <= payloads.size(); ++seq) {
    const SseEvent& ev = parser.events()[seq - 1];
    const std::string& p = payloads[seq - 1];
    EXPECT_EQ(ev.id, std::string("0123456789abcdef:").append(std::to_string(seq)));
    if (seq % 7 == 0) {
      EXPECT_EQ(ev, (SseEvent{ev.id, "binary", base64(p)}));
    } else {
      EXPECT_EQ(ev, (SseEvent{ev.id, "message", normalized(p)}));
    }
  }
}

}  // namespace
}  // namespace ringchat::chat
