#pragma once
// Private to the auth module: the two JSON documents of a JWT, read with
// simdjson's DOM parser (which validates all of a document: UTF-8, escapes,
// numbers, nesting) into plain values.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ringchat/auth/claims.h"
#include "ringchat/core/result.h"

namespace ringchat::auth {

// How deep a header or payload may nest (the top object counts as 1).
inline constexpr size_t kMaxJsonDepth = 16;

// The "alg" of a JOSE header (RFC 7515 §4.1), or why the header is refused:
// not a JSON object, "alg" missing or not a string, "typ" present and not the
// string "JWT" in any case (RFC 7519 §5.1), "crit" present (§4.1.11: we
// understand no extension), or one of those three given twice (§4: names
// must be unique; a parser that reads another copy than the signer meant
// is a known way in).
// Thread: any; uses the calling thread's parser.
Result<std::string, std::string> read_jose_header(std::string_view json);

// A payload as read, before any check against the clock or configuration.
struct ClaimSet {
  Claims claims;
  std::optional<std::string> iss;
  std::optional<std::vector<std::string>> aud;  // a single string is one entry
};

// The claims in `json`, or why they are refused (a short reason naming the
// claim, never quoting the input). The rules are Verifier::verify()'s.
// Thread: any; uses the calling thread's parser.
Result<ClaimSet, std::string> read_claims(std::string_view json);

// Whether `sub` is acceptable as Claims::sub says.
bool is_printable_sub(std::string_view sub);

}  // namespace ringchat::auth
