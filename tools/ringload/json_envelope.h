#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "ringchat/core/result.h"

namespace ringchat::ringload {

// A position in a room: "EPOCH:SEQ", epoch as 16 lowercase hex digits.
struct Position {
  uint64_t epoch = 0;
  uint64_t seq = 0;
  bool operator==(const Position&) const = default;
};
// Strict: 16 hex digits, ':', a decimal seq. nullopt for anything else
// (another server's event ids, e.g. nchan's "1796612856:0").
std::optional<Position> parse_position(std::string_view text);
std::string format_position(const Position& p);

enum class EnvelopeType : uint8_t {
  kMsg,       // {"type":"msg","room","seq","data"...}
  kJoined,    // {"type":"joined","room","epoch","seq","recovered"}
  kError,     // {"type":"error","code",...}
  kDraining,  // {"type":"draining","retry_ms"}: the server is going away
  kOther,     // join/leave presence events, ack, pong, left...: ignored
};

// The fields ringload reads from one ringchat JSON object (a JSON socket
// message, or the data of an SSE `joined` event). Views point into the
// parser that produced them and die with its next parse.
struct Envelope {
  EnvelopeType type = EnvelopeType::kOther;
  std::string_view room;
  std::string_view data;  // `data` when it is a JSON string
  std::string_view code;  // error code
  uint64_t seq = 0;
  uint64_t epoch = 0;
  uint64_t retry_ms = 0;  // draining: when to come back (also an SSE `draining` event's data)
  bool has_retry_ms = false;
  bool has_seq = false;
  bool has_epoch = false;
  bool has_data = false;  // `data` was present and a string
  bool recovered = false;
};

// Extracts an Envelope with simdjson's On Demand API, walking each object's
// fields once in whatever order they come; unknown keys are skipped.
// Thread: owned by one worker (a simdjson parser is not shareable).
class EnvelopeParser {
 public:
  EnvelopeParser() = default;
  EnvelopeParser(const EnvelopeParser&) = delete;
  EnvelopeParser& operator=(const EnvelopeParser&) = delete;
  // Error: a short reason ("not_json", "not_object", "bad_field").
  Result<Envelope, std::string_view> parse(std::string_view json);

 private:
  struct Impl;
  struct ImplDelete {
    void operator()(Impl* p) const;
  };
  std::unique_ptr<Impl, ImplDelete> impl_;
};

}  // namespace ringchat::ringload
