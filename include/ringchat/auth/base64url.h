#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace ringchat::auth {

// base64url without padding (RFC 7515 §2, RFC 4648 §5), as JWS compact
// serialization uses it. Pure functions. Thread: any.

// The bytes `in` encodes, or nullopt if it is not canonical unpadded
// base64url: a byte outside [A-Za-z0-9_-] (so '=', '+', '/', whitespace and
// line breaks are refused), a length of 4k+1 (no byte ends there), or
// nonzero unused bits in the last character (RFC 4648 §3.5: each byte string
// then has exactly one encoding). Empty decodes to empty.
std::optional<std::string> base64url_decode(std::string_view in);

// `bytes` encoded, without padding.
std::string base64url_encode(std::string_view bytes);

}  // namespace ringchat::auth
