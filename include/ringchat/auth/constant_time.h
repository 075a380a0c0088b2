#pragma once
#include <string_view>

namespace ringchat::auth {

// Whether `a` and `b` hold the same bytes, in time that depends only on
// their lengths, never on their contents: for comparing a MAC or an API key
// against the expected one without telling a guesser how many leading bytes
// were right. Lengths that differ still read every byte of the longer one
// (the length itself is not secret: a MAC's is fixed, and a key's leaks
// anyway through the request's size).
// Thread: any; pure.
bool constant_time_equal(std::string_view a, std::string_view b);

}  // namespace ringchat::auth
