#include "scenario_options.h"

#include <charconv>
#include <vector>

namespace ringchat::ringload {
namespace {

using SetResult = Result<void, std::string>;

std::string bad(std::string_view name, std::string_view value, std::string_view want) {
  return "--" + std::string(name) + ": '" + std::string(value) + "' is not " + std::string(want);
}

template <typename T>
SetResult parse_int(std::string_view name, std::string_view v, T& out, T lo, T hi) {
  T x{};
  auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), x);
  if (ec != std::errc() || ptr != v.data() + v.size() || x < lo || x > hi) {
    return Err(bad(name, v, "an integer in range"));
  }
  out = x;
  return {};
}

SetResult parse_double(std::string_view name, std::string_view v, double& out) {
  double x = 0;
  auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), x);
  if (ec != std::errc() || ptr != v.data() + v.size() || !(x >= 0) || x > 1e12) {
    return Err(bad(name, v, "a non-negative number"));
  }
  out = x;
  return {};
}

std::vector<std::string_view> split_list(std::string_view v) {
  std::vector<std::string_view> out;
  while (!v.empty()) {
    const size_t comma = v.find(',');
    std::string_view item = v.substr(0, comma);
    if (!item.empty()) out.push_back(item);
    if (comma == std::string_view::npos) break;
    v.remove_prefix(comma + 1);
  }
  return out;
}

template <typename E, size_t N>
SetResult parse_enum(std::string_view name, std::string_view v, E& out,
                     const std::pair<std::string_view, E> (&names)[N]) {
  for (const auto& [text, value] : names) {
    if (text == v) {
      out = value;
      return {};
    }
  }
  return Err(bad(name, v, "one of the allowed words (see --help)"));
}

SetResult set_cpus(Scenario& s, std::string_view v) {
  std::vector<int> cpus;
  for (std::string_view item : split_list(v)) {
    int cpu = 0;
    auto r = parse_int<int>("cpus", item, cpu, 0, 4095);
    if (!r) return r;
    cpus.push_back(cpu);
  }
  if (cpus.empty()) return Err(std::string("--cpus: empty list"));
  s.cpus = std::move(cpus);
  return {};
}

SetResult set_src_ips(Scenario& s, std::string_view v) {
  s.src_ips.clear();
  for (std::string_view item : split_list(v)) s.src_ips.emplace_back(item);
  return {};
}

SetResult set_ports(Scenario& s, std::string_view v) {
  std::vector<uint16_t> ports;
  for (std::string_view item : split_list(v)) {
    uint16_t port = 0;
    auto r = parse_int<uint16_t>("ports", item, port, 1, 65535);
    if (!r) return r;
    ports.push_back(port);
  }
  s.ports = std::move(ports);
  return {};
}

#define RL_U32(field, lo, hi) \
  [](Scenario& s, std::string_view v) { return parse_int<uint32_t>(#field, v, s.field, lo, hi); }
#define RL_DBL(field) \
  [](Scenario& s, std::string_view v) { return parse_double(#field, v, s.field); }
#define RL_STR(field)                                \
  [](Scenario& s, std::string_view v) -> SetResult { \
    s.field = std::string(v);                        \
    return {};                                       \
  }

const std::pair<std::string_view, Mode> kModes[] = {{"echo", Mode::kEcho},
                                                    {"fanout", Mode::kFanout},
                                                    {"rate", Mode::kRate},
                                                    {"idle", Mode::kIdle},
                                                    {"handshake", Mode::kHandshake}};
const std::pair<std::string_view, TlsVersion> kTlsVersions[] = {
    {"auto", TlsVersion::kAuto}, {"1.2", TlsVersion::k12}, {"1.3", TlsVersion::k13}};
const std::pair<std::string_view, bool> kBools[] = {
    {"true", true}, {"false", false}, {"1", true}, {"0", false}};
const std::pair<std::string_view, Protocol> kProtocols[] = {{"raw", Protocol::kRaw},
                                                            {"json", Protocol::kJson},
                                                            {"sse", Protocol::kSse},
                                                            {"socketio", Protocol::kSocketIo}};
const std::pair<std::string_view, RoomDist> kDists[] = {{"uniform", RoomDist::kUniform},
                                                        {"zipf", RoomDist::kZipf}};
const std::pair<std::string_view, Think> kThinks[] = {
    {"const", Think::kConst}, {"exp", Think::kExp}, {"uniform", Think::kUniform}};
const std::pair<std::string_view, ProgressMode> kProgress[] = {{"auto", ProgressMode::kAuto},
                                                               {"always", ProgressMode::kAlways},
                                                               {"never", ProgressMode::kNever}};

std::vector<OptionSpec> build_specs() {
  return {
      {"url", "",
       "base URL (ws:// or http://host:port/path/): raw and sse append the room; json uses the "
       "path without a trailing /",
       RL_STR(url)},
      {"mode", "",
       "echo | fanout | rate | idle | handshake (connect, TLS handshake, close, repeat: "
       "handshakes/s)",
       [](Scenario& s, std::string_view v) { return parse_enum("mode", v, s.mode, kModes); }},
      {"protocol", "",
       "raw (GET /ws/{room}) | json (GET /ws, join/pub/msg) | sse (GET /sse/{room}, senders POST) "
       "| socketio (Socket.IO over Engine.IO 4's WebSocket: PATH?EIO=4&transport=websocket&room=R)",
       [](Scenario& s, std::string_view v) {
         return parse_enum("protocol", v, s.protocol, kProtocols);
       }},
      {"pub-path", "", "sse: path senders POST to; {room} is replaced", RL_STR(pub_path)},
      {"churn", "",
       "resets per open subscriber per second (e.g. 0.1); each resumes from its position",
       RL_DBL(churn)},
      {"churn-pause", "", "mean seconds a reset subscriber stays away", RL_DBL(churn_pause_s)},
      {"connections", "-c", "connections in total", RL_U32(connections, 1, 10'000'000)},
      {"rooms", "", "rooms (fanout, rate, idle; echo has one per connection)",
       RL_U32(rooms, 1, 10'000'000)},
      {"room-dist", "", "uniform | zipf: how members spread over rooms",
       [](Scenario& s, std::string_view v) {
         return parse_enum("room-dist", v, s.room_dist, kDists);
       }},
      {"zipf-s", "", "Zipf exponent", RL_DBL(zipf_s)},
      {"room-prefix", "", "room names are PREFIX-<n>", RL_STR(room_prefix)},
      {"senders", "", "fanout: senders per room; rate: senders in total (0 = all)",
       RL_U32(senders, 0, 10'000'000)},
      {"rate", "", "rate: messages per second per sender", RL_DBL(rate)},
      {"think", "", "rate: interval distribution const | exp | uniform",
       [](Scenario& s, std::string_view v) { return parse_enum("think", v, s.think, kThinks); }},
      {"size", "", "payload bytes (at least the header fields)", RL_U32(size, 1, 64 << 20)},
      {"size-max", "", "if > size: sizes uniform in [size, size-max]",
       RL_U32(size_max, 0, 64 << 20)},
      {"cpus", "", "one pinned worker per entry, e.g. 1 or 0,1 or 1,1,1", set_cpus},
      {"src-ips", "", "source addresses to bind, round-robin, e.g. 127.0.0.1,127.0.0.2",
       set_src_ips},
      {"ports", "",
       "spread clients round-robin over these ports of the URL's host (several nodes), e.g. "
       "9000,9001; replaces the URL's port",
       set_ports},
      {"connect-rate", "", "new connections per second (0: connections/ramp, or at once)",
       RL_DBL(connect_rate)},
      {"ramp", "", "ramp phase seconds (connections open)", RL_DBL(ramp_s)},
      {"steady", "duration", "steady phase seconds", RL_DBL(steady_s)},
      {"spike", "", "spike phase seconds", RL_DBL(spike_s)},
      {"spike-mult", "", "rate multiplier during spike", RL_DBL(spike_mult)},
      {"soak", "", "soak phase seconds", RL_DBL(soak_s)},
      {"drain", "", "seconds for in-flight messages after the last phase", RL_DBL(drain_s)},
      {"settle", "",
       "pause after all connections opened, before the first phase (servers may join rooms "
       "asynchronously)",
       RL_DBL(settle_s)},
      {"round-timeout", "",
       "fanout: a member stuck this long in a round counts an error and moves on",
       RL_DBL(round_timeout_s)},
      {"connect-timeout", "", "seconds per connect + handshake attempt", RL_DBL(connect_timeout_s)},
      {"max-retries", "", "connect attempts before a connection gives up",
       [](Scenario& s, std::string_view v) {
         return parse_int<int>("max-retries", v, s.max_retries, 0, 1000);
       }},
      {"backoff-base-ms", "", "backoff base (ms)", RL_DBL(backoff_base_ms)},
      {"backoff-cap-ms", "", "backoff cap (ms)", RL_DBL(backoff_cap_ms)},
      {"since", "", "append ?since=VALUE (EPOCH:SEQ) to every connect", RL_STR(since)},
      {"max-message", "", "largest message accepted from the server",
       [](Scenario& s, std::string_view v) {
         return parse_int<uint64_t>("max-message", v, s.max_message, 64, uint64_t{1} << 31);
       }},
      {"tls", "", "TLS (wolfSSL) on every connection: wss:// and https://",
       [](Scenario& s, std::string_view v) { return parse_enum("tls", v, s.tls, kBools); }, true},
      {"tls-ca", "", "verify the server's certificate against this PEM bundle (default: none)",
       RL_STR(tls_ca)},
      {"tls-resume", "", "a reconnect (handshake mode: every next handshake) resumes the session",
       [](Scenario& s, std::string_view v) {
         return parse_enum("tls-resume", v, s.tls_resume, kBools);
       },
       true},
      {"tls-version", "", "auto | 1.2 | 1.3",
       [](Scenario& s, std::string_view v) {
         return parse_enum("tls-version", v, s.tls_version, kTlsVersions);
       }},
      {"handshakes", "", "handshake mode: stop after this many (0: the phases' time)",
       [](Scenario& s, std::string_view v) {
         return parse_int<uint64_t>("handshakes", v, s.handshakes, 0, UINT64_MAX);
       }},
      {"rolling-server", "",
       "rolling restart: start two of this server binary on the URL's port (--reuse-port), "
       "SIGTERM one during the load and start a replacement",
       RL_STR(rolling_server)},
      {"rolling-args", "", "rolling restart: more flags for every server, blank-separated",
       RL_STR(rolling_args)},
      {"rolling-at", "", "rolling restart: seconds into the phases when the replacement starts",
       RL_DBL(rolling_at_s)},
      {"rolling-log", "", "rolling restart: server N writes its output to PREFIX.N.log",
       RL_STR(rolling_log)},
      {"json", "", "write the JSON report here", RL_STR(json_path)},
      {"html", "", "write the HTML report here", RL_STR(html_path)},
      {"server-pid", "", "server process id, for its CPU time",
       [](Scenario& s, std::string_view v) {
         return parse_int<int>("server-pid", v, s.server_pid, 0, 1 << 30);
       }},
      {"progress", "", "live line once a second: auto | always | never",
       [](Scenario& s, std::string_view v) {
         return parse_enum("progress", v, s.progress, kProgress);
       }},
      {"seed", "", "random seed",
       [](Scenario& s, std::string_view v) {
         return parse_int<uint64_t>("seed", v, s.seed, 0, UINT64_MAX);
       }},
  };
}

}  // namespace

std::span<const OptionSpec> option_specs() {
  static const std::vector<OptionSpec> specs = build_specs();
  return specs;
}

}  // namespace ringchat::ringload
