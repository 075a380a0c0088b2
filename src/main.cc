// ringchat: parse the configuration, start one shard per CPU, wait for
// SIGTERM or SIGINT, drain, exit (0; 1 when a second signal cut the drain
// short). `ringchat doctor` checks the machine instead.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string_view>

#include "app/allocator.h"
#include "ringchat/app/about.h"
#include "ringchat/app/config.h"
#include "ringchat/app/doctor.h"
#include "ringchat/app/server.h"
#include "ringchat/obs/log.h"
#include "ringchat/obs/metrics.h"

using namespace ringchat;

namespace {

// event=start: every option's effective value (secrets masked).
void log_start(const app::Config& cfg) {
  if (!obs::enabled(obs::Level::kInfo)) return;
  obs::Line line(obs::Level::kInfo, "ringchat 0.1.0 starting");
  line.kv("event", "start");
  for (const app::Config::Setting& s : cfg.settings) {
    using Kind = app::Config::Setting::Kind;
    if (s.kind == Kind::kBool) {
      line.kv(s.name, s.value == "true");
    } else if (s.kind == Kind::kNumber) {
      char* end = nullptr;
      const long long n = std::strtoll(s.value.c_str(), &end, 10);
      if (*end == '\0') {
        line.kv(s.name, n);
      } else {
        line.kv(s.name, s.value);
      }
    } else {
      line.kv(s.name, s.value);
    }
  }
}

// The shard -> CPU layout: "0,1" (shard i on the i-th CPU; "-": unpinned),
// as app::Server pins them.
std::string shard_cpus(const chat::ShardConfig& s) {
  std::string out;
  for (unsigned i = 0; i < s.shards; ++i) {
    if (i > 0) out += ',';
    out += s.cpus.empty() ? "-" : std::to_string(s.cpus[i % s.cpus.size()]);
  }
  return out;
}

// Opens --access-log (O_APPEND: each line is one write(2), appended whole
// by every shard); false after logging why not.
bool open_access_log(const std::string& path) {
  if (path.empty()) return true;
  if (path == "-") {
    obs::set_access_fd(2);
    return true;
  }
  const int fd = open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) {
    const int err = errno;
    RC_ERROR("cannot open --access-log %s", path.c_str())
        .kv("event", "start_failed")
        .kv("path", path)
        .err(err);
    return false;
  }
  obs::set_access_fd(fd);
  return true;
}

// SIGHUP: --access-log opened again by its name (logrotate moved the file).
// dup2 swaps the file behind the fd the shards write to in one step, so a
// line goes whole to the old file or the new one; a failure keeps the old.
void reopen_access_log(const std::string& path) {
  const int current = obs::access_fd();
  if (path.empty() || path == "-" || current < 0) return;
  const int fd = open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0 || dup3(fd, current, O_CLOEXEC) < 0) {
    const int err = errno;
    RC_ERROR("SIGHUP: --access-log %s not reopened, lines go to the old file", path.c_str())
        .kv("event", "access_log_reopen_failed")
        .kv("path", path)
        .err(err);
  } else {
    RC_INFO("SIGHUP: --access-log %s reopened", path.c_str())
        .kv("event", "access_log_reopen")
        .kv("path", path);
  }
  if (fd >= 0) close(fd);
}

}  // namespace

int main(int argc, char** argv) {
  // `ringchat doctor [flags]`: judge the machine for this configuration,
  // start nothing.
  if (argc > 1 && std::string_view(argv[1]) == "doctor")
    return app::doctor::run(argc - 1, argv + 1);
  const std::string allocator = app::configure_allocator();
  auto parsed = app::parse_config(argc, argv);
  if (!parsed) {
    std::fprintf(parsed.error().code == 0 ? stdout : stderr, "%s\n",
                 parsed.error().message.c_str());
    return parsed.error().code;
  }
  app::Config cfg = *parsed;
  obs::set_level(obs::level_named(cfg.log_level).value_or(obs::Level::kInfo));
  obs::set_format(obs::format_named(cfg.log_format).value_or(obs::Format::kText));
  log_start(cfg);
  if (!open_access_log(cfg.access_log)) return 1;

  // Signals go to this thread only: block them before any shard exists.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  signal(SIGPIPE, SIG_IGN);

  const uint64_t nofile = app::raise_nofile_limit();
  cfg.shard.cpus = app::affinity_cpus();
  cfg.shard.shards = app::shard_count(cfg.threads, cfg.shard.cpus);
  // Direct descriptors live in each ring's table, not the process fd table:
  // each shard can hold up to RLIMIT_NOFILE connections of its own.
  cfg.shard.max_connections_per_shard = app::connections_per_shard(nofile);

  // GET /stats: the build, this configuration and doctor's verdicts on it.
  cfg.shard.about = app::about_json(cfg);

  app::Server server(cfg.shard);
  server.set_allocator(app::allocator_hooks());
  auto port = server.start();
  if (!port) {
    RC_ERROR("cannot start: %s", port.error().c_str())
        .kv("event", "start_failed")
        .kv("error", port.error());
    return 1;
  }
  // One line per listener ("listening on ADDR:PORT": scripts wait for it).
  if (cfg.shard.plain) {
    RC_INFO("ringchat listening on %s:%u", cfg.shard.bind.c_str(), unsigned{*port})
        .kv("event", "listen")
        .kv("addr", cfg.shard.bind)
        .kv("port", *port)
        .kv("transport", "plain");
  }
  if (cfg.shard.tls) {
    RC_INFO("ringchat listening on %s:%u (TLS)", cfg.shard.bind.c_str(),
            unsigned{server.tls_port()})
        .kv("event", "listen")
        .kv("addr", cfg.shard.bind)
        .kv("port", server.tls_port())
        .kv("transport", "tls");
  }
  const unsigned long long capacity =
      static_cast<unsigned long long>(cfg.shard.max_connections_per_shard) * cfg.shard.shards;
  const std::string cpus = shard_cpus(cfg.shard);
  RC_INFO("%u shards on CPUs %s; RLIMIT_NOFILE %llu, capacity %llu connections (%u per shard); %s",
          cfg.shard.shards, cpus.c_str(), static_cast<unsigned long long>(nofile), capacity,
          cfg.shard.max_connections_per_shard, allocator.c_str())
      .kv("event", "shards")
      .kv("shards", cfg.shard.shards)
      .kv("shard_cpus", cpus)
      .kv("rlimit_nofile", nofile)
      .kv("capacity", capacity)
      .kv("conns_per_shard", cfg.shard.max_connections_per_shard)
      .kv("allocator", allocator);

  int sig = 0;
  while (sigwait(&sigs, &sig) == 0 && sig == SIGHUP) {
    reopen_access_log(cfg.access_log);
    // The TLS files again: new connections get them, open ones keep theirs;
    // a file that does not load leaves the old ones in place.
    if (!cfg.shard.tls) {
      RC_INFO("SIGHUP: no TLS certificates to reload");
      continue;
    }
    auto ctx = app::load_tls(cfg.tls, server.tls()->shared_tickets());
    if (!ctx) {
      RC_ERROR("SIGHUP: TLS certificates not reloaded, the old ones stay: %s", ctx.error().c_str())
          .kv("event", "tls_reload_failed")
          .kv("error", ctx.error());
      continue;
    }
    server.set_tls(std::move(*ctx));
    RC_INFO("SIGHUP: TLS certificates reloaded (%zu)", cfg.tls.certs.size())
        .kv("event", "tls_reload")
        .kv("certs", cfg.tls.certs.size());
  }
  const char* signame = sig == SIGTERM ? "SIGTERM" : "SIGINT";
  RC_INFO("%s: draining (within --drain-timeout %u ms; a second SIGTERM or SIGINT exits at once)",
          signame, cfg.shard.drain_timeout_ms)
      .kv("event", "drain_start")
      .kv("signal", signame)
      .kv("connections", server.metrics().total(obs::Metric::kConnectionsOpen))
      .kv("drain_timeout_ms", cfg.shard.drain_timeout_ms);
  server.stop();
  // The shards drain; signals are still ours. A second SIGTERM or SIGINT
  // cuts the drain short: exit 1 at once, whatever is still open.
  while (!server.stopped()) {
    const timespec tick{0, 20'000'000};  // how often to look whether the shards are done
    sig = sigtimedwait(&sigs, nullptr, &tick);
    if (sig == SIGTERM || sig == SIGINT) {
      RC_WARN("second %s during the drain: exiting at once (status 1)",
              sig == SIGTERM ? "SIGTERM" : "SIGINT")
          .kv("event", "drain_cut")
          .kv("signal", sig == SIGTERM ? "SIGTERM" : "SIGINT")
          .kv("connections_left", server.metrics().total(obs::Metric::kConnectionsOpen));
      std::_Exit(1);
    }
    if (sig == SIGHUP) RC_INFO("SIGHUP during the drain: ignored");
  }
  server.wait();
  RC_INFO("stopped")
      .kv("event", "drain_end")
      .kv("connections_left", server.metrics().total(obs::Metric::kConnectionsOpen));
  return 0;
}
