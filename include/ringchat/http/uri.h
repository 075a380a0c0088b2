#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace ringchat::http {

// Request-target and query helpers; pure functions. Thread: any.

// Decodes %XX escapes of `in` into `out` (replacing its contents). '+' is
// left alone: in a path it is a literal plus. Returns false on a '%' not
// followed by two hex digits; `out` is then unspecified.
bool percent_decode(std::string_view in, std::string& out);

// The value of the first `name` parameter of an
// application/x-www-form-urlencoded query, percent-decoded with '+' as a
// space: query_param("since=1:2&limit=5", "limit") -> "5". A parameter
// without '=' has the empty value. nullopt if absent or badly escaped.
std::optional<std::string> query_param(std::string_view query, std::string_view name);

// Splits a request-target (RFC 9112 §3.2) into its percent-decoded path and
// raw query. Origin-form ("/a?b") and absolute-form ("http://h/a?b") give a
// path starting with '/'; asterisk-form gives "*"; a fragment is dropped.
// Returns false for anything else, for a bad escape, or for a path that
// decodes to a NUL byte.
bool split_target(std::string_view target, std::string& path, std::string& query);

}  // namespace ringchat::http
