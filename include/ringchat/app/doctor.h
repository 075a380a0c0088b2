#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ringchat/app/config.h"

// `ringchat doctor`: the kernel and process limits that bound the server,
// judged against what a configuration needs. gather() reads the machine;
// evaluate() is pure, so tests feed it fabricated facts.
namespace ringchat::app::doctor {

enum class Verdict : uint8_t { kOk, kWarn, kFail };
std::string_view to_string(Verdict v);  // "ok", "warn", "fail"

inline constexpr uint64_t kUnlimited = UINT64_MAX;  // RLIM_INFINITY
struct Rlimit {
  uint64_t soft = 0, hard = 0;
};

// What the machine offers. An empty optional: its source could not be read
// (an absent sysctl, a kernel too old to have it).
struct Facts {
  std::string kernel;  // uname release, "6.1.0-18-amd64"
  unsigned kernel_major = 0, kernel_minor = 0;
  uint64_t page_size = 4096;
  std::optional<Rlimit> nofile, memlock;  // before doctor raises its own soft limit
  std::optional<uint64_t> nr_open, file_max;
  std::optional<uint64_t> somaxconn, syn_backlog, syncookies;
  std::optional<std::array<uint64_t, 2>> port_range;
  std::optional<std::array<uint64_t, 3>> tcp_rmem, tcp_wmem;  // bytes: min, default, max
  std::optional<std::array<uint64_t, 3>> tcp_mem;             // pages: low, pressure, max
  std::optional<uint64_t> rmem_max, wmem_max;
  // A ring set up as a shard sets up its own (core::Reactor::init with the
  // shard's options and direct-descriptor table), then used as a shard uses it.
  struct Ring {
    std::optional<uint64_t> disabled;  // kernel.io_uring_disabled (Linux 6.6+)
    bool created = false;
    std::string setup;                     // the setup the reactor got, or the call that failed
    int error = 0;                         // that call's errno when !created
    bool full_setup = false;               // SINGLE_ISSUER and DEFER_TASKRUN
    uint32_t features = 0;                 // IORING_FEAT_*
    std::vector<std::string> missing_ops;  // names from core::kRingOps, "NAME (since)"
    bool recv_ok = false;     // a multishot recv into the buffer ring on a direct descriptor
    std::string recv_detail;  // what it delivered, or how it failed
  } ring;
  unsigned online_cpus = 0;
  std::vector<int> affinity;  // sched_getaffinity: where the shards would run
  std::vector<int> isolated;  // /sys/devices/system/cpu/isolated
};

// What a configuration asks of the machine.
struct Needs {
  uint64_t target_conns = 10000;
  bool target_given = false;  // by --target-conns or --max-conns, not the default
  unsigned shards = 1;
  bool threads_given = false;       // --threads, not one per CPU
  uint64_t rcvbuf = 0, sndbuf = 0;  // 0: autotuning
  unsigned listen_backlog = 0;
  uint64_t ring_bytes = 0;  // what one shard's ring and buffer ring pin
};

// The connections doctor judges for when --target-conns is not given.
inline constexpr uint64_t kDefaultTarget = 10000;

// `target_conns` 0: --max-conns if set, else kDefaultTarget.
Needs needs_for(const Config& cfg, const Facts& facts, uint64_t target_conns);

struct Finding {
  std::string name;  // the limit: "RLIMIT_NOFILE", "net.core.somaxconn", ...
  std::string seen;
  std::string need;
  Verdict verdict = Verdict::kOk;
  std::string fix;  // a command, a unit line or a flag; empty when ok
};

// One finding per limit, in a fixed order; io_uring findings beyond the
// ring's setup are left out when no ring could be made. Pure.
std::vector<Finding> evaluate(const Facts& facts, const Needs& needs);
// The worst verdict (kOk for none).
Verdict overall(const std::vector<Finding>& findings);

// One aligned line per finding, verdict first, then a summary line.
std::string to_text(const Facts& facts, const Needs& needs, const std::vector<Finding>& findings);
// {"kernel":..., "target_conns":..., "shards":..., "findings":[{"name","verdict",
// "seen","need","fix"}...], "verdict":"ok|warn|fail"}
std::string to_json(const Facts& facts, const Needs& needs, const std::vector<Finding>& findings);

// Reads the machine: sysctls from /proc/sys, rlimits, CPUs, and an io_uring
// set up and used the way a shard does. Raises this process's soft
// RLIMIT_NOFILE to the hard one, as the server does, to size the ring's table.
// Thread: any; the ring it makes lives and dies inside the call.
Facts gather();

// "0-3,8" for {0,1,2,3,8}; "none" for {}. And back (a bad list: empty).
std::string cpu_list(const std::vector<int>& cpus);
std::vector<int> parse_cpu_list(std::string_view s);
// `s` as a JSON string body (quotes, backslashes, control bytes escaped).
std::string json_escape(std::string_view s);

// `ringchat doctor [server flags] [--target-conns N] [--json]`, argv[0] being
// "doctor". Returns the exit status: 0 with no `fail`, 1 with one, 2 for a
// bad flag (0 for --help).
int run(int argc, char** argv);

}  // namespace ringchat::app::doctor
