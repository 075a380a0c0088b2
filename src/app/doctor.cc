// `ringchat doctor`, the judging half: what a configuration needs, each
// limit against it, and the two ways of printing the findings. Pure: the
// facts come from doctor_system.cc, or from a test.
#include "ringchat/app/doctor.h"

#include <liburing.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>

#include "ringchat/app/server.h"
#include "ringchat/core/reactor.h"
#include "ringchat/net/listener.h"

namespace ringchat::app::doctor {

namespace {

std::string num(uint64_t v) { return v == kUnlimited ? "unlimited" : std::to_string(v); }

// 1536 -> "1.5 KiB"; exact below 1 KiB.
std::string bytes(uint64_t v) {
  if (v == kUnlimited) return "unlimited";
  if (v < 1024) return std::to_string(v) + " B";
  static const char* const kUnits[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  double d = static_cast<double>(v) / 1024;
  size_t u = 0;
  while (d >= 1024 && u + 1 < std::size(kUnits)) {
    d /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof(buf), d < 10 ? "%.1f %s" : "%.0f %s", d, kUnits[u]);
  return buf;
}

std::string shards(unsigned n) { return std::to_string(n) + (n == 1 ? " shard" : " shards"); }

uint64_t pow2_at_least(uint64_t v) {
  uint64_t p = 1;
  while (p < v && p < (uint64_t{1} << 62)) p <<= 1;
  return p;
}

uint64_t ceil_div(uint64_t a, uint64_t b) { return b ? (a + b - 1) / b : a; }
// The need plus a quarter: connections do not spread evenly over shards,
// and other processes hold files too.
uint64_t with_headroom(uint64_t v) { return v + ceil_div(v, 4); }

Finding make(std::string name, std::string seen, std::string need, Verdict v, std::string fix) {
  if (v == Verdict::kOk) fix.clear();
  return Finding{std::move(name), std::move(seen), std::move(need), v, std::move(fix)};
}

Finding unknown(std::string name, const char* source, std::string need) {
  return make(std::move(name), std::string("unknown (cannot read ") + source + ")", std::move(need),
              Verdict::kWarn, "");
}

// ok at or above `good`, warn at or above `enough`, fail below.
Verdict grade(uint64_t have, uint64_t good, uint64_t enough) {
  if (have >= good) return Verdict::kOk;
  return have >= enough ? Verdict::kWarn : Verdict::kFail;
}

bool kernel_at_least(const Facts& f, unsigned major, unsigned minor) {
  return f.kernel_major > major || (f.kernel_major == major && f.kernel_minor >= minor);
}

// Direct descriptors live in each shard's ring table, which the kernel caps
// at RLIMIT_NOFILE: the hard limit (the server raises its soft limit to it)
// bounds each shard, not the process.
Finding check_nofile(const Facts& f, const Needs& n) {
  const uint64_t per_shard = ceil_div(n.target_conns, n.shards);
  const uint64_t want = with_headroom(per_shard);
  std::string need = ">= " + num(want) + " per shard (" + num(n.target_conns) + " conns / " +
                     shards(n.shards) + " + 25%)";
  if (per_shard > kMaxTable) {
    const uint64_t more = ceil_div(with_headroom(n.target_conns), kMaxTable);
    return make(
        "RLIMIT_NOFILE", f.nofile ? "hard " + num(f.nofile->hard) : "unknown",
        need + ", over a ring's " + num(kMaxTable), Verdict::kFail,
        "--threads " + std::to_string(more) + " (a shard holds at most " + num(kMaxTable) + ")");
  }
  if (!f.nofile) return unknown("RLIMIT_NOFILE", "getrlimit", need);
  const uint64_t cap = connections_per_shard(f.nofile->hard);
  const uint64_t v = std::min<uint64_t>(pow2_at_least(want), kMaxTable);
  return make("RLIMIT_NOFILE",
              "hard " + num(f.nofile->hard) + " (soft " + num(f.nofile->soft) +
                  "): " + num(cap * n.shards) + " conns",
              need, grade(cap, want, per_shard),
              "ulimit -Hn " + num(v) + "; ulimit -n " + num(v) +
                  " (as root), or LimitNOFILE=" + num(v) + " in the systemd unit");
}

// fs.nr_open caps what RLIMIT_NOFILE can be raised to.
Finding check_nr_open(const Facts& f, const Needs& n) {
  const uint64_t per_shard = std::min<uint64_t>(ceil_div(n.target_conns, n.shards), kMaxTable);
  const uint64_t want = std::min<uint64_t>(with_headroom(per_shard), kMaxTable);
  std::string need = ">= " + num(want) + " (caps RLIMIT_NOFILE)";
  if (!f.nr_open) return unknown("fs.nr_open", "/proc/sys/fs/nr_open", need);
  return make("fs.nr_open", num(*f.nr_open), need, grade(*f.nr_open, want, per_shard),
              "sysctl -w fs.nr_open=" + num(pow2_at_least(want)));
}

// A direct descriptor is still an open file of the system.
Finding check_file_max(const Facts& f, const Needs& n) {
  const uint64_t want = with_headroom(n.target_conns);
  std::string need = ">= " + num(want) + " (each connection is an open file)";
  if (!f.file_max) return unknown("fs.file-max", "/proc/sys/fs/file-max", need);
  return make("fs.file-max", num(*f.file_max), need, grade(*f.file_max, want, n.target_conns),
              "sysctl -w fs.file-max=" + num(pow2_at_least(want)));
}

// Before Linux 5.12 io_uring charged ring memory to RLIMIT_MEMLOCK; since
// then the memory cgroup, and the buffer ring's pinned page is not charged.
Finding check_memlock(const Facts& f, const Needs& n) {
  const uint64_t want = n.ring_bytes * n.shards;
  const bool charged = !kernel_at_least(f, 5, 12);
  std::string need = ">= " + bytes(want) + (charged ? " (rings of " : " before Linux 5.12 (") +
                     shards(n.shards) + ")";
  if (!f.memlock) return unknown("RLIMIT_MEMLOCK", "getrlimit", need);
  const bool enough = f.memlock->soft == kUnlimited || f.memlock->soft >= want;
  const uint64_t kib = ceil_div(want, 1024);
  return make("RLIMIT_MEMLOCK", bytes(f.memlock->soft),
              charged ? need : need + "; not charged here",
              enough || !charged ? Verdict::kOk : Verdict::kFail,
              "ulimit -l " + num(kib) + ", or LimitMEMLOCK=" + num(kib) + "K in the systemd unit");
}

// listen() silently caps its backlog at somaxconn: a burst of connects
// (every client reconnecting after a restart) overflows a short queue.
Finding check_somaxconn(const Facts& f, const Needs& n) {
  std::string need = ">= " + std::to_string(n.listen_backlog) + " (the listen backlog)";
  if (!f.somaxconn) return unknown("net.core.somaxconn", "/proc/sys/net/core/somaxconn", need);
  return make("net.core.somaxconn", num(*f.somaxconn), need,
              *f.somaxconn >= n.listen_backlog ? Verdict::kOk : Verdict::kWarn,
              "sysctl -w net.core.somaxconn=" + std::to_string(n.listen_backlog));
}

// The SYN queue limit only drops handshakes when syncookies are off; with
// them a full queue answers with cookies instead.
Finding check_syn_backlog(const Facts& f, const Needs& n) {
  const char* name = "net.ipv4.tcp_max_syn_backlog";
  std::string need = ">= " + std::to_string(n.listen_backlog) + " while tcp_syncookies=0";
  if (!f.syn_backlog) return unknown(name, "/proc/sys/net/ipv4/tcp_max_syn_backlog", need);
  const bool cookies = f.syncookies && *f.syncookies != 0;
  std::string seen = num(*f.syn_backlog) + " (tcp_syncookies " +
                     (f.syncookies ? num(*f.syncookies) : std::string("unknown")) + ")";
  return make(name, seen, need,
              cookies || *f.syn_backlog >= n.listen_backlog ? Verdict::kOk : Verdict::kWarn,
              "sysctl -w net.ipv4.tcp_max_syn_backlog=" + std::to_string(n.listen_backlog));
}

// Only outgoing connections take a local port: a load generator on one
// address reaches at most this many connections to one server port.
Finding check_port_range(const Facts& f, const Needs& n) {
  const char* name = "net.ipv4.ip_local_port_range";
  std::string need = ">= " + num(n.target_conns) + " ports to load-test from one address";
  if (!f.port_range) return unknown(name, "/proc/sys/net/ipv4/ip_local_port_range", need);
  const auto [lo, hi] = *f.port_range;
  const uint64_t ports = hi >= lo ? hi - lo + 1 : 0;
  std::string fix = "sysctl -w net.ipv4.ip_local_port_range=\"1024 65535\"";
  if (n.target_conns > 65535 - 1024 + 1) fix += "; load from several client addresses";
  return make(name, num(lo) + "-" + num(hi) + " (" + num(ports) + " ports)", need,
              ports >= n.target_conns ? Verdict::kOk : Verdict::kWarn, fix);
}

// TCP memory of all sockets is bounded by tcp_mem (pages); a connection
// that fills its default buffers (tcp_rmem, tcp_wmem middle values) holds
// their sum. Idle connections hold none, so short of it is a warning.
Finding check_tcp_mem(const Facts& f, const Needs& n) {
  const char* name = "net.ipv4.tcp_mem";
  if (!f.tcp_rmem || !f.tcp_wmem) {
    return unknown(name, "/proc/sys/net/ipv4/tcp_rmem, tcp_wmem",
                   "each connection's tcp_rmem+tcp_wmem defaults");
  }
  const uint64_t per_conn = (*f.tcp_rmem)[1] + (*f.tcp_wmem)[1];
  const uint64_t want = per_conn * n.target_conns;
  std::string need = ">= " + bytes(want) + ": " + num(n.target_conns) +
                     " x tcp_rmem+tcp_wmem defaults " + bytes(per_conn);
  if (!f.tcp_mem) return unknown(name, "/proc/sys/net/ipv4/tcp_mem", need);
  const uint64_t max_bytes = (*f.tcp_mem)[2] * f.page_size;
  const uint64_t pages = ceil_div(want, f.page_size);
  return make(name, "max " + bytes(max_bytes) + " (" + num((*f.tcp_mem)[2]) + " pages)", need,
              max_bytes >= want ? Verdict::kOk : Verdict::kWarn,
              "sysctl -w net.ipv4.tcp_mem=\"" + num(pages / 2) + " " + num(pages / 3 * 2) + " " +
                  num(pages) + "\" (RAM permitting)");
}

// setsockopt(SO_RCVBUF/SO_SNDBUF) is silently capped at rmem_max/wmem_max.
Finding check_buf_max(const char* name, const char* flag, const std::optional<uint64_t>& have,
                      uint64_t want) {
  std::string need = want ? ">= " + num(want) + " (" + flag + ")"
                          : std::string("any (") + flag + " 0: autotuning)";
  if (!have) return unknown(name, "/proc/sys/net/core", need);
  return make(name, num(*have), need, *have >= want ? Verdict::kOk : Verdict::kWarn,
              std::string("sysctl -w ") + name + "=" + num(want));
}

constexpr const char* kNewKernel = "Linux 6.1 or later";

// kernel.io_uring_disabled (6.6+): 1 lets only io_uring_group (and
// CAP_SYS_ADMIN) make rings, 2 nobody.
Finding check_uring_disabled(const Facts& f) {
  const char* name = "kernel.io_uring_disabled";
  const std::string need = "0 (1: only for io_uring_group)";
  const std::string fix = "sysctl -w kernel.io_uring_disabled=0";
  if (!f.ring.disabled) return make(name, "absent (before Linux 6.6)", need, Verdict::kOk, "");
  const uint64_t d = *f.ring.disabled;
  const bool ok = d == 0 || (d == 1 && f.ring.created);
  return make(name, num(d) + (d == 1 && f.ring.created ? " (this user may)" : ""), need,
              ok ? Verdict::kOk : Verdict::kFail, fix);
}

// The ring a shard makes: SINGLE_ISSUER and DEFER_TASKRUN (6.1) run
// completions only when the shard asks, on its own thread; the reactor
// steps down to COOP_TASKRUN, then to a plain ring, on older kernels.
Finding check_ring_setup(const Facts& f) {
  const char* name = "io_uring setup";
  const std::string need = "SINGLE_ISSUER+DEFER_TASKRUN (6.1+)";
  if (f.ring.created) {
    return make(name, f.ring.setup, need, f.ring.full_setup ? Verdict::kOk : Verdict::kWarn,
                kNewKernel);
  }
  std::string fix = kNewKernel;
  if (f.ring.error == EPERM) {
    fix = "sysctl -w kernel.io_uring_disabled=0; in a container, allow io_uring in seccomp";
  } else if (f.ring.error == ENOMEM) {
    fix = "ulimit -l unlimited, or LimitMEMLOCK=infinity in the systemd unit";
  } else if (f.ring.error == EMFILE || f.ring.error == ENFILE) {
    fix = "raise RLIMIT_NOFILE (above)";
  }
  return make(name, f.ring.setup + ": " + std::strerror(f.ring.error), need, Verdict::kFail, fix);
}

Finding check_ring_ops(const Facts& f) {
  std::string seen = "all supported";
  if (!f.ring.missing_ops.empty()) {
    seen = "missing";
    for (const std::string& op : f.ring.missing_ops) seen += " " + op;
  }
  return make("io_uring opcodes", seen,
              "the " + std::to_string(std::size(core::kRingOps)) + " the shards submit",
              f.ring.missing_ops.empty() ? Verdict::kOk : Verdict::kFail, kNewKernel);
}

Finding check_ring_features(const Facts& f) {
  std::string seen, need, missing;
  for (const core::RingFeature& x : core::kRingFeatures) {
    need += (need.empty() ? "" : " ") + std::string(x.name);
    if (f.ring.features & x.flag) {
      seen += (seen.empty() ? "" : " ") + std::string(x.name);
    } else {
      missing += " " + std::string(x.name);
    }
  }
  if (!missing.empty()) seen = "missing" + missing;
  return make("io_uring features", seen, need, missing.empty() ? Verdict::kOk : Verdict::kWarn,
              kNewKernel);
}

// A connection's receive as the shards arm it: multishot (6.0), into the
// provided-buffer ring, on a direct descriptor.
Finding check_recv(const Facts& f) {
  return make("io_uring multishot recv", f.ring.recv_detail,
              "multishot recv, buffer ring, direct descriptor (6.0+)",
              f.ring.recv_ok ? Verdict::kOk : Verdict::kFail, kNewKernel);
}

// A shard per CPU of the affinity mask; more shards than CPUs share cores
// and lose what thread-per-core is for.
Finding check_cpus(const Facts& f, const Needs& n) {
  const size_t cpus = f.affinity.size();
  std::string seen = std::to_string(cpus) + " in affinity mask " + cpu_list(f.affinity) + " (" +
                     std::to_string(f.online_cpus) + " online)";
  std::string need = shards(n.shards) + ", a CPU each" + (n.threads_given ? " (--threads)" : "");
  const bool ok = cpus == 0 || n.shards <= cpus;
  return make("CPUs", seen, need, ok ? Verdict::kOk : Verdict::kWarn,
              "--threads " + std::to_string(std::max<size_t>(cpus, 1)) +
                  ", or start it with taskset -c on more CPUs");
}

// CPUs taken out of the scheduler's hands (isolcpus=) are where a shard
// runs undisturbed; a default affinity mask leaves them out.
Finding check_isolation(const Facts& f, const Needs&) {
  const char* name = "CPU isolation";
  const std::string need = "shards on isolated CPUs (optional)";
  if (f.isolated.empty()) return make(name, "none isolated", need, Verdict::kOk, "");
  std::vector<int> on, off;
  for (int c : f.affinity) {
    (std::find(f.isolated.begin(), f.isolated.end(), c) != f.isolated.end() ? on : off)
        .push_back(c);
  }
  std::string seen = "isolated " + cpu_list(f.isolated) + ", mask " + cpu_list(f.affinity);
  return make(name, seen, need, off.empty() && !on.empty() ? Verdict::kOk : Verdict::kWarn,
              "taskset -c " + cpu_list(f.isolated) + " ringchat ...");
}

}  // namespace

std::string_view to_string(Verdict v) {
  switch (v) {
    case Verdict::kOk:
      return "ok";
    case Verdict::kWarn:
      return "warn";
    case Verdict::kFail:
      return "fail";
  }
  return "fail";
}

Needs needs_for(const Config& cfg, const Facts& facts, uint64_t target_conns) {
  Needs n;
  n.target_given = target_conns != 0 || cfg.shard.conn_limits.max_conns != 0;
  n.target_conns = target_conns                      ? target_conns
                   : cfg.shard.conn_limits.max_conns ? cfg.shard.conn_limits.max_conns
                                                     : kDefaultTarget;
  n.shards = shard_count(cfg.threads, facts.affinity);
  n.threads_given = cfg.threads != 0;
  n.rcvbuf = static_cast<uint64_t>(std::max(cfg.shard.rcvbuf, 0));
  n.sndbuf = static_cast<uint64_t>(std::max(cfg.shard.sndbuf, 0));
  n.listen_backlog = static_cast<unsigned>(net::SocketOptions{}.backlog);
  // A shard's ring (SQEs, the SQ index array, CQEs) and its buffer ring, as
  // core::Reactor sets them up with a shard's options.
  const core::ReactorOptions r;
  const uint64_t page = facts.page_size ? facts.page_size : 4096;
  auto pages = [page](uint64_t b) { return ceil_div(b, page) * page; };
  n.ring_bytes = pages(uint64_t{r.sq_entries} * sizeof(io_uring_sqe)) +
                 pages(uint64_t{r.sq_entries} * sizeof(uint32_t) +
                       uint64_t{r.cq_entries} * sizeof(io_uring_cqe)) +
                 pages(uint64_t{r.buffer_count} * sizeof(io_uring_buf));
  return n;
}

std::vector<Finding> evaluate(const Facts& f, const Needs& n) {
  std::vector<Finding> out = {
      check_nofile(f, n),
      check_nr_open(f, n),
      check_file_max(f, n),
      check_memlock(f, n),
      check_somaxconn(f, n),
      check_syn_backlog(f, n),
      check_port_range(f, n),
      check_tcp_mem(f, n),
      check_buf_max("net.core.rmem_max", "--rcvbuf", f.rmem_max, n.rcvbuf),
      check_buf_max("net.core.wmem_max", "--sndbuf", f.wmem_max, n.sndbuf),
      check_uring_disabled(f),
      check_ring_setup(f),
  };
  if (f.ring.created) {
    out.push_back(check_ring_ops(f));
    out.push_back(check_ring_features(f));
    out.push_back(check_recv(f));
  }
  out.push_back(check_cpus(f, n));
  out.push_back(check_isolation(f, n));
  return out;
}

Verdict overall(const std::vector<Finding>& findings) {
  Verdict worst = Verdict::kOk;
  for (const Finding& x : findings) worst = std::max(worst, x.verdict);
  return worst;
}

std::string to_text(const Facts& f, const Needs& n, const std::vector<Finding>& findings) {
  std::string out = "ringchat doctor: " + num(n.target_conns) + " connections" +
                    (n.target_given ? "" : " (default; --target-conns N)") + " on " +
                    shards(n.shards) + ", Linux " + f.kernel + "\n";
  size_t name_w = 0, seen_w = 0, need_w = 0;
  for (const Finding& x : findings) {
    name_w = std::max(name_w, x.name.size());
    seen_w = std::max(seen_w, x.seen.size());
    need_w = std::max(need_w, x.need.size());
  }
  auto pad = [&out](const std::string& s, size_t w) {
    out += s + std::string(w - s.size() + 2, ' ');
  };
  size_t counts[3] = {0, 0, 0};
  for (const Finding& x : findings) {
    ++counts[static_cast<size_t>(x.verdict)];
    const char* v = x.verdict == Verdict::kOk     ? "ok"
                    : x.verdict == Verdict::kWarn ? "WARN"
                                                  : "FAIL";
    pad(v, 4);
    pad(x.name, name_w);
    pad(x.seen, seen_w);
    if (x.fix.empty()) {
      out += x.need;
    } else {
      pad(x.need, need_w);
      out += "fix: " + x.fix;
    }
    out += "\n";
  }
  out += "verdict: " + std::string(to_string(overall(findings))) + " (" +
         std::to_string(counts[0]) + " ok, " + std::to_string(counts[1]) + " warn, " +
         std::to_string(counts[2]) + " fail)\n";
  return out;
}

std::string to_json(const Facts& f, const Needs& n, const std::vector<Finding>& findings) {
  auto str = [](std::string_view s) {
    std::string q(1, '"');
    q += json_escape(s);
    q += '"';
    return q;
  };
  std::string out = "{\"kernel\":" + str(f.kernel) + ",\"target_conns\":" + num(n.target_conns) +
                    ",\"shards\":" + std::to_string(n.shards) + ",\"findings\":[";
  for (size_t i = 0; i < findings.size(); ++i) {
    const Finding& x = findings[i];
    out += (i ? ",{" : "{");
    out += "\"name\":" + str(x.name) + ",\"verdict\":" + str(to_string(x.verdict)) +
           ",\"seen\":" + str(x.seen) + ",\"need\":" + str(x.need) + ",\"fix\":" + str(x.fix) + "}";
  }
  out += "],\"verdict\":" + str(to_string(overall(findings))) + "}\n";
  return out;
}

std::string json_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20 || u == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\u%04x", u);
      out += buf;
    } else {
      out += c;  // UTF-8 passes through; doctor's strings are ASCII or the kernel's
    }
  }
  return out;
}

std::string cpu_list(const std::vector<int>& cpus) {
  if (cpus.empty()) return "none";
  std::string out;
  for (size_t i = 0; i < cpus.size();) {
    size_t j = i;
    while (j + 1 < cpus.size() && cpus[j + 1] == cpus[j] + 1) ++j;
    if (!out.empty()) out += ',';
    out += std::to_string(cpus[i]);
    if (j > i) out += "-" + std::to_string(cpus[j]);
    i = j + 1;
  }
  return out;
}

std::vector<int> parse_cpu_list(std::string_view s) {
  auto parse_int = [](std::string_view t, int* v) {
    const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), *v);
    return !t.empty() && ec == std::errc() && end == t.data() + t.size() && *v >= 0;
  };
  std::vector<int> out;
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.remove_suffix(1);
  while (!s.empty()) {
    const size_t comma = s.find(',');
    const std::string_view part = s.substr(0, comma);
    const size_t dash = part.find('-');
    int lo = 0, hi = 0;
    if (!parse_int(part.substr(0, dash), &lo)) return {};
    hi = lo;
    if (dash != std::string_view::npos && !parse_int(part.substr(dash + 1), &hi)) return {};
    if (hi < lo || hi - lo > 65536) return {};
    for (int c = lo; c <= hi; ++c) out.push_back(c);
    if (comma == std::string_view::npos) break;
    s.remove_prefix(comma + 1);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace ringchat::app::doctor
