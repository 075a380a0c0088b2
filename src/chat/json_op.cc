#include "json_op.h"

#include <simdjson.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>

#include "ringchat/chat/room_name.h"
#include "ringchat/core/check.h"

namespace ringchat::chat {

namespace dom = simdjson::dom;

namespace {

constexpr size_t kInitialCapacity = 4096;  // bytes of input; simdjson grows it on demand
// simdjson keeps about 16 bytes per byte of the largest input it has read
// (tape, string copies, indexes, the padded copy). Past kKeepCapacity, that
// is given back once kShrinkAfter smaller inputs in a row say the big one
// was an exception, not the load.
constexpr size_t kKeepCapacity = 64 * 1024;
constexpr uint32_t kShrinkAfter = 256;

// The first value of each key an op may use; absent keys stay empty.
struct Fields {
  std::optional<dom::element> type, room, since, data, before, limit, id, token;
};

constexpr std::pair<std::string_view, OpType> kOps[] = {
    {"pub", OpType::kPub},         {"join", OpType::kJoin},         {"leave", OpType::kLeave},
    {"history", OpType::kHistory}, {"presence", OpType::kPresence}, {"ping", OpType::kPing},
    {"refresh", OpType::kRefresh},
};

// What is wrong with an op, both strings static; no code: nothing. The id
// joins it in OpError at the end, once it is known whether it was read.
struct Fault {
  std::string_view code;
  const char* reason = "";
  explicit operator bool() const { return !code.empty(); }
};

// Short and fixed: a reason never quotes the input.
const char* json_reason(simdjson::error_code e) {
  switch (e) {
    case simdjson::EMPTY:
      return "empty message";
    case simdjson::DEPTH_ERROR:
      return "nested too deep";
    case simdjson::UTF8_ERROR:
      return "not UTF-8";
    case simdjson::NUMBER_ERROR:
      return "a number is malformed or out of range";
    case simdjson::STRING_ERROR:  // also a \u escape of a lone surrogate
      return "a string has a bad escape";
    case simdjson::UNESCAPED_CHARS:
      return "a string holds a control character";
    case simdjson::MEMALLOC:
    case simdjson::CAPACITY:
      return "too large to read";
    default:
      return "not JSON";
  }
}

// The re-encoder's output: a kept buffer written through a pointer, one
// bounds check per value rather than std::string's per byte (7% fewer
// instructions for a whole pub op; valgrind). Thread: as its OpParser.
class JsonOut {
 public:
  JsonOut() : buf_(std::make_unique<char[]>(kInitial)), end_(buf_.get()), cap_(end_ + kInitial) {}
  void clear() { end_ = buf_.get(); }
  // Back to the initial size. Invalidates views.
  void release() {
    if (cap_ - buf_.get() == kInitial) return;
    buf_ = std::make_unique<char[]>(kInitial);
    end_ = buf_.get();
    cap_ = end_ + kInitial;
  }
  std::string_view view() const { return {buf_.get(), static_cast<size_t>(end_ - buf_.get())}; }
  // Room for `n` more bytes: write them at the pointer returned, then advance(n).
  char* room(size_t n) {
    if (static_cast<size_t>(cap_ - end_) < n) grow(n);
    return end_;
  }
  void advance(size_t n) { end_ += n; }
  void put(char c) {
    *room(1) = c;
    ++end_;
  }
  void put(std::string_view s) {
    std::memcpy(room(s.size()), s.data(), s.size());
    end_ += s.size();
  }

 private:
  static constexpr size_t kInitial = 1024;
  void grow(size_t n) {
    const size_t used = static_cast<size_t>(end_ - buf_.get());
    const size_t cap = std::max(2 * static_cast<size_t>(cap_ - buf_.get()), used + n);
    auto bigger = std::make_unique<char[]>(cap);
    std::memcpy(bigger.get(), buf_.get(), used);
    buf_ = std::move(bigger);
    end_ = buf_.get() + used;
    cap_ = buf_.get() + cap;
  }
  std::unique_ptr<char[]> buf_;
  char* end_;
  char* cap_;
};

// The re-encoder. simdjson's own (simdjson::minify(element)) builds a new
// std::string a byte at a time; this one writes to a kept JsonOut and copies
// a string with nothing to escape (nearly all) in one piece.

constexpr uint64_t kEachByte = 0x0101010101010101;

constexpr auto kMustEscape = [] {
  std::array<bool, 256> t{};
  for (int c = 0; c < 0x20; ++c) t[c] = true;
  t['"'] = t['\\'] = true;
  return t;
}();
constexpr bool must_escape(unsigned char c) { return kMustEscape[c]; }

// Nonzero if a byte of `x` must be escaped. ("Bit Twiddling Hacks":
// hasless(x, 0x20) | haszero(x ^ '"') | haszero(x ^ '\\'), exact as a yes/no.)
constexpr uint64_t escape_bits(uint64_t x) {
  constexpr uint64_t kHigh = kEachByte * 0x80;
  const uint64_t q = x ^ (kEachByte * '"');
  const uint64_t b = x ^ (kEachByte * '\\');
  return (((x - kEachByte * 0x20) & ~x) | ((q - kEachByte) & ~q) | ((b - kEachByte) & ~b)) & kHigh;
}

uint64_t load8(const char* p) {
  uint64_t x;
  std::memcpy(&x, p, 8);
  return x;
}

// 16 bytes as one vector (GCC/Clang vector extension: SSE2 on x86-64, NEON
// on AArch64, plain code elsewhere).
using Bytes16 = unsigned char __attribute__((vector_size(16)));

// Nonzero if a byte of `p[0, 32)` must be escaped.
uint64_t escape_bits32(const char* p) {
  Bytes16 a, b;
  std::memcpy(&a, p, 16);
  std::memcpy(&b, p + 16, 16);
  const auto bad = (a < 0x20) | (a == '"') | (a == '\\') | (b < 0x20) | (b == '"') | (b == '\\');
  uint64_t half[2];
  std::memcpy(half, &bad, 16);
  return half[0] | half[1];
}

// Whether no byte of `s` must be escaped: 32 bytes a step, then 8, then the
// last 8 again (overlapping); a short string a byte at a time.
bool is_plain(std::string_view s) {
  const char* p = s.data();
  const size_t n = s.size();
  if (n < 8) {
    for (char c : s) {
      if (must_escape(static_cast<unsigned char>(c))) return false;
    }
    return true;
  }
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    if (escape_bits32(p + i)) return false;
  }
  for (; i + 8 <= n; i += 8) {
    if (escape_bits(load8(p + i))) return false;
  }
  return escape_bits(load8(p + n - 8)) == 0;
}

// RFC 8259 §7: only '"', '\\' and U+0000-U+001F must be escaped. The rest
// of `s`, UTF-8 (simdjson checked), goes through as it is.
void append_escaped(JsonOut& out, std::string_view s) {
  static constexpr char kShort[] = "btnvfr";  // \b \t \n (\v is not JSON) \f \r
  static constexpr char kHex[] = "0123456789abcdef";
  size_t done = 0;  // s[done, i) is plain, not yet appended
  for (size_t i = 0; i < s.size(); ++i) {
    if (i + 8 <= s.size() && escape_bits(load8(s.data() + i)) == 0) {
      i += 7;
      continue;
    }
    const auto c = static_cast<unsigned char>(s[i]);
    if (!must_escape(c)) continue;
    out.put(s.substr(done, i - done));
    done = i + 1;
    out.put('\\');
    if (c == '"' || c == '\\') {
      out.put(static_cast<char>(c));
    } else if (c >= '\b' && c <= '\r' && c != '\v') {
      out.put(kShort[c - '\b']);
    } else {
      out.put("u00");
      out.put(kHex[c >> 4]);
      out.put(kHex[c & 0xF]);
    }
  }
  out.put(s.substr(done));
}

void append_string(JsonOut& out, std::string_view s) {
  if (is_plain(s)) {
    char* p = out.room(s.size() + 2);
    p[0] = '"';
    std::memcpy(p + 1, s.data(), s.size());
    p[s.size() + 1] = '"';
    out.advance(s.size() + 2);
    return;
  }
  out.put('"');
  append_escaped(out, s);
  out.put('"');
}

template <typename T>
void append_number(JsonOut& out, T v) {
  char buf[32];
  const auto end = std::to_chars(buf, buf + sizeof buf, v).ptr;
  out.put({buf, static_cast<size_t>(end - buf)});
  // A double stays one to readers that tell them apart (1e2 -> 100.0).
  if constexpr (std::is_floating_point_v<T>) {
    if (std::string_view(buf, end - buf).find_first_of(".e") == std::string_view::npos) {
      out.put(".0");
    }
  }
}

// Compact JSON of `e`. Recursion is bounded by the parser's max_depth.
void append_value(JsonOut& out, dom::element e) {
  switch (e.type()) {
    case dom::element_type::OBJECT: {
      char sep = '{';
      const dom::object obj = e.get_object().value_unsafe();
      for (const dom::key_value_pair kv : obj) {
        out.put(std::exchange(sep, ','));
        append_string(out, kv.key);
        out.put(':');
        append_value(out, kv.value);
      }
      out.put(sep == '{' ? "{}" : "}");
      break;
    }
    case dom::element_type::ARRAY: {
      char sep = '[';
      const dom::array arr = e.get_array().value_unsafe();
      for (const dom::element v : arr) {
        out.put(std::exchange(sep, ','));
        append_value(out, v);
      }
      out.put(sep == '[' ? "[]" : "]");
      break;
    }
    case dom::element_type::STRING:
      append_string(out, e.get_string().value_unsafe());
      break;
    case dom::element_type::INT64:
      append_number(out, e.get_int64().value_unsafe());
      break;
    case dom::element_type::UINT64:
      append_number(out, e.get_uint64().value_unsafe());
      break;
    case dom::element_type::DOUBLE:
      append_number(out, e.get_double().value_unsafe());
      break;
    case dom::element_type::BOOL:
      out.put(e.get_bool().value_unsafe() ? "true" : "false");
      break;
    case dom::element_type::NULL_VALUE:
      out.put("null");
      break;
  }
}

// `e` as compact JSON, in `out` (cleared first).
std::string_view encode(JsonOut& out, dom::element e) {
  out.clear();
  append_value(out, e);
  return out.view();
}

// Where the value of `key` goes; null for a key no op uses.
std::optional<dom::element>* field(Fields& f, std::string_view key) {
  switch (key.size()) {
    case 2:
      return key == "id" ? &f.id : nullptr;
    case 4:
      return key == "type" ? &f.type : key == "room" ? &f.room : key == "data" ? &f.data : nullptr;
    case 5:
      return key == "since"   ? &f.since
             : key == "limit" ? &f.limit
             : key == "token" ? &f.token
                              : nullptr;
    case 6:
      return key == "before" ? &f.before : nullptr;
    default:
      return nullptr;
  }
}

Fields collect(dom::object obj) {
  Fields f;
  for (const dom::key_value_pair kv : obj) {
    auto* slot = field(f, kv.key);
    if (slot && !*slot) *slot = kv.value;  // a repeated key: the first one counts
  }
  return f;
}

// A string of at most kMaxOpId bytes or an integer, re-encoded as JSON.
Fault read_id(dom::element e, JsonOut& out, ClientOp& op) {
  switch (e.type()) {
    case dom::element_type::STRING:
      if (e.get_string().value_unsafe().size() > kMaxOpId) {
        return {"bad_id", "id: a string of more than 128 bytes"};
      }
      break;
    case dom::element_type::INT64:
    case dom::element_type::UINT64:
      break;
    default:
      return {"bad_id", "id: must be a string or an integer"};
  }
  op.id = encode(out, e);
  return {};
}

Fault read_type(const Fields& f, ClientOp& op) {
  std::string_view name;
  if (!f.type) return {"bad_type", "type: required"};
  if (f.type->get(name)) return {"bad_type", "type: must be a string"};
  for (const auto& [n, t] : kOps) {
    if (name == n) {
      op.type = t;
      return {};
    }
  }
  return {"bad_type", "type: not an op (join leave pub history presence ping refresh)"};
}

Fault read_room(const Fields& f, ClientOp& op) {
  if (!f.room) return {"bad_field", "room: required"};
  if (f.room->get(op.room)) return {"bad_field", "room: must be a string"};
  if (const char* why = room_name_error(op.room)) return {"bad_room", why};
  return {};
}

Fault read_since(const Fields& f, ClientOp& op) {
  if (!f.since) return {};
  std::string_view s;
  if (f.since->get(s)) return {"bad_field", "since: must be a string"};
  op.since = parse_position(s);
  if (!op.since) return {"bad_since", "since: not EPOCH:SEQ"};
  return {};
}

// An unsigned integer in [lo, hi] from `e`: nullopt if it is a number but
// not one of those (a double, a negative, out of bounds).
std::optional<uint64_t> bounded(dom::element e, uint64_t lo, uint64_t hi) {
  uint64_t v = 0;
  if (e.get(v) || v < lo || v > hi) return std::nullopt;
  return v;
}

Fault read_history(const Fields& f, ClientOp& op) {
  if (f.before) {
    if (!f.before->is_number()) return {"bad_field", "before: must be a number"};
    const auto v = bounded(*f.before, 1, UINT64_MAX);
    if (!v) return {"bad_before", "before: must be an integer >= 1"};
    op.before = *v;
  }
  if (f.limit) {
    if (!f.limit->is_number()) return {"bad_field", "limit: must be a number"};
    const auto v = bounded(*f.limit, 1, kMaxHistoryLimit);
    if (!v) return {"bad_limit", "limit: must be an integer 1 to 1000"};
    op.limit = static_cast<uint32_t>(*v);
  }
  return {};
}

// The id first, so that every later fault can carry it.
Fault read_op(const Fields& f, ClientOp& op, JsonOut& id, JsonOut& data) {
  if (f.id) {
    if (const Fault e = read_id(*f.id, id, op)) return e;
  }
  if (const Fault e = read_type(f, op)) return e;
  if (op.type == OpType::kPing) return {};
  if (op.type == OpType::kRefresh) {
    if (!f.token) return {"bad_field", "token: required"};
    if (f.token->get(op.token)) return {"bad_field", "token: must be a string"};
    return {};
  }
  if (const Fault e = read_room(f, op)) return e;
  switch (op.type) {
    case OpType::kJoin:
      return read_since(f, op);
    case OpType::kHistory:
      return read_history(f, op);
    case OpType::kPub:
      if (!f.data) return {"bad_field", "data: required"};
      op.data = encode(data, *f.data);
      return {};
    default:
      return {};
  }
}

}  // namespace

struct OpParser::Impl {
  explicit Impl(size_t depth) : max_depth(depth) { reset(); }
  void reset() {
    parser = dom::parser();
    // simdjson's depth counts one more level than the containers it allows.
    // Growing the capacity later keeps the depth set here.
    RC_CHECK(parser.allocate(kInitialCapacity, max_depth + 1) == simdjson::SUCCESS);
  }
  // Before reading `n` bytes (the last views die now anyway).
  void fit(size_t n) {
    if (parser.capacity() <= kKeepCapacity) return;
    small_run = n > kKeepCapacity ? 0 : small_run + 1;
    if (small_run < kShrinkAfter) return;
    small_run = 0;
    reset();
    data.release();
    id.release();
  }

  size_t max_depth;
  uint32_t small_run = 0;  // inputs of at most kKeepCapacity since a bigger one
  dom::parser parser;
  JsonOut data;  // ClientOp::data, or minify()'s answer
  JsonOut id;
};

OpParser::OpParser(size_t max_depth) {
  RC_CHECK(max_depth >= 1);
  impl_ = std::make_unique<Impl>(max_depth);
}

OpParser::~OpParser() = default;

Result<ClientOp, OpError> OpParser::parse(std::string_view text) {
  // Empty has no data() to copy from, and is no JSON anyway.
  if (text.empty()) return Err(OpError{"bad_json", json_reason(simdjson::EMPTY), {}});
  impl_->fit(text.size());
  // simdjson reads up to SIMDJSON_PADDING bytes past the end: it copies
  // `text` into a padded buffer it keeps. (A buffer of ours costs the same:
  // bench/chat/json_op_bench.cc.)
  dom::element root;
  if (auto e = impl_->parser.parse(text.data(), text.size(), true).get(root)) {
    return Err(OpError{"bad_json", json_reason(e), {}});
  }
  dom::object obj;
  if (root.get(obj)) return Err(OpError{"bad_json", "not a JSON object", {}});
  ClientOp op;
  if (const Fault f = read_op(collect(obj), op, impl_->id, impl_->data)) {
    return Err(OpError{f.code, f.reason, op.id});
  }
  return op;
}

std::optional<std::string_view> OpParser::minify(std::string_view text) {
  impl_->fit(text.size());
  dom::element root;
  if (text.empty() || impl_->parser.parse(text.data(), text.size(), true).get(root)) {
    return std::nullopt;
  }
  return encode(impl_->data, root);
}

}  // namespace ringchat::chat
