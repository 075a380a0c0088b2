#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ringchat/core/result.h"

namespace ringchat::ringload {

enum class Mode : uint8_t { kEcho, kFanout, kRate, kIdle, kHandshake };
// How clients reach the room: raw room sockets (GET /ws/{room}), the JSON
// socket (GET /ws, join/pub/msg), or SSE streams (GET /sse/{room}) with
// HTTP POST publishers.
enum class Protocol : uint8_t { kRaw, kJson, kSse, kSocketIo };
enum class RoomDist : uint8_t { kUniform, kZipf };
enum class Think : uint8_t { kConst, kExp, kUniform };
enum class ProgressMode : uint8_t { kAuto, kAlways, kNever };
enum class PhaseKind : uint8_t { kRamp, kSteady, kSpike, kSoak };
enum class TlsVersion : uint8_t { kAuto, k12, k13 };

std::string_view to_string(Mode m);
std::string_view to_string(Protocol p);
std::string_view to_string(PhaseKind k);

struct Phase {
  std::string name;
  PhaseKind kind = PhaseKind::kSteady;
  double duration_s = 0;
  double rate_mult = 1;  // rate mode: multiplies every sender's rate
};

struct Target {
  std::string host;
  uint16_t port = 80;
  std::string path;         // ends with '/' or is the room's prefix
  bool tls_scheme = false;  // wss:// or https://
};

// Everything one run does, from flags and/or a JSON scenario file.
// Thread: built on the main thread before workers start; read-only after.
struct Scenario {
  std::string url = "ws://127.0.0.1:8080/ws/";
  Mode mode = Mode::kEcho;
  Protocol protocol = Protocol::kRaw;
  // sse: where senders POST; "{room}" becomes the room name.
  std::string pub_path = "/rooms/{room}/messages";
  double churn = 0;            // resets per open subscriber per second
  double churn_pause_s = 0.2;  // mean time a reset subscriber stays away
  uint32_t connections = 100;
  uint32_t rooms = 1;
  RoomDist room_dist = RoomDist::kUniform;
  double zipf_s = 1.0;
  std::string room_prefix = "load";
  uint32_t senders = 0;
  double rate = 10;
  Think think = Think::kExp;
  uint32_t size = 64;
  uint32_t size_max = 0;
  std::vector<int> cpus = {0};
  std::vector<std::string> src_ips;
  // Ports of the URL's host to spread clients over (cluster mode: one per
  // node; see Plan::port). Every connection of a client, its reconnects
  // and an SSE client's publisher alike go to its port; empty: the URL's.
  std::vector<uint16_t> ports;
  double connect_rate = 0;
  double ramp_s = 0, steady_s = 10, spike_s = 0, spike_mult = 3, soak_s = 0;
  double drain_s = 2;
  double settle_s = 0.2;
  double round_timeout_s = 2;
  double connect_timeout_s = 5;
  int max_retries = 6;
  double backoff_base_ms = 100, backoff_cap_ms = 5000;
  std::string since;
  uint64_t max_message = 1 << 20;
  // TLS (wolfSSL) on every connection; wss:// and https:// URLs need it.
  bool tls = false;
  std::string tls_ca;       // PEM bundle to verify the server against; empty: no verification
  bool tls_resume = false;  // a reconnect offers the connection's previous session
  TlsVersion tls_version = TlsVersion::kAuto;
  uint64_t handshakes = 0;  // handshake mode: stop after this many (0: only time bounds it)
  // The rolling-restart scenario: ringload starts two servers (this binary)
  // on the URL's port with --reuse-port, and --rolling-at seconds into the
  // phases starts a third and sends SIGTERM to the first.
  std::string rolling_server;
  std::string rolling_args;  // more server flags, blank-separated
  double rolling_at_s = 1;   // seconds after the first phase began
  std::string rolling_log;   // server N's output goes to PREFIX.N.log ("": nowhere)
  std::string json_path, html_path;
  int server_pid = 0;
  ProgressMode progress = ProgressMode::kAuto;
  uint64_t seed = 1;
  std::vector<Phase> explicit_phases;  // from a scenario file's "phases"

  // The phases to run, in order, zero-length ones left out.
  std::vector<Phase> phases() const;
  // New connections per second (0: no limit).
  double effective_connect_rate() const;
  bool rolling() const { return !rolling_server.empty(); }
};

// Parses the command line; `--scenario FILE` is read first and the other
// flags override it. Error: a message for the user (or "" after --help,
// whose text went to stdout).
Result<Scenario, std::string> parse_args(int argc, const char* const* argv);
// Applies a JSON scenario document (keys: long flag names, '-' or '_').
Result<void, std::string> apply_json(Scenario& s, std::string_view json);
// Sets one option by its long name from its text form.
Result<void, std::string> set_option(Scenario& s, std::string_view name, std::string_view value);
Result<void, std::string> validate(const Scenario& s);
Result<Target, std::string> parse_url(std::string_view url);

}  // namespace ringchat::ringload
