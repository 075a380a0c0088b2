#include "json_op.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

#include "ringchat/ws/utf8.h"

namespace ringchat::chat {
namespace {

class JsonOp : public ::testing::Test {
 protected:
  // The op in `text`, which must be accepted.
  ClientOp ok(std::string_view text) {
    auto r = parser_.parse(text);
    EXPECT_TRUE(r.ok()) << text << " -> " << (r.ok() ? "" : r.error().reason);
    return r.ok() ? *r : ClientOp{};
  }
  // The error for `text`, which must be refused.
  OpError err(std::string_view text) {
    auto r = parser_.parse(text);
    EXPECT_FALSE(r.ok()) << text << " was accepted";
    return r.ok() ? OpError{"accepted", "", {}} : r.error();
  }
  // `text` is refused with `code`, and the reason names `field`.
  void expect_error(std::string_view text, std::string_view code, std::string_view field = {}) {
    const OpError e = err(text);
    EXPECT_EQ(e.code, code) << text << " -> " << e.reason;
    if (!field.empty()) {
      EXPECT_NE(e.reason.find(field), std::string::npos) << text << " -> " << e.reason;
    }
  }
  std::string nested(size_t depth) {
    return std::string(depth, '[') + "1" + std::string(depth, ']');
  }
  static bool utf8(std::string_view s) { return ws::is_valid_utf8(std::as_bytes(std::span(s))); }

  OpParser parser_;
};

TEST_F(JsonOp, JoinReadsRoomAndOptionalSince) {
  ClientOp op = ok(R"({"type":"join","room":"lobby"})");
  EXPECT_EQ(op.type, OpType::kJoin);
  EXPECT_EQ(op.room, "lobby");
  EXPECT_FALSE(op.since);
  EXPECT_TRUE(op.id.empty());
  op = ok(R"({"type":"join","room":"lobby","since":"00000000000000ab:42"})");
  ASSERT_TRUE(op.since);
  EXPECT_EQ(*op.since, (Position{0xab, 42}));
}

TEST_F(JsonOp, LeavePresenceAndPingReadTheirType) {
  ClientOp op = ok(R"({"type":"leave","room":"a.b"})");
  EXPECT_EQ(op.type, OpType::kLeave);
  EXPECT_EQ(op.room, "a.b");
  op = ok(R"({"type":"presence","room":"a-b"})");
  EXPECT_EQ(op.type, OpType::kPresence);
  EXPECT_EQ(op.room, "a-b");
  op = ok(R"({"type":"ping"})");
  EXPECT_EQ(op.type, OpType::kPing);
  EXPECT_TRUE(op.room.empty());
}

TEST_F(JsonOp, RefreshCarriesItsTokenAndNoRoom) {
  ClientOp op = ok(R"({"type":"refresh","token":"aaa.bbb.ccc","id":"r1"})");
  EXPECT_EQ(op.type, OpType::kRefresh);
  EXPECT_EQ(op.token, "aaa.bbb.ccc");
  EXPECT_EQ(op.id, R"("r1")");
  EXPECT_TRUE(op.room.empty());
  op = ok(R"({"type":"refresh","token":"a\u002eb"})");  // unescaped
  EXPECT_EQ(op.token, "a.b");
  expect_error(R"({"type":"refresh"})", "bad_field", "token");
  expect_error(R"({"type":"refresh","token":17})", "bad_field", "token");
  expect_error(R"({"type":"refresh","token":null})", "bad_field", "token");
}

TEST_F(JsonOp, PubCarriesAnyJsonValueAsData) {
  ClientOp op = ok(R"({"type":"pub","room":"r","data":{"text":"hi","n":[1,2.5,true,null]}})");
  EXPECT_EQ(op.type, OpType::kPub);
  EXPECT_EQ(op.room, "r");
  EXPECT_EQ(op.data, R"({"text":"hi","n":[1,2.5,true,null]})");
  EXPECT_EQ(ok(R"({"type":"pub","room":"r","data":"just text"})").data, R"("just text")");
  EXPECT_EQ(ok(R"({"type":"pub","room":"r","data":null})").data, "null");
  EXPECT_EQ(ok(R"({"type":"pub","room":"r","data":-17})").data, "-17");
}

TEST_F(JsonOp, HistoryDefaultsToTheNewestHundred) {
  const ClientOp op = ok(R"({"type":"history","room":"r"})");
  EXPECT_EQ(op.type, OpType::kHistory);
  EXPECT_EQ(op.before, 0u);
  EXPECT_EQ(op.limit, 100u);
}

TEST_F(JsonOp, HistoryReadsBeforeAndLimit) {
  ClientOp op = ok(R"({"type":"history","room":"r","before":12345678901234,"limit":1000})");
  EXPECT_EQ(op.before, 12345678901234u);
  EXPECT_EQ(op.limit, 1000u);
  op = ok(R"({"type":"history","room":"r","limit":1,"before":1})");
  EXPECT_EQ(op.before, 1u);
  EXPECT_EQ(op.limit, 1u);
  EXPECT_EQ(ok(R"({"type":"history","room":"r","before":18446744073709551615})").before,
            UINT64_MAX);
}

TEST_F(JsonOp, IdIsKeptAsJsonText) {
  EXPECT_EQ(ok(R"({"type":"ping","id":"a1"})").id, R"("a1")");
  EXPECT_EQ(ok(R"({"id":17,"type":"ping"})").id, "17");
  EXPECT_EQ(ok(R"({"type":"ping","id":-3})").id, "-3");
  EXPECT_EQ(ok(R"({"type":"ping","id":18446744073709551615})").id, "18446744073709551615");
  EXPECT_EQ(ok(R"({"type":"ping","id":""})").id, R"("")");
  // Re-encoded, not copied: an equal string, escaped only where JSON must.
  EXPECT_EQ(ok(R"({"type":"ping","id":"\u0041\/\"\n"})").id, R"("A/\"\n")");
}

TEST_F(JsonOp, IdOfAtMost128BytesIsAccepted) {
  const std::string id(128, 'x');
  EXPECT_EQ(ok(R"({"type":"ping","id":")" + id + "\"}").id, '"' + id + '"');
  // Counted unescaped: 128 escapes of 6 bytes are 128 bytes.
  std::string escaped;
  for (int i = 0; i < 128; ++i) escaped += "\\u0078";
  EXPECT_EQ(ok(R"({"type":"ping","id":")" + escaped + "\"}").id, '"' + id + '"');
}

TEST_F(JsonOp, UnknownKeysAndFieldsTheOpDoesNotUseAreIgnored) {
  EXPECT_EQ(ok(R"({"type":"ping","room":5,"data":1,"limit":"x","v":{"x":[]}})").type,
            OpType::kPing);
  const ClientOp op = ok(R"({"type":"join","room":"r","limit":-1,"before":"x","future":true})");
  EXPECT_EQ(op.type, OpType::kJoin);
  EXPECT_EQ(ok(R"({"type":"leave","room":"r","since":7})").type, OpType::kLeave);
}

TEST_F(JsonOp, RepeatedKeyCountsTheFirstTime) {
  EXPECT_EQ(ok(R"({"type":"ping","type":"join"})").type, OpType::kPing);
  EXPECT_EQ(ok(R"({"type":"join","room":"first","room":"!bad!"})").room, "first");
  EXPECT_EQ(ok(R"({"type":"ping","id":1,"id":{}})").id, "1");
}

TEST_F(JsonOp, KeysAreComparedUnescaped) {
  EXPECT_EQ(ok(R"({"\u0074ype":"pub","room":"r","d\u0061ta":[]})").data, "[]");
}

TEST_F(JsonOp, DataWithWhitespaceComesOutOnOneLine) {
  const ClientOp op =
      ok("{ \"type\" : \"pub\" ,\n\t\"room\":\"r\",\r\n \"data\" : { \"a\" : [ 1 ,\n 2 ] ,"
         " \"b\" : \"x\\ny\" } }\n");
  EXPECT_EQ(op.data, R"({"a":[1,2],"b":"x\ny"})");
  EXPECT_EQ(op.data.find('\n'), std::string_view::npos);
  EXPECT_EQ(op.data.find('\r'), std::string_view::npos);
}

TEST_F(JsonOp, NonJsonIsBadJson) {
  expect_error("", "bad_json");
  expect_error(" \n", "bad_json");
  expect_error("hello", "bad_json");
  expect_error(R"({"type":"ping",})", "bad_json");
  expect_error(R"({"type":"ping"} x)", "bad_json");
  expect_error(R"({"type":"ping"}{})", "bad_json");
  expect_error(R"({'type':'ping'})", "bad_json");
  expect_error("\xEF\xBB\xBF{\"type\":\"ping\"}", "bad_json");  // a BOM
}

TEST_F(JsonOp, AnythingButAnObjectIsBadJson) {
  expect_error(R"([{"type":"ping"}])", "bad_json", "object");
  expect_error(R"("ping")", "bad_json", "object");
  expect_error("17", "bad_json", "object");
  expect_error("null", "bad_json", "object");
}

TEST_F(JsonOp, TypeMissingWrongOrUnknownIsBadType) {
  expect_error("{}", "bad_type", "type");
  expect_error(R"({"room":"r"})", "bad_type", "type");
  expect_error(R"({"type":1})", "bad_type", "type");
  expect_error(R"({"type":null})", "bad_type", "type");
  expect_error(R"({"type":["ping"]})", "bad_type", "type");
  expect_error(R"({"type":{"ping":1}})", "bad_type", "type");
  expect_error(R"({"type":"Ping"})", "bad_type", "type");
  expect_error(R"({"type":"publish","room":"r"})", "bad_type", "type");
  expect_error(R"({"type":""})", "bad_type", "type");
}

TEST_F(JsonOp, RoomMissingOrNotAStringIsBadField) {
  for (const char* type : {"join", "leave", "pub", "history", "presence"}) {
    expect_error(R"({"type":")" + std::string(type) + R"(","data":1})", "bad_field", "room");
    expect_error(R"({"type":")" + std::string(type) + R"(","room":7,"data":1})", "bad_field",
                 "room: must be a string");
  }
  expect_error(R"({"type":"join","room":null})", "bad_field", "room");
  expect_error(R"({"type":"join","room":["r"]})", "bad_field", "room");
}

TEST_F(JsonOp, RoomThatIsNoRoomNameIsBadRoom) {
  expect_error(R"({"type":"join","room":""})", "bad_room", "empty");
  expect_error(R"({"type":"join","room":"a b"})", "bad_room", "room name");
  expect_error(R"({"type":"pub","room":"a/b","data":1})", "bad_room", "room name");
  expect_error(R"({"type":"join","room":")" + std::string(201, 'r') + "\"}", "bad_room", "200");
  EXPECT_EQ(ok(R"({"type":"join","room":")" + std::string(200, 'r') + "\"}").room.size(), 200u);
}

TEST_F(JsonOp, PubWithoutDataIsBadField) {
  expect_error(R"({"type":"pub","room":"r"})", "bad_field", "data");
}

TEST_F(JsonOp, SinceOfTheWrongTypeIsBadFieldAndMalformedIsBadSince) {
  expect_error(R"({"type":"join","room":"r","since":42})", "bad_field", "since");
  expect_error(R"({"type":"join","room":"r","since":null})", "bad_field", "since");
  expect_error(R"({"type":"join","room":"r","since":"42"})", "bad_since", "since");
  expect_error(R"({"type":"join","room":"r","since":"xyz:1"})", "bad_since", "since");
  expect_error(R"({"type":"join","room":"r","since":"1:"})", "bad_since", "since");
}

TEST_F(JsonOp, LimitOutside1To1000OrNotAnIntegerIsBadLimit) {
  for (const char* v : {"0", "1001", "-1", "1.5", "100.0", "1e2", "18446744073709551615"}) {
    expect_error(R"({"type":"history","room":"r","limit":)" + std::string(v) + "}", "bad_limit",
                 "limit");
  }
  expect_error(R"({"type":"history","room":"r","limit":"10"})", "bad_field", "limit");
  expect_error(R"({"type":"history","room":"r","limit":null})", "bad_field", "limit");
}

TEST_F(JsonOp, BeforeBelowOneOrNotAnIntegerIsBadBefore) {
  for (const char* v : {"0", "-1", "-9223372036854775808", "2.5", "1e3"}) {
    expect_error(R"({"type":"history","room":"r","before":)" + std::string(v) + "}", "bad_before",
                 "before");
  }
  expect_error(R"({"type":"history","room":"r","before":"5"})", "bad_field", "before");
  expect_error(R"({"type":"history","room":"r","before":[5]})", "bad_field", "before");
}

TEST_F(JsonOp, IdNeitherStringNorIntegerOrTooLongIsBadId) {
  for (const char* v : {"1.5", "1e3", "true", "null", "[]", "{}", "[1]"}) {
    const OpError e = err(R"({"type":"ping","id":)" + std::string(v) + "}");
    EXPECT_EQ(e.code, "bad_id") << v;
    EXPECT_TRUE(e.id.empty()) << v;
  }
  expect_error(R"({"type":"ping","id":")" + std::string(129, 'x') + "\"}", "bad_id", "id");
  // Checked before the type, so a bad id is reported even in a bad op.
  expect_error(R"({"type":"nope","id":false})", "bad_id", "id");
}

TEST_F(JsonOp, ErrorsAfterTheIdCarryIt) {
  for (const char* id : {R"("q-7")", "17", "-1"}) {
    const std::string with = R"(,"id":)" + std::string(id) + "}";
    const std::pair<std::string, std::string_view> cases[] = {
        {R"({"type":"nope")" + with, "bad_type"},
        {R"({"room":"r")" + with, "bad_type"},
        {R"({"type":"join")" + with, "bad_field"},
        {R"({"type":"join","room":"a b")" + with, "bad_room"},
        {R"({"type":"join","room":"r","since":"x")" + with, "bad_since"},
        {R"({"type":"pub","room":"r")" + with, "bad_field"},
        {R"({"type":"history","room":"r","limit":0)" + with, "bad_limit"},
        {R"({"type":"history","room":"r","before":0)" + with, "bad_before"},
    };
    for (const auto& [text, code] : cases) {
      const OpError e = err(text);
      EXPECT_EQ(e.code, code) << text;
      EXPECT_EQ(e.id, id) << text;
    }
  }
  // The id comes first whatever the order of the keys.
  EXPECT_EQ(err(R"({"id":"x","type":"nope"})").id, R"("x")");
}

TEST_F(JsonOp, BadJsonCarriesNoId) {
  const OpError e = err(R"({"id":"x","type":"ping")");
  EXPECT_EQ(e.code, "bad_json");
  EXPECT_TRUE(e.id.empty());
}

TEST_F(JsonOp, ReasonsNeverQuoteTheInput) {
  const std::string secret = "s3cr3t-value-that-must-not-come-back";
  for (const std::string& text :
       {R"({"type":")" + secret + "\"}", R"({"type":"join","room":")" + secret + " \"}",
        R"({"type":"join","room":"r","since":")" + secret + "\"}",
        R"({"type":"ping","id":")" + secret + secret + secret + secret + "\"}",
        R"({"type":")" + secret + "}"}) {
    const OpError e = err(text);
    EXPECT_EQ(e.reason.find("s3cr3t"), std::string::npos) << e.reason;
    EXPECT_LE(e.reason.size(), 64u) << e.reason;
  }
}

TEST_F(JsonOp, NestingTenThousandDeepIsBadJson) {
  expect_error(R"({"type":"pub","room":"r","data":)" + nested(10000) + "}", "bad_json", "deep");
  expect_error(nested(10000), "bad_json", "deep");
  expect_error(std::string(10000, '['), "bad_json");
  expect_error(std::string(10000, '{'), "bad_json");
}

TEST_F(JsonOp, TheOpObjectCountsAsOneOfMaxDepthLevels) {
  EXPECT_EQ(ok(R"({"type":"pub","room":"r","data":)" + nested(31) + "}").data, nested(31));
  expect_error(R"({"type":"pub","room":"r","data":)" + nested(32) + "}", "bad_json", "deep");
  OpParser shallow(2);
  EXPECT_TRUE(shallow.parse(R"({"type":"pub","room":"r","data":[1]})").ok());
  EXPECT_FALSE(shallow.parse(R"({"type":"pub","room":"r","data":[[1]]})").ok());
}

TEST_F(JsonOp, DepthSurvivesTheParserGrowing) {
  // A large message makes simdjson reallocate; its depth limit must stay.
  ok(R"({"type":"pub","room":"r","data":")" + std::string(1 << 20, 'x') + "\"}");
  expect_error(R"({"type":"pub","room":"r","data":)" + nested(32) + "}", "bad_json", "deep");
}

TEST_F(JsonOp, ShrinkingAfterABigMessageKeepsDepthAndResults) {
  ok(R"({"type":"pub","room":"r","data":")" + std::string(1 << 20, 'x') + "\"}");
  for (int i = 0; i < 300; ++i) {
    ASSERT_EQ(ok(R"({"type":"pub","room":"r","id":)" + std::to_string(i) + R"(,"data":[1]})").id,
              std::to_string(i));
  }
  EXPECT_EQ(ok(R"({"type":"pub","room":"r","data":)" + nested(31) + "}").data, nested(31));
  expect_error(R"({"type":"pub","room":"r","data":)" + nested(32) + "}", "bad_json", "deep");
  EXPECT_EQ(parser_.minify(nested(32)), nested(32));
}

TEST_F(JsonOp, MebibyteStringInDataComesOutUnchanged) {
  std::string big(1 << 20, ' ');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('!' + i % 90);
  for (char& c : big) {
    if (c == '"' || c == '\\') c = '_';
  }
  const std::string value = '"' + big + '"';
  EXPECT_EQ(ok(R"({"type":"pub","room":"r","data": )" + value + " \n}").data, value);
  const std::string array = "[" + value + "," + value + "]";
  EXPECT_EQ(ok(R"({"type":"pub","room":"r","data":[ )" + value + " , " + value + " ]}").data,
            array);
}

TEST_F(JsonOp, NumbersBeyondInt64AndDoubleAreBadJson) {
  expect_error(R"({"type":"pub","room":"r","data":1e999})", "bad_json", "number");
  expect_error(R"({"type":"pub","room":"r","data":-1e999})", "bad_json", "number");
  expect_error(R"({"type":"pub","room":"r","data":123456789012345678901234567890})", "bad_json",
               "number");
  expect_error(R"({"type":"pub","room":"r","data":18446744073709551616})", "bad_json", "number");
  expect_error(R"({"type":"pub","room":"r","data":-9223372036854775809})", "bad_json", "number");
  expect_error(R"({"type":"ping","id":123456789012345678901234567890})", "bad_json", "number");
  expect_error(R"({"type":"pub","room":"r","data":01})", "bad_json");
}

TEST_F(JsonOp, NumbersInRangeKeepTheirValue) {
  EXPECT_EQ(
      ok(R"({"type":"pub","room":"r","data":[18446744073709551615,-9223372036854775808]})").data,
      "[18446744073709551615,-9223372036854775808]");
  EXPECT_EQ(ok(R"({"type":"pub","room":"r","data":[0.1,1e2,1.5e300,1e-400]})").data,
            "[0.1,100.0,1.5e+300,0.0]");
}

TEST_F(JsonOp, InvalidUtf8IsBadJson) {
  for (const char* bytes :
       {"\xff", "\xc3", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe4\xbd"}) {
    expect_error(R"({"type":"pub","room":"r","data":"a)" + std::string(bytes) + "b\"}", "bad_json",
                 "UTF-8");
    expect_error(R"({"type":"ping","ignored":")" + std::string(bytes) + "\"}", "bad_json");
    expect_error(R"({"type":"ping","k)" + std::string(bytes) + "\":1}", "bad_json");
  }
}

TEST_F(JsonOp, LoneSurrogateEscapeIsBadJson) {
  for (const char* s : {R"(\ud800)", R"(\udbff)", R"(\udc00)", R"(\ud800\u0041)", R"(\ud800x)",
                        R"(\udc00\ud800)"}) {
    expect_error(R"({"type":"pub","room":"r","data":")" + std::string(s) + "\"}", "bad_json",
                 "escape");
    expect_error(R"({"type":"ping","id":")" + std::string(s) + "\"}", "bad_json");
  }
}

TEST_F(JsonOp, SurrogatePairEscapeComesOutAsUtf8) {
  const ClientOp op = ok(R"({"type":"pub","room":"r","data":"\ud83d\ude00 \u00e9"})");
  EXPECT_EQ(op.data, "\"\xF0\x9F\x98\x80 \xC3\xA9\"");
  EXPECT_TRUE(utf8(op.data));
}

TEST_F(JsonOp, NulBytesAreBadJsonButAnEscapedNulStaysEscaped) {
  expect_error(std::string("{\"type\":\"ping\"}\0", 16), "bad_json");
  expect_error(std::string("\0{\"type\":\"ping\"}", 16), "bad_json");
  expect_error(std::string("{\"type\":\"ping\",\0\"x\":1}", 22), "bad_json");
  expect_error(std::string(R"({"type":"pub","room":"r","data":"a)") + '\0' + "b\"}", "bad_json");
  EXPECT_EQ(ok(R"({"type":"pub","room":"r","data":"a\u0000b"})").data, R"("a\u0000b")");
  EXPECT_EQ(ok(R"({"type":"pub","room":"r","data":"\u0001\t\u001f"})").data, R"("\u0001\t\u001f")");
}

TEST_F(JsonOp, RawControlCharacterInAStringIsBadJson) {
  expect_error("{\"type\":\"pub\",\"room\":\"r\",\"data\":\"a\nb\"}", "bad_json", "control");
  expect_error("{\"type\":\"pub\",\"room\":\"r\",\"data\":\"a\tb\"}", "bad_json", "control");
}

TEST_F(JsonOp, EveryPrefixOfAnOpIsRefused) {
  const std::string ops[] = {
      R"({"type":"pub","room":"r.1","data":{"t":"h\u00e9 \"x\"","n":[1,-2.5e3,true,null]},"id":"a"})",
      R"({"type":"history","room":"r","before":100,"limit":20,"id":17})",
      R"({"type":"join","room":"lobby","since":"00000000000000ab:42"})",
      R"({"type":"ping"})",
  };
  for (const std::string& text : ops) {
    ok(text);
    for (size_t n = 0; n < text.size(); ++n) {
      const auto r = parser_.parse(std::string_view(text).substr(0, n));
      ASSERT_FALSE(r.ok()) << "accepted a prefix: " << text.substr(0, n);
      EXPECT_EQ(r.error().code, "bad_json") << text.substr(0, n);
    }
  }
}

// Seeded, bounded: random byte edits of valid ops never crash, and whatever
// is accepted has data and an id that are valid, compact JSON.
TEST_F(JsonOp, MutatedOpsAreRefusedOrYieldValidJson) {
  const std::string base =
      R"({"type":"pub","room":"r","id":"i\u00e9","data":{"a":[1,2.5,"\ud83d\ude00"],"b":null}})";
  std::mt19937 rng(20240601);
  const char alphabet[] = "{}[]\":,\\u0123456789abcdefnulltrue -.eE\x00\x7f\xc3\xa9\xed\xff";
  size_t accepted = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string text = base;
    for (int edits = 1 + static_cast<int>(rng() % 3); edits > 0; --edits) {
      const size_t at = rng() % text.size();
      const char c = alphabet[rng() % (sizeof alphabet - 1)];
      switch (rng() % 3) {
        case 0:
          text[at] = c;
          break;
        case 1:
          text.insert(at, 1, c);
          break;
        default:
          text.erase(at, 1);
          break;
      }
    }
    const auto r = parser_.parse(text);
    if (!r.ok()) {
      EXPECT_LE(r.error().reason.size(), 64u);
      continue;
    }
    ++accepted;
    const std::string data(r->data), id(r->id);
    EXPECT_TRUE(utf8(data) && utf8(id)) << text;
    if (!data.empty()) {
      EXPECT_EQ(parser_.minify(data), data) << text;
    }
    if (!id.empty()) {
      EXPECT_EQ(parser_.minify(id), id) << text;
    }
  }
  EXPECT_GT(accepted, 0u);
}

TEST_F(JsonOp, MinifyValidatesAndCompactsABody) {
  EXPECT_EQ(parser_.minify(" {\"a\" : [1, 2],\n \"b\" : \"\\u0041\"}\n"), R"({"a":[1,2],"b":"A"})");
  EXPECT_EQ(parser_.minify("\"text\""), R"("text")");
  EXPECT_EQ(parser_.minify(" 42 "), "42");
  EXPECT_EQ(parser_.minify(nested(32)), nested(32));
  EXPECT_EQ(parser_.minify(nested(33)), std::nullopt);
  EXPECT_EQ(parser_.minify(""), std::nullopt);
  EXPECT_EQ(parser_.minify("{"), std::nullopt);
  EXPECT_EQ(parser_.minify("\"\xff\""), std::nullopt);
  EXPECT_EQ(parser_.minify(R"("\ud800")"), std::nullopt);
  EXPECT_EQ(parser_.minify("1 2"), std::nullopt);
}

}  // namespace
}  // namespace ringchat::chat
