#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ringchat::ringload {

// What each message carries. `send_ns` is CLOCK_MONOTONIC minus the run's
// start (so it stays short on the wire); `sender` is the sending connection's
// id (with its incarnation in the low 8 bits); `seq` counts that sender's
// messages from 1.
struct PayloadFields {
  uint64_t send_ns = 0;
  uint64_t sender = 0;
  uint64_t seq = 0;
  bool operator==(const PayloadFields&) const = default;
};

// Wire form (ASCII, valid UTF-8, JSON-safe): the three fields in base-64
// digits [0-9A-Za-z-_], separated by '.', ended by ';', then 'x' up to the
// requested size, e.g. "1Tz0a.3f.G;xxxxxxxx". A payload never comes out
// shorter than its fields (about 10-20 bytes).
void encode_payload(std::string& out, const PayloadFields& f, size_t size);
size_t encoded_fields_size(const PayloadFields& f);
// nullopt if `text` does not start with well-formed fields.
std::optional<PayloadFields> decode_payload(std::string_view text);

}  // namespace ringchat::ringload
