#include "jwt_json.h"

#include <simdjson.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <utility>

#include "ringchat/auth/room_pattern.h"
#include "ringchat/core/check.h"

namespace ringchat::auth {

namespace dom = simdjson::dom;

namespace {

// The calling thread's parser, kept: a header and a payload are read per
// token, and a parser allocates its buffers only when an input outgrows them.
// Tokens are at most kMaxTokenBytes, so they stay small.
dom::parser& thread_parser() {
  thread_local dom::parser parser;
  thread_local bool ready = false;
  if (!ready) {
    // simdjson's depth counts one level more than the containers it allows.
    RC_CHECK(parser.allocate(8192, kMaxJsonDepth + 1) == simdjson::SUCCESS);
    ready = true;
  }
  return parser;
}

// The top-level object of `json`, or false. Valid until the next parse on
// this thread.
bool parse_object(std::string_view json, dom::object& out) {
  if (json.empty()) return false;
  dom::element root;
  if (thread_parser().parse(json.data(), json.size(), true).get(root)) return false;
  return root.get(out) == simdjson::SUCCESS;
}

bool iequals_ascii(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

// A NumericDate (RFC 7519 §2): any JSON number of seconds, rounded down for
// `exp` and up for `nbf` (either way the token is valid for no longer than
// it says), saturating at the ends of int64.
bool read_time(dom::element e, bool round_up, int64_t& out) {
  switch (e.type()) {
    case dom::element_type::INT64:
      out = e.get_int64().value_unsafe();
      return true;
    case dom::element_type::UINT64: {
      const uint64_t v = e.get_uint64().value_unsafe();
      out = v > static_cast<uint64_t>(INT64_MAX) ? INT64_MAX : static_cast<int64_t>(v);
      return true;
    }
    case dom::element_type::DOUBLE: {
      const double d = round_up ? std::ceil(e.get_double().value_unsafe())
                                : std::floor(e.get_double().value_unsafe());
      constexpr double kTwo63 = 9223372036854775808.0;
      out = d >= kTwo63 ? INT64_MAX : d < -kTwo63 ? INT64_MIN : static_cast<int64_t>(d);
      return true;
    }
    default:
      return false;
  }
}

// An array of at most `max_count` strings of at most `max_bytes` each.
const char* read_strings(dom::element e, size_t max_count, size_t max_bytes,
                         std::vector<std::string>& out) {
  dom::array arr;
  if (e.get(arr)) return "must be an array of strings";
  if (arr.size() > max_count) return "more entries than allowed";
  for (const dom::element v : arr) {
    std::string_view s;
    if (v.get(s)) return "must be an array of strings";
    if (s.size() > max_bytes) return "an entry is too long";
    out.emplace_back(s);
  }
  return nullptr;
}

// Claims, each at most once: the first copy is not quietly preferred over a
// later one the issuer may have meant.
struct Seen {
  bool sub = false, exp = false, nbf = false, iss = false, aud = false, rooms = false, pub = false;
};

// Reads one member of the payload into `set`; null, or what is wrong.
const char* read_member(std::string_view key, dom::element v, Seen& seen, ClaimSet& set) {
  auto once = [](bool& flag) { return !std::exchange(flag, true); };
  Claims& c = set.claims;
  if (key == "sub") {
    if (!once(seen.sub)) return "given twice";
    std::string_view s;
    if (v.get(s)) return "must be a string";
    if (s.empty() || s.size() > kMaxSubBytes) return "must be 1 to 255 bytes";
    if (!is_printable_sub(s)) return "has a control or formatting character";
    c.sub = s;
  } else if (key == "exp") {
    if (!once(seen.exp)) return "given twice";
    if (!read_time(v, false, c.exp)) return "must be a number";
  } else if (key == "nbf") {
    if (!once(seen.nbf)) return "given twice";
    int64_t t = 0;
    if (!read_time(v, true, t)) return "must be a number";
    c.nbf = t;
  } else if (key == "iss") {
    if (!once(seen.iss)) return "given twice";
    std::string_view s;
    if (v.get(s)) return "must be a string";
    set.iss = std::string(s);
  } else if (key == "aud") {
    if (!once(seen.aud)) return "given twice";
    set.aud.emplace();
    std::string_view s;
    if (v.get(s) == simdjson::SUCCESS) {
      set.aud->emplace_back(s);
    } else if (!v.is_array()) {
      return "must be a string or an array of strings";
    } else if (const char* why = read_strings(v, kMaxPatterns, SIZE_MAX, *set.aud)) {
      return why;
    }
  } else if (key == "rooms") {
    if (!once(seen.rooms)) return "given twice";
    return read_strings(v, kMaxPatterns, kMaxPatternBytes, c.rooms);
  } else if (key == "pub") {
    if (!once(seen.pub)) return "given twice";
    return read_strings(v, kMaxPatterns, kMaxPatternBytes, c.pub);
  }
  return nullptr;  // iat and claims ringchat does not use: ignored
}

// The code point at `s[i]` (valid UTF-8: simdjson checked), advancing `i`;
// -1 if the sequence is cut short.
int32_t next_code_point(std::string_view s, size_t& i) {
  const auto b = static_cast<unsigned char>(s[i++]);
  if (b < 0x80) return b;
  const int extra = b >= 0xF0 ? 3 : b >= 0xE0 ? 2 : 1;
  int32_t cp = b & (0x3F >> extra);
  for (int k = 0; k < extra; ++k) {
    if (i >= s.size()) return -1;
    cp = (cp << 6) | (static_cast<unsigned char>(s[i++]) & 0x3F);
  }
  return cp;
}

bool is_printable(int32_t cp) {
  if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F)) return false;       // C0, DEL, C1
  if (cp == 0x061C || cp == 0x200E || cp == 0x200F) return false;  // bidi marks
  if (cp >= 0x2028 && cp <= 0x202E) return false;  // line/paragraph separators, bidi embeddings
  if (cp >= 0x2066 && cp <= 0x2069) return false;  // bidi isolates
  return true;
}

}  // namespace

bool is_printable_sub(std::string_view sub) {
  if (sub.empty()) return false;
  for (size_t i = 0; i < sub.size();) {
    const int32_t cp = next_code_point(sub, i);
    if (cp < 0 || !is_printable(cp)) return false;
  }
  return true;
}

Result<std::string, std::string> read_jose_header(std::string_view json) {
  dom::object obj;
  if (!parse_object(json, obj)) return Err(std::string("header: not a JSON object"));
  std::optional<std::string> alg;
  bool typ = false;
  for (const dom::key_value_pair kv : obj) {
    if (kv.key == "alg") {
      std::string_view s;
      if (alg) return Err(std::string("alg: given twice"));
      if (kv.value.get(s)) return Err(std::string("alg: must be a string"));
      alg = std::string(s);
    } else if (kv.key == "typ") {
      std::string_view s;
      if (std::exchange(typ, true)) return Err(std::string("typ: given twice"));
      if (kv.value.get(s) || !iequals_ascii(s, "JWT")) return Err(std::string("typ: not JWT"));
    } else if (kv.key == "crit") {
      return Err(std::string("crit: no extension is understood"));
    }
  }
  if (!alg) return Err(std::string("alg: required"));
  return std::move(*alg);
}

Result<ClaimSet, std::string> read_claims(std::string_view json) {
  dom::object obj;
  if (!parse_object(json, obj)) return Err(std::string("payload: not a JSON object"));
  ClaimSet set;
  Seen seen;
  for (const dom::key_value_pair kv : obj) {
    if (const char* why = read_member(kv.key, kv.value, seen, set)) {
      return Err(std::string(kv.key) + ": " + why);
    }
  }
  if (!seen.sub) return Err(std::string("sub: required"));
  if (!seen.exp) return Err(std::string("exp: required"));
  return set;
}

}  // namespace ringchat::auth
