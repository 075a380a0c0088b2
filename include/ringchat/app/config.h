#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ringchat/chat/shard.h"
#include "ringchat/core/result.h"

namespace ringchat::app {

// Everything the command line, a config file and RINGCHAT_* variables can set.
struct Config {
  chat::ShardConfig shard;
  unsigned threads = 0;  // 0: one shard per CPU of the affinity mask
  std::string log_level = "info";
  std::string log_format = "text";  // text, logfmt or json (obs::Format)
  std::string access_log;           // a path, "-" for stderr; empty: off
  // Credentials as given (shard.gate is built from them after parsing).
  struct Auth {
    std::string jwt_secret, jwt_secret_file, jwt_public_key, jwt_audience, jwt_issuer;
    std::string api_key, api_key_file, origins;
    int64_t clock_skew_s = 30;
  } auth;
  // TLS files as given (shard.tls is built from them after parsing).
  struct Tls {
    std::vector<std::string> certs, keys;  // paired in order; the first is the default
    std::string ciphers;
    uint32_t ticket_rotate_s = 12 * 3600;
  } tls;
  // Cluster mode as given (shard.redis is built from them after parsing).
  struct Redis {
    std::string url, password_file;
    std::string cluster;  // --redis-cluster: host:port[,host:port...]
  } redis;
  // Every option's effective value, in declaration order, for the start
  // event: flags, then files, environment and defaults as they applied.
  // Secrets (--jwt-secret, --api-key, any *secret*, *password*, *api-key*,
  // *token* option but a *-file path) are "<set>" or "<unset>", never
  // their value.
  struct Setting {
    enum class Kind : uint8_t { kText, kNumber, kBool };
    std::string name;  // the long flag without "--": "max-message"
    std::string value;
    Kind kind = Kind::kText;
  };
  std::vector<Setting> settings;
};

// Whether the option `name` (long flag without "--") holds a secret that
// must never be printed.
bool is_secret_option(std::string_view name);

// How parsing ended when it did not produce a Config.
struct ParseExit {
  int code;             // 0 for --help/--version, 2 for a bad flag or value
  std::string message;  // what to print (stdout for code 0, stderr otherwise)
};

// Parses argv (precedence: flags, then --config FILE, then RINGCHAT_* env).
// Every option is declared once, with its default, bounds and help text.
Result<Config, ParseExit> parse_config(int argc, const char* const* argv);

// The certificate and key files --tls-cert and --tls-key name, in order:
// each certificate file with the --tls-key in the same place among the
// files; each directory as the NAME.crt or NAME.pem in it that have a
// NAME.key, by name. Read again at each load (a SIGHUP sees new files).
Result<std::vector<tls::CertFiles>, std::string> tls_cert_files(const Config::Tls& t);

// The TLS context of `t` (null without --tls-cert), or why it cannot be
// made; at start, and again on SIGHUP (keeping `tickets`).
Result<std::shared_ptr<const tls::ServerContext>, std::string> load_tls(
    const Config::Tls& t, std::shared_ptr<tls::TicketKeys> tickets = nullptr);

// CPUs of the process's affinity mask, in order.
std::vector<int> affinity_cpus();

}  // namespace ringchat::app
