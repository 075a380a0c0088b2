// ringchat: parse the configuration, start one shard per CPU, wait for
// SIGTERM or SIGINT, drain, exit (0; 1 when a second signal cut the drain
// short). `ringchat doctor` checks the machine instead.
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string_view>

#include "app/allocator.h"
#include "ringchat/app/config.h"
#include "ringchat/app/doctor.h"
#include "ringchat/app/server.h"
#include "ringchat/obs/log.h"

using namespace ringchat;

namespace {

obs::Level level_of(const std::string& s) {
  if (s == "debug") return obs::Level::kDebug;
  if (s == "warn") return obs::Level::kWarn;
  if (s == "error") return obs::Level::kError;
  return obs::Level::kInfo;
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
  obs::set_level(level_of(cfg.log_level));

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

  app::Server server(cfg.shard);
  server.set_allocator(app::allocator_hooks());
  auto port = server.start();
  if (!port) {
    RC_ERROR("cannot start: %s", port.error().c_str());
    return 1;
  }
  std::string ports = std::to_string(*port);
  if (cfg.shard.tls && cfg.shard.plain) ports += ", TLS on " + std::to_string(server.tls_port());
  if (!cfg.shard.plain) ports = std::to_string(server.tls_port()) + " (TLS)";
  RC_INFO(
      "ringchat listening on %s:%s with %u shards; RLIMIT_NOFILE %llu, capacity %llu "
      "connections (%u per shard); %s",
      cfg.shard.bind.c_str(), ports.c_str(), cfg.shard.shards,
      static_cast<unsigned long long>(nofile),
      static_cast<unsigned long long>(cfg.shard.max_connections_per_shard) * cfg.shard.shards,
      cfg.shard.max_connections_per_shard, allocator.c_str());

  int sig = 0;
  while (sigwait(&sigs, &sig) == 0 && sig == SIGHUP) {
    // The TLS files again: new connections get them, open ones keep theirs;
    // a file that does not load leaves the old ones in place.
    if (!cfg.shard.tls) {
      RC_INFO("SIGHUP: no TLS certificates to reload");
      continue;
    }
    auto ctx = app::load_tls(cfg.tls, server.tls()->shared_tickets());
    if (!ctx) {
      RC_ERROR("SIGHUP: TLS certificates not reloaded, the old ones stay: %s", ctx.error().c_str());
      continue;
    }
    server.set_tls(std::move(*ctx));
    RC_INFO("SIGHUP: TLS certificates reloaded (%zu)", cfg.tls.certs.size());
  }
  RC_INFO("%s: draining (within --drain-timeout %u ms; a second SIGTERM or SIGINT exits at once)",
          sig == SIGTERM ? "SIGTERM" : "SIGINT", cfg.shard.drain_timeout_ms);
  server.stop();
  // The shards drain; signals are still ours. A second SIGTERM or SIGINT
  // cuts the drain short: exit 1 at once, whatever is still open.
  while (!server.stopped()) {
    const timespec tick{0, 20'000'000};  // how often to look whether the shards are done
    sig = sigtimedwait(&sigs, nullptr, &tick);
    if (sig == SIGTERM || sig == SIGINT) {
      RC_WARN("second %s during the drain: exiting at once (status 1)",
              sig == SIGTERM ? "SIGTERM" : "SIGINT");
      std::_Exit(1);
    }
    if (sig == SIGHUP) RC_INFO("SIGHUP during the drain: ignored");
  }
  server.wait();
  RC_INFO("stopped");
  return 0;
}
