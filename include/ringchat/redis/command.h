#pragma once
#include <cstddef>
#include <span>
#include <string>
#include <string_view>

namespace ringchat::redis {

// Appends one command to `out` as a RESP array of bulk strings
// (*<argc>\r\n then $<len>\r\n<bytes>\r\n per argument): binary safe, any
// bytes in any argument. REQUIRES: argv is not empty.
void append_command(std::string& out, std::span<const std::string_view> argv);

// The bytes append_command adds for `argv`.
size_t command_size(std::span<const std::string_view> argv);

}  // namespace ringchat::redis
