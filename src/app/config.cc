#include "ringchat/app/config.h"

#include <sched.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <memory>
#include <random>

#include "ringchat/redis/url.h"
#include "ringchat/ws/frame_parser.h"

namespace ringchat::app {

namespace {

// Parses "65536", "64K", "1M", "1G" (powers of 1024).
std::string parse_size(std::string v, uint64_t* out) {
  CLI::AsSizeValue conv(false);
  std::string err = conv(v);
  if (!err.empty()) return err;
  // AsSizeValue leaves the number as text; it may not fit 64 bits.
  char* end = nullptr;
  errno = 0;
  const unsigned long long n = std::strtoull(v.c_str(), &end, 10);
  if (errno == ERANGE || end == v.c_str() || *end != '\0') return "size out of range: " + v;
  *out = n;
  return {};
}

// A byte-size option with bounds; `set` stores the parsed value.
CLI::Option* add_size(CLI::App& app, const std::string& name, uint64_t def, uint64_t min,
                      uint64_t max, const std::string& help, std::function<void(uint64_t)> set) {
  auto* opt = app.add_option_function<std::string>(
      name,
      [set](const std::string& v) {
        uint64_t n = 0;
        parse_size(v, &n);
        set(n);
      },
      help + " (bytes; K, M, G suffixes)");
  opt->default_str(std::to_string(def));
  opt->check(
      [min, max](const std::string& v) -> std::string {
        uint64_t n = 0;
        std::string err = parse_size(v, &n);
        if (!err.empty()) return err;
        if (n < min || n > max) {
          return "must be between " + std::to_string(min) + " and " + std::to_string(max);
        }
        return {};
      },
      "SIZE");
  return opt;
}

// The whole of `path`, less one final line end (LF or CRLF) when `secret`
// (a file written with `echo` has one); an error names the file, never its
// contents.
Result<std::string, std::string> read_file(const std::string& flag, const std::string& path,
                                           bool secret) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Err(flag + ": cannot read " + path);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (secret && bytes.ends_with('\n')) {
    bytes.pop_back();
    if (bytes.ends_with('\r')) bytes.pop_back();  // CRLF
  }
  return bytes;
}

// A --tls-cert directory's pairs: NAME.crt or NAME.pem with NAME.key, by name.
Result<std::vector<tls::CertFiles>, std::string> cert_dir(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir, ec)) files.push_back(e.path());
  if (ec) return Err("--tls-cert " + dir + ": " + ec.message());
  std::sort(files.begin(), files.end());
  std::vector<tls::CertFiles> pairs;
  for (const fs::path& f : files) {
    if (f.extension() != ".crt" && f.extension() != ".pem") continue;
    fs::path key = f;
    key.replace_extension(".key");
    if (fs::is_regular_file(key, ec)) pairs.push_back({f.string(), key.string()});
  }
  if (pairs.empty()) {
    return Err("--tls-cert " + dir +
               ": no certificate in the directory (it wants NAME.crt or NAME.pem with NAME.key)");
  }
  return pairs;
}

}  // namespace

Result<std::vector<tls::CertFiles>, std::string> tls_cert_files(const Config::Tls& t) {
  std::vector<tls::CertFiles> pairs;
  size_t files = 0;
  for (const std::string& cert : t.certs) {
    std::error_code ec;
    if (std::filesystem::is_directory(cert, ec)) {
      auto found = cert_dir(cert);
      if (!found) return Err(found.error());
      pairs.insert(pairs.end(), found->begin(), found->end());
    } else if (files < t.keys.size()) {
      pairs.push_back({cert, t.keys[files++]});
    } else {
      ++files;
    }
  }
  if (files != t.keys.size()) {
    return Err("--tls-cert and --tls-key: give one key for each certificate file (" +
               std::to_string(files) + " and " + std::to_string(t.keys.size()) + ")");
  }
  return pairs;
}

namespace {

// --tls-* into a context (null without TLS), or why they cannot be.
Result<tls::ContextConfig, std::string> tls_config(const Config::Tls& t) {
  auto pairs = tls_cert_files(t);
  if (!pairs) return Err(pairs.error());
  return tls::ContextConfig{.certs = std::move(*pairs),
                            .ciphers = t.ciphers,
                            .ticket_rotate_ms = uint64_t{t.ticket_rotate_s} * 1000};
}

// --jwt-*, --api-key*, --origins into the gate, or why they cannot be.
Result<auth::GateConfig, std::string> build_gate(const Config::Auth& a, bool allow_anonymous) {
  auth::GateConfig g;
  g.allow_anonymous = allow_anonymous;
  if (!a.jwt_secret.empty() && !a.jwt_secret_file.empty()) {
    return Err(std::string("--jwt-secret and --jwt-secret-file: give one"));
  }
  if (!a.api_key.empty() && !a.api_key_file.empty()) {
    return Err(std::string("--api-key and --api-key-file: give one"));
  }
  auth::VerifierConfig vc;
  vc.hs256_secret = a.jwt_secret;
  if (!a.jwt_secret_file.empty()) {
    auto s = read_file("--jwt-secret-file", a.jwt_secret_file, true);
    if (!s) return Err(s.error());
    vc.hs256_secret = std::move(*s);
  }
  if (!a.jwt_public_key.empty()) {
    auto k = read_file("--jwt-public-key", a.jwt_public_key, false);
    if (!k) return Err(k.error());
    vc.public_key = std::move(*k);
  }
  vc.audience = a.jwt_audience;
  vc.issuer = a.jwt_issuer;
  vc.clock_skew_s = a.clock_skew_s;
  if (!vc.hs256_secret.empty() || !vc.public_key.empty()) {
    auto v = auth::Verifier::create(std::move(vc));
    if (!v) return Err("token auth: " + v.error());
    g.verifier = std::make_shared<const auth::Verifier>(std::move(*v));
  } else if (allow_anonymous || !a.jwt_audience.empty() || !a.jwt_issuer.empty()) {
    return Err(std::string(
        "--allow-anonymous, --jwt-audience and --jwt-issuer need --jwt-secret(-file) or "
        "--jwt-public-key"));
  }
  g.api_key = a.api_key;
  if (!a.api_key_file.empty()) {
    auto k = read_file("--api-key-file", a.api_key_file, true);
    if (!k) return Err(k.error());
    g.api_key = std::move(*k);
  }
  if (!g.api_key.empty() && g.api_key.size() < 32) {
    return Err(std::string("--api-key: at least 32 bytes, so that it cannot be guessed"));
  }
  std::string_view list = a.origins;
  while (!list.empty()) {
    const size_t comma = list.find(',');
    std::string_view o = list.substr(0, comma);
    while (!o.empty() && o.front() == ' ') o.remove_prefix(1);
    while (!o.empty() && o.back() == ' ') o.remove_suffix(1);
    if (!o.empty()) g.origins.emplace_back(o);
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return g;
}

// --redis, --redis-password-file into an endpoint (none without --redis).
Result<std::optional<redis::Endpoint>, std::string> redis_endpoint(const Config::Redis& r) {
  if (r.url.empty()) {
    if (!r.password_file.empty() && r.cluster.empty()) {
      return Err(std::string("--redis-password-file needs --redis or --redis-cluster"));
    }
    return std::optional<redis::Endpoint>();
  }
  auto ep = redis::parse_url(r.url);
  if (!ep) return Err("--redis: " + ep.error());
  if (!r.password_file.empty()) {
    if (!ep->password.empty()) {
      return Err(std::string("--redis has a password: drop it or --redis-password-file"));
    }
    auto pw = read_file("--redis-password-file", r.password_file, true);
    if (!pw) return Err(pw.error());
    ep->password = std::move(*pw);
  }
  return std::optional<redis::Endpoint>(std::move(*ep));
}

// --redis-cluster's seeds: host:port or redis://[user:password@]host:port,
// comma-separated; the password from --redis-password-file applies to each.
Result<std::vector<redis::Endpoint>, std::string> redis_seeds(const Config::Redis& r) {
  std::vector<redis::Endpoint> seeds;
  if (r.cluster.empty()) return seeds;
  if (!r.url.empty()) return Err(std::string("--redis and --redis-cluster exclude each other"));
  std::optional<std::string> pw;
  if (!r.password_file.empty()) {
    auto p = read_file("--redis-password-file", r.password_file, true);
    if (!p) return Err(p.error());
    pw = std::move(*p);
  }
  std::string_view list = r.cluster;
  while (!list.empty()) {
    const size_t comma = list.find(',');
    std::string_view item = list.substr(0, comma);
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    if (item.empty()) continue;
    const std::string url = item.find("://") == std::string_view::npos
                                ? "redis://" + std::string(item)
                                : std::string(item);
    auto ep = redis::parse_url(url);
    if (!ep) return Err("--redis-cluster: " + ep.error());
    if (!ep->unix_path.empty()) return Err(std::string("--redis-cluster: TCP nodes only"));
    if (ep->db != 0) return Err(std::string("--redis-cluster: a cluster has database 0 only"));
    if (pw) {
      if (!ep->password.empty()) {
        return Err(std::string("--redis-cluster has a password: drop it or --redis-password-file"));
      }
      ep->password = *pw;
    }
    seeds.push_back(std::move(*ep));
  }
  if (seeds.empty()) return Err(std::string("--redis-cluster: no seed node"));
  return seeds;
}

// Every option's effective value (Config::settings), after parsing.
std::vector<Config::Setting> effective(CLI::App& app) {
  using Kind = Config::Setting::Kind;
  std::vector<Config::Setting> out;
  for (CLI::Option* opt : app.get_options()) {
    const std::string& name = opt->get_single_name();
    if (name == "help" || name == "version") continue;
    Config::Setting s{name, {}, Kind::kText};
    const std::string type = opt->get_type_name();
    if (opt->get_expected_max() == 0) {  // a flag
      s.kind = Kind::kBool;
      s.value = opt->count() > 0 ? "true" : "false";
    } else if (opt->count() > 0) {
      for (const std::string& r : opt->results()) {
        if (!s.value.empty()) s.value += ',';
        s.value += r;
      }
    } else {
      s.value = opt->get_default_str();
    }
    if (type.find("SIZE") != std::string::npos) {
      // As a number of bytes: "64K" was given, 65536 applies.
      uint64_t n = 0;
      if (parse_size(s.value, &n).empty()) {
        s.value = std::to_string(n);
        s.kind = Kind::kNumber;
      }
    } else if (s.kind == Kind::kText && !s.value.empty() &&
               (type.starts_with("INT") || type.starts_with("UINT") || type.starts_with("FLOAT") ||
                type.starts_with("NUMBER"))) {
      s.kind = Kind::kNumber;
    }
    if (is_secret_option(name)) {
      s.value = s.value.empty() ? "<unset>" : "<set>";
      s.kind = Kind::kText;
    }
    out.push_back(std::move(s));
  }
  return out;
}

void declare(CLI::App& app, Config& c) {
  chat::ShardConfig& s = c.shard;
  app.add_option("--port", s.port, "TCP port to listen on (0: any free port)")
      ->capture_default_str()
      ->check(CLI::Range(0, 65535))
      ->envname("RINGCHAT_PORT");
  app.add_option("--bind", s.bind, "Address to listen on (IPv4 or IPv6 literal)")
      ->capture_default_str()
      ->envname("RINGCHAT_BIND");
  app.add_flag_callback(
         "--reuse-port", [&s] { s.reuse_port = true; },
         "Share the port with a server already listening on it, for a rolling "
         "restart; without it a port in use is an error")
      ->envname("RINGCHAT_REUSE_PORT");
  app.add_option("--threads", c.threads, "Shards (threads); 0 = one per CPU of the affinity mask")
      ->capture_default_str()
      ->check(CLI::Range(0, 1024))
      ->envname("RINGCHAT_THREADS");
  add_size(app, "--max-message", s.max_message, 125, 1ull << 30,
           "Largest WebSocket message; bigger ones close with 1009",
           [&s](uint64_t v) { s.max_message = v; })
      ->envname("RINGCHAT_MAX_MESSAGE");
  app.add_option("--max-fragments", s.max_fragments,
                 "Most frames one WebSocket message may arrive in; more close with 1009")
      ->capture_default_str()
      ->check(CLI::Range(1u, ws::kMaxFragmentsLimit))
      ->envname("RINGCHAT_MAX_FRAGMENTS");
  add_size(app, "--max-header", s.max_header, 1024, 1 << 20,
           "Largest HTTP request line plus headers and trailers; bigger gets 431",
           [&s](uint64_t v) { s.max_header = v; })
      ->envname("RINGCHAT_MAX_HEADER");
  app.add_option("--max-header-fields", s.max_header_fields,
                 "Most header fields (headers and trailers) in one HTTP request; more gets 431")
      ->capture_default_str()
      ->check(CLI::Range(1, 10000))
      ->envname("RINGCHAT_MAX_HEADER_FIELDS");
  app.add_option("--ping-interval", s.ping_interval_ms,
                 "Milliseconds between pings; two silent intervals close the connection")
      ->capture_default_str()
      ->check(CLI::Range(100, 3600000))
      ->envname("RINGCHAT_PING_INTERVAL");
  app.add_option("--handshake-timeout", s.handshake_timeout_ms,
                 "Milliseconds a client may take to send a complete HTTP request")
      ->capture_default_str()
      ->check(CLI::Range(100, 600000))
      ->envname("RINGCHAT_HANDSHAKE_TIMEOUT");
  app.add_option("--drain-timeout", s.drain_timeout_ms,
                 "Milliseconds SIGTERM waits for connections to close")
      ->capture_default_str()
      ->check(CLI::Range(0, 600000))
      ->envname("RINGCHAT_DRAIN_TIMEOUT");
  add_size(app, "--send-backlog", s.max_backlog, 4096, 1ull << 32,
           "Unsent bytes to one client, not counting the message being queued, before a "
           "1008 close",
           [&s](uint64_t v) { s.max_backlog = v; })
      ->envname("RINGCHAT_SEND_BACKLOG");
  add_size(app, "--shard-backlog", s.max_shard_backlog, 1ull << 20, 1ull << 40,
           "Bytes one shard may hold queued for all its clients; over it the biggest "
           "consumers are closed with 1008",
           [&s](uint64_t v) { s.max_shard_backlog = v; })
      ->envname("RINGCHAT_SHARD_BACKLOG");
  app.add_option("--history", s.history, "Messages each room keeps for resumes (0: none)")
      ->capture_default_str()
      ->check(CLI::Range(0, 1000000))
      ->envname("RINGCHAT_HISTORY");
  add_size(app, "--history-bytes", s.history_bytes, 1024, 1ull << 32,
           "Bytes of history each room may keep; the oldest messages go first",
           [&s](uint64_t v) { s.history_bytes = v; })
      ->envname("RINGCHAT_HISTORY_BYTES");
  add_size(app, "--history-total", 0, 1ull << 20, 1ull << 44,
           "Bytes of history in all rooms (default: 25% of RAM); over it the rooms written "
           "least recently lose their history first (a new epoch)",
           [&s](uint64_t v) { s.history_total = v; })
      ->envname("RINGCHAT_HISTORY_TOTAL");
  app.add_option("--room-ttl", s.room_ttl_ms,
                 "Milliseconds a room with no member and no new message keeps its history")
      ->capture_default_str()
      ->check(CLI::Range(0, 86400000))
      ->envname("RINGCHAT_ROOM_TTL");
  app.add_option("--max-rooms-per-conn", s.max_rooms_per_conn,
                 "Rooms one JSON socket may be in at once")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000))
      ->envname("RINGCHAT_MAX_ROOMS_PER_CONN");
  app.add_option("--presence-events-max", s.presence_events_max,
                 "Rooms of at most this many members send JSON sockets join and leave events")
      ->capture_default_str()
      ->check(CLI::Range(0, 1000000))
      ->envname("RINGCHAT_PRESENCE_EVENTS_MAX");
  app.add_option("--max-conns", s.conn_limits.max_conns,
                 "Open connections in all (0: as many as the descriptor limit allows); over it "
                 "a new connection gets 503")
      ->capture_default_str()
      ->check(CLI::Range(0u, 100000000u))
      ->envname("RINGCHAT_MAX_CONNS");
  app.add_option("--max-conns-per-ip", s.conn_limits.max_conns_per_ip,
                 "Open connections from one address (IPv6: one /64; 0: no limit); over it 429")
      ->capture_default_str()
      ->check(CLI::Range(0u, 100000000u))
      ->envname("RINGCHAT_MAX_CONNS_PER_IP");
  app.add_option("--conn-rate", s.conn_limits.conn_rate,
                 "New connections per second from one address (0: no limit); over it 429")
      ->capture_default_str()
      ->check(CLI::Range(0u, 1000000u))
      ->envname("RINGCHAT_CONN_RATE");
  app.add_option("--conn-burst", s.conn_limits.conn_burst,
                 "New connections one address may open at once before --conn-rate applies")
      ->capture_default_str()
      ->check(CLI::Range(1u, 1000000u))
      ->envname("RINGCHAT_CONN_BURST");
  app.add_flag_callback(
         "--limit-loopback", [&s] { s.conn_limits.limit_loopback = true; },
         "Apply the per-address limits to loopback peers too (off: a reverse proxy on this "
         "host would make every client one address)")
      ->envname("RINGCHAT_LIMIT_LOOPBACK");
  app.add_option("--pub-rate", s.pub_rate,
                 "Messages per second one connection may publish (0: no limit); over it a JSON "
                 "socket gets a rate_limited error, a raw socket 1008, HTTP 429")
      ->capture_default_str()
      ->check(CLI::Range(0u, 1000000u))
      ->envname("RINGCHAT_PUB_RATE");
  app.add_option("--pub-burst", s.pub_burst,
                 "Messages one connection may publish at once before --pub-rate applies")
      ->capture_default_str()
      ->check(CLI::Range(1u, 1000000u))
      ->envname("RINGCHAT_PUB_BURST");
  app.add_option("--sse-heartbeat", s.sse_heartbeat_ms,
                 "Milliseconds between the comments that keep an idle event stream alive")
      ->capture_default_str()
      ->check(CLI::Range(100, 3600000))
      ->envname("RINGCHAT_SSE_HEARTBEAT");
  app.add_flag_callback(
         "--no-echo", [&s] { s.echo = false; }, "Do not deliver a client's messages back to itself")
      ->envname("RINGCHAT_NO_ECHO");
  add_size(app, "--rcvbuf", 0, 0, 1 << 30, "SO_RCVBUF of client sockets (0: kernel autotuning)",
           [&s](uint64_t v) { s.rcvbuf = static_cast<int>(v); })
      ->envname("RINGCHAT_RCVBUF");
  add_size(app, "--sndbuf", 0, 0, 1 << 30, "SO_SNDBUF of client sockets (0: kernel autotuning)",
           [&s](uint64_t v) { s.sndbuf = static_cast<int>(v); })
      ->envname("RINGCHAT_SNDBUF");
  app.add_option("--jwt-secret", c.auth.jwt_secret,
                 "HS256 secret (at least 32 bytes): turns token auth on. Seen by `ps`: prefer "
                 "--jwt-secret-file or RINGCHAT_JWT_SECRET")
      ->envname("RINGCHAT_JWT_SECRET");
  app.add_option("--jwt-secret-file", c.auth.jwt_secret_file,
                 "File holding the HS256 secret (one final newline is not part of it)")
      ->envname("RINGCHAT_JWT_SECRET_FILE");
  app.add_option("--jwt-public-key", c.auth.jwt_public_key,
                 "PEM or DER public key file: RSA (2048+ bits) for RS256, EC P-256 for ES256; "
                 "turns token auth on")
      ->envname("RINGCHAT_JWT_PUBLIC_KEY");
  app.add_option("--jwt-audience", c.auth.jwt_audience,
                 "Tokens must name this audience in `aud` (unset: tokens must have no `aud`)")
      ->envname("RINGCHAT_JWT_AUDIENCE");
  app.add_option("--jwt-issuer", c.auth.jwt_issuer, "Tokens must have this `iss`")
      ->envname("RINGCHAT_JWT_ISSUER");
  app.add_option("--clock-skew", c.auth.clock_skew_s,
                 "Seconds of clock difference allowed for a token's exp and nbf")
      ->capture_default_str()
      ->check(CLI::Range(0, 3600))
      ->envname("RINGCHAT_CLOCK_SKEW");
  app.add_flag_callback(
         "--allow-anonymous", [&s] { s.gate.allow_anonymous = true; },
         "With token auth, let clients without a token in, read-only")
      ->envname("RINGCHAT_ALLOW_ANONYMOUS");
  app.add_option("--api-key", c.auth.api_key,
                 "Key a back-end shows (Authorization: Bearer KEY) to publish and read anywhere "
                 "over HTTP (at least 32 bytes); prefer --api-key-file")
      ->envname("RINGCHAT_API_KEY");
  app.add_option("--api-key-file", c.auth.api_key_file,
                 "File holding the API key (one final newline is not part of it)")
      ->envname("RINGCHAT_API_KEY_FILE");
  app.add_option("--origins", c.auth.origins,
                 "Comma-separated browser origins allowed (https://app.example.com, "
                 "https://*.example.com); unset: any")
      ->envname("RINGCHAT_ORIGINS");
  app.add_option("--tls-cert", c.tls.certs,
                 "PEM certificate chain: with --tls-key, turns TLS on, on --tls-port. Repeat "
                 "both for several names (SNI picks; the first is the default). A directory: "
                 "each NAME.crt or NAME.pem in it with NAME.key, by name (no --tls-key)")
      ->envname("RINGCHAT_TLS_CERT");
  app.add_option("--tls-key", c.tls.keys, "PEM private key of the --tls-cert in the same place")
      ->envname("RINGCHAT_TLS_KEY");
  app.add_option("--tls-port", s.tls_port, "Port for TLS (wss://, https://)")
      ->capture_default_str()
      ->check(CLI::Range(0, 65535))
      ->envname("RINGCHAT_TLS_PORT");
  app.add_flag_callback(
         "--no-plain", [&s] { s.plain = false; }, "With TLS, do not listen on the plain --port")
      ->envname("RINGCHAT_NO_PLAIN");
  app.add_option("--tls-ciphers", c.tls.ciphers,
                 "TLS suites in order of preference (wolfSSL names, colon-separated; default: "
                 "ChaCha20-Poly1305 first, then AES-GCM, TLS 1.3 and ECDHE only)")
      ->envname("RINGCHAT_TLS_CIPHERS");
  app.add_option("--tls-ticket-rotate", c.tls.ticket_rotate_s,
                 "Seconds between new session-ticket keys (all shards share them; tickets of "
                 "the previous key still resume for one more period)")
      ->capture_default_str()
      ->check(CLI::Range(60u, 7u * 24 * 3600))
      ->envname("RINGCHAT_TLS_TICKET_ROTATE");
  app.add_option("--redis", c.redis.url,
                 "Cluster mode: redis://[user:password@]host:port[/db] or unix:///path[?db=N]; "
                 "Redis orders every room and nodes sharing it serve the same rooms (unset: one "
                 "node, history in memory)")
      ->envname("RINGCHAT_REDIS");
  app.add_option("--redis-cluster", c.redis.cluster,
                 "Cluster mode over a Redis Cluster (7.0+): seed nodes host:port[,host:port...] "
                 "(or redis://[user:password@]host:port); rooms go to their slot's master, "
                 "fan-out by sharded pub/sub (instead of --redis)")
      ->envname("RINGCHAT_REDIS_CLUSTER");
  app.add_option("--redis-password-file", c.redis.password_file,
                 "File holding the Redis password (instead of one in the --redis or "
                 "--redis-cluster URL)")
      ->envname("RINGCHAT_REDIS_PASSWORD_FILE");
  app.add_option("--redis-linger", s.redis_linger_ms,
                 "Milliseconds a room with no member on this node stays subscribed (churn does not "
                 "resubscribe)")
      ->capture_default_str()
      ->check(CLI::Range(0, 3600000))
      ->envname("RINGCHAT_REDIS_LINGER");
  app.add_option("--redis-timeout", s.redis_timeout_ms,
                 "Milliseconds without an answer from Redis after which it counts as down "
                 "(publishes refused, /readyz 503, reconnect with backoff)")
      ->capture_default_str()
      ->check(CLI::Range(100, 600000))
      ->envname("RINGCHAT_REDIS_TIMEOUT");
  app.add_option("--log-level", c.log_level, "debug, info, warn or error")
      ->capture_default_str()
      ->check(CLI::IsMember({"debug", "info", "warn", "error"}))
      ->envname("RINGCHAT_LOG_LEVEL");
  app.add_option("--log-format", c.log_format,
                 "text (human), logfmt or json (one object per line): how log lines are written")
      ->capture_default_str()
      ->check(CLI::IsMember({"text", "logfmt", "json"}))
      ->envname("RINGCHAT_LOG_FORMAT");
  app.add_option("--access-log", c.access_log,
                 "File to append one line per HTTP request answered to, in --log-format "
                 "(- for stderr; unset: no access log)")
      ->envname("RINGCHAT_ACCESS_LOG");
}

}  // namespace

bool is_secret_option(std::string_view name) {
  if (name.ends_with("-file")) return false;  // a path, not the secret
  for (std::string_view word : {"secret", "password", "passphrase", "api-key", "token"}) {
    if (name.find(word) != std::string_view::npos) return true;
  }
  return false;
}

Result<Config, ParseExit> parse_config(int argc, const char* const* argv) {
  Config c;
  CLI::App app{"ringchat: a real-time chat server (WebSocket rooms over io_uring)", "ringchat"};
  app.set_version_flag("--version", "ringchat 0.1.0");
  app.set_config("--config", "", "Read options from a TOML or INI file");
  app.allow_config_extras(false);  // a misspelt key is an error, not a silent default
  app.get_formatter()->column_width(32);
  declare(app, c);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    return Err(ParseExit{0, app.help()});
  } catch (const CLI::CallForVersion& e) {
    return Err(ParseExit{0, e.what()});
  } catch (const CLI::ParseError& e) {
    return Err(ParseExit{
        2, std::string("ringchat: ") + e.what() + "\nRun with --help for the list of options."});
  }
  if (auto gate = build_gate(c.auth, c.shard.gate.allow_anonymous); !gate) {
    return Err(ParseExit{2, "ringchat: " + gate.error()});
  } else {
    c.shard.gate = std::move(*gate);
  }
  if (auto t = load_tls(c.tls); !t) {
    return Err(ParseExit{2, "ringchat: " + t.error()});
  } else {
    c.shard.tls = std::move(*t);
  }
  // Tells this process's publishers from other nodes' in cluster mode.
  c.shard.node_id = std::random_device{}();
  if (auto r = redis_endpoint(c.redis); !r) {
    return Err(ParseExit{2, "ringchat: " + r.error()});
  } else {
    c.shard.redis = std::move(*r);
  }
  if (auto r = redis_seeds(c.redis); !r) {
    return Err(ParseExit{2, "ringchat: " + r.error()});
  } else {
    c.shard.redis_cluster = std::move(*r);
  }
  if (!c.shard.tls && !c.shard.plain) {
    return Err(ParseExit{2, "ringchat: --no-plain needs --tls-cert and --tls-key"});
  }
  if (app.count("--history-total") == 0) {
    // A quarter of the machine's memory, as a cache that gives way first.
    const long pages = sysconf(_SC_PHYS_PAGES);
    const long page = sysconf(_SC_PAGE_SIZE);
    if (pages > 0 && page > 0) c.shard.history_total = static_cast<size_t>(pages) * page / 4;
  }
  c.settings = effective(app);
  for (Config::Setting& s : c.settings) {
    if (s.name == "history-total") s.value = std::to_string(c.shard.history_total);
    // The URL may hold a password.
    if (s.name == "redis" && c.shard.redis) s.value = redis::redacted(*c.shard.redis);
    if (s.name == "redis-cluster" && !c.shard.redis_cluster.empty()) {
      s.value.clear();
      for (const redis::Endpoint& ep : c.shard.redis_cluster) {
        if (!s.value.empty()) s.value += ',';
        s.value += redis::redacted(ep);
      }
    }
  }
  return c;
}

Result<std::shared_ptr<const tls::ServerContext>, std::string> load_tls(
    const Config::Tls& t, std::shared_ptr<tls::TicketKeys> tickets) {
  auto cfg = tls_config(t);
  if (!cfg) return Err(cfg.error());
  if (cfg->certs.empty()) {
    if (!t.ciphers.empty()) return Err(std::string("--tls-ciphers needs --tls-cert and --tls-key"));
    return std::shared_ptr<const tls::ServerContext>();
  }
  return tls::ServerContext::create(*cfg, std::move(tickets));
}

std::vector<int> affinity_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<int> cpus;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    for (int i = 0; i < CPU_SETSIZE; ++i) {
      if (CPU_ISSET(i, &set)) cpus.push_back(i);
    }
  }
  return cpus;
}

}  // namespace ringchat::app
