#include "scenario.h"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <sstream>

#include "scenario_options.h"

namespace ringchat::ringload {

std::string_view to_string(Mode m) {
  switch (m) {
    case Mode::kEcho:
      return "echo";
    case Mode::kFanout:
      return "fanout";
    case Mode::kRate:
      return "rate";
    case Mode::kIdle:
      return "idle";
    case Mode::kHandshake:
      return "handshake";
  }
  return "?";
}

std::string_view to_string(Protocol p) {
  switch (p) {
    case Protocol::kRaw:
      return "raw";
    case Protocol::kJson:
      return "json";
    case Protocol::kSse:
      return "sse";
    case Protocol::kSocketIo:
      return "socketio";
  }
  return "?";
}

std::string_view to_string(PhaseKind k) {
  switch (k) {
    case PhaseKind::kRamp:
      return "ramp";
    case PhaseKind::kSteady:
      return "steady";
    case PhaseKind::kSpike:
      return "spike";
    case PhaseKind::kSoak:
      return "soak";
  }
  return "?";
}

std::vector<Phase> Scenario::phases() const {
  std::vector<Phase> out;
  if (!explicit_phases.empty()) {
    for (const Phase& p : explicit_phases) {
      if (p.duration_s > 0) out.push_back(p);
    }
    return out;
  }
  auto add = [&](std::string_view name, PhaseKind k, double d, double mult) {
    if (d > 0) out.push_back(Phase{std::string(name), k, d, mult});
  };
  add("ramp", PhaseKind::kRamp, ramp_s, 1);
  add("steady", PhaseKind::kSteady, steady_s, 1);
  add("spike", PhaseKind::kSpike, spike_s, spike_mult);
  add("soak", PhaseKind::kSoak, soak_s, 1);
  return out;
}

double Scenario::effective_connect_rate() const {
  if (connect_rate > 0) return connect_rate;
  double ramp = 0;
  for (const Phase& p : phases()) {
    if (p.kind == PhaseKind::kRamp) ramp += p.duration_s;
  }
  return ramp > 0 ? connections / ramp : 0;
}

Result<Target, std::string> parse_url(std::string_view url) {
  // ws:// and http:// are the same plain TCP to ringload (SSE streams and
  // publishers speak HTTP); wss:// and https:// the same over TLS (--tls).
  std::string_view rest;
  bool tls = false;
  if (url.starts_with("ws://")) {
    rest = url.substr(5);
  } else if (url.starts_with("http://")) {
    rest = url.substr(7);
  } else if (url.starts_with("wss://")) {
    rest = url.substr(6);
    tls = true;
  } else if (url.starts_with("https://")) {
    rest = url.substr(8);
    tls = true;
  } else {
    return Err("url must start with ws://, http://, wss:// or https://: " + std::string(url));
  }
  const size_t slash = rest.find('/');
  std::string_view hostport = rest.substr(0, slash);
  Target t;
  t.tls_scheme = tls;
  if (tls) t.port = 443;
  t.path = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  const size_t colon = hostport.rfind(':');
  t.host = std::string(hostport.substr(0, colon));
  if (colon != std::string_view::npos) {
    std::string_view p = hostport.substr(colon + 1);
    unsigned v = 0;
    auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), v);
    if (ec != std::errc() || ptr != p.data() + p.size() || v == 0 || v > 65535) {
      return Err("bad port in url: " + std::string(url));
    }
    t.port = static_cast<uint16_t>(v);
  }
  if (t.host.empty()) return Err("no host in url: " + std::string(url));
  return t;
}

Result<void, std::string> set_option(Scenario& s, std::string_view name, std::string_view value) {
  std::string key(name);
  std::replace(key.begin(), key.end(), '_', '-');
  for (const OptionSpec& o : option_specs()) {
    if (o.name == key || o.alias == key) return o.set(s, value);
  }
  return Err("unknown option: " + std::string(name));
}

namespace {

Result<void, std::string> validate_rolling(const Scenario& s) {
  if (!s.rolling()) {
    if (!s.rolling_args.empty() || !s.rolling_log.empty())
      return Err(std::string("--rolling-args and --rolling-log need --rolling-server"));
    return {};
  }
  if (s.mode == Mode::kHandshake)
    return Err(std::string("--rolling-server runs chat load: not with --mode handshake"));
  if (!s.since.empty())
    return Err(std::string("--rolling-server tracks positions itself: drop --since"));
  if (s.server_pid != 0)
    return Err(std::string("--rolling-server starts its own servers: drop --server-pid"));
  if (!s.ports.empty())
    return Err(std::string("--rolling-server uses the URL's port: drop --ports"));
  double total = 0;
  for (const Phase& p : s.phases()) total += p.duration_s;
  if (s.rolling_at_s >= total)
    return Err(std::string("--rolling-at must fall inside the phases (before ") +
               std::to_string(total) + " s)");
  return {};
}

}  // namespace

Result<void, std::string> validate(const Scenario& s) {
  auto target = parse_url(s.url);
  if (!target) return Err(target.error());
  if (s.connections == 0) return Err(std::string("--connections must be > 0"));
  if (s.rooms == 0) return Err(std::string("--rooms must be > 0"));
  if (s.cpus.empty()) return Err(std::string("--cpus needs at least one CPU"));
  if (s.mode == Mode::kRate && s.rate <= 0) return Err(std::string("--rate must be > 0"));
  if (s.size_max != 0 && s.size_max < s.size)
    return Err(std::string("--size-max must be >= --size"));
  if (s.backoff_cap_ms < s.backoff_base_ms)
    return Err(std::string("--backoff-cap-ms must be >= base"));
  if (s.phases().empty()) return Err(std::string("every phase has duration 0: nothing to run"));
  if (s.round_timeout_s <= 0) return Err(std::string("--round-timeout must be > 0"));
  if (s.max_message < 64) return Err(std::string("--max-message must be >= 64"));
  if (s.churn > 0 && s.protocol == Protocol::kRaw && !s.since.empty())
    return Err(std::string("--churn with raw sockets tracks positions itself: drop --since"));
  if (s.churn > 100) return Err(std::string("--churn is resets per subscriber per second: <= 100"));
  if (target->tls_scheme && !s.tls)
    return Err(std::string("wss:// and https:// need --tls (ringload speaks TLS only when asked)"));
  if (!s.tls && (!s.tls_ca.empty() || s.tls_resume || s.tls_version != TlsVersion::kAuto))
    return Err(std::string("--tls-ca, --tls-resume and --tls-version need --tls"));
  if (s.protocol == Protocol::kSocketIo && (s.churn > 0 || !s.since.empty() || s.rolling()))
    return Err(std::string(
        "--protocol socketio has no positions: no --churn, --since or --rolling-server"));
  if (s.mode == Mode::kHandshake && s.protocol != Protocol::kRaw)
    return Err(std::string("--mode handshake speaks no protocol: leave --protocol raw"));
  if (s.handshakes > 0 && s.mode != Mode::kHandshake)
    return Err(std::string("--handshakes bounds --mode handshake only"));
  return validate_rolling(s);
}

}  // namespace ringchat::ringload
