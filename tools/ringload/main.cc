// ringload: an io_uring WebSocket load generator for /ws/{room} servers.
//
// Scenarios, one line each (see README.md for every flag):
// clang-format off
//   echo       ringload --mode echo -c 100 --size 20 --steady 10               # server CPU per message
//   fan-out    ringload --mode fanout -c 100 --rooms 1 --steady 10             # deliveries/s, 100 x 100 per round
//   rate       ringload --mode rate -c 1000 --rooms 10 --rate 5 --steady 30    # p99 at a fixed offered load
//   idle       ringload --mode idle -c 10000 --steady 10 --cpus 1              # memory per idle connection
//   ramp       ringload --mode rate -c 5000 --ramp 10 --connect-rate 500 --steady 30
//   spike      ringload --mode rate -c 1000 --steady 20 --spike 10 --spike-mult 5
//   soak       ringload --mode rate -c 2000 --rate 1 --soak 14400 --json soak.json
//   wss        ringload --tls --tls-ca ca.pem --url wss://localhost:8443/ws/ --mode echo -c 100
//   handshake  ringload --tls --url wss://localhost:8443/ws/ --mode handshake -c 8 [--tls-resume]  # handshakes/s
//   rolling    ringload --rolling-server build/ringchat --rolling-args "--pub-rate 0" --mode rate -c 200 --steady 10  # reconnect curve, lost silently vs told
// clang-format on
#include <signal.h>
#include <sys/resource.h>

#include <atomic>
#include <cstdio>

#include "report.h"
#include "runner.h"
#include "scenario.h"

namespace {

std::atomic<bool> g_interrupted{false};

void on_sigint(int) {
  if (g_interrupted.exchange(true)) _exit(130);
}

// The fd limit bounds how many direct descriptors one ring may register.
void raise_nofile() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

}  // namespace

int main(int argc, char** argv) {
  using namespace ringchat::ringload;
  auto scenario = parse_args(argc, argv);
  if (!scenario) {
    if (scenario.error().empty()) return 0;
    std::fprintf(stderr, "ringload: %s\n", scenario.error().c_str());
    return 2;
  }
  raise_nofile();
  struct sigaction sa {};
  sa.sa_handler = on_sigint;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
  Runner runner(*scenario, g_interrupted);
  auto report = runner.run();
  if (!report) {
    std::fprintf(stderr, "ringload: %s\n", report.error().c_str());
    return 2;
  }
  print_summary(*report, *scenario, stdout);
  if (!scenario->json_path.empty() && !write_json(*report, *scenario, scenario->json_path)) {
    std::fprintf(stderr, "ringload: cannot write %s\n", scenario->json_path.c_str());
  }
  if (!scenario->html_path.empty() && !write_html(*report, *scenario, scenario->html_path)) {
    std::fprintf(stderr, "ringload: cannot write %s\n", scenario->html_path.c_str());
  }
  const bool failed = !report->failures().empty();
  return failed ? 1 : 0;
}
