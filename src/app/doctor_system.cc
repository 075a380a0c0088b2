// `ringchat doctor`, the reading half: the machine's limits from /proc/sys,
// getrlimit and sysfs, an io_uring set up and used as a shard's is, and the
// command line that ties it to evaluate().
#include <sched.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "ringchat/app/doctor.h"
#include "ringchat/app/server.h"
#include "ringchat/core/op.h"
#include "ringchat/core/reactor.h"
#include "ringchat/net/conn_io.h"

namespace ringchat::app::doctor {

namespace {

std::optional<std::string> read_text(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The whitespace-separated numbers of /proc/sys/<key>; empty if unreadable.
std::vector<uint64_t> sysctl(const char* key) {
  std::vector<uint64_t> out;
  auto text = read_text(std::string("/proc/sys/") + key);
  if (!text) return out;
  std::istringstream in(*text);
  uint64_t v = 0;
  while (in >> v) out.push_back(v);
  return out;
}

std::optional<uint64_t> sysctl1(const char* key) {
  auto v = sysctl(key);
  if (v.size() != 1) return std::nullopt;
  return v[0];
}

template <size_t N>
std::optional<std::array<uint64_t, N>> sysctl_n(const char* key) {
  auto v = sysctl(key);
  if (v.size() != N) return std::nullopt;
  std::array<uint64_t, N> out{};
  std::copy(v.begin(), v.end(), out.begin());
  return out;
}

std::optional<Rlimit> limit(int resource) {
  rlimit rl{};
  if (getrlimit(resource, &rl) != 0) return std::nullopt;
  auto v = [](rlim_t x) { return x == RLIM_INFINITY ? kUnlimited : uint64_t{x}; };
  return Rlimit{v(rl.rlim_cur), v(rl.rlim_max)};
}

void read_kernel(Facts& f) {
  utsname u{};
  if (uname(&u) != 0) return;
  f.kernel = u.release;
  const char* p = u.release;
  const char* end = p + std::strlen(p);
  auto r = std::from_chars(p, end, f.kernel_major);
  if (r.ec == std::errc() && r.ptr < end && *r.ptr == '.') {
    std::from_chars(r.ptr + 1, end, f.kernel_minor);
  }
}

// Waits up to a second for the completion tagged `tag`, handing back every
// buffer other completions took. False on a timeout or a ring error.
bool wait_for(core::Reactor& r, uint64_t tag, io_uring_cqe* out) {
  for (int tries = 0; tries < 10; ++tries) {
    __kernel_timespec ts{.tv_sec = 0, .tv_nsec = 100'000'000};
    io_uring_cqe* cqe = nullptr;
    const int rc = io_uring_wait_cqe_timeout(r.ring(), &cqe, &ts);
    if (rc == -ETIME || rc == -EINTR) continue;
    if (rc < 0) return false;
    const io_uring_cqe got = *cqe;
    io_uring_cqe_seen(r.ring(), cqe);
    if (got.user_data == tag) {
      *out = got;
      return true;
    }
    if (got.flags & IORING_CQE_F_BUFFER) {
      r.recycle(static_cast<uint16_t>(got.flags >> IORING_CQE_BUFFER_SHIFT));
    }
  }
  return false;
}

std::string errno_text(int res) { return std::string(std::strerror(-res)); }

// One end of a socket pair goes into the ring's direct-descriptor table as
// an accepted connection does; a multishot recv is armed on it by the code
// a connection uses (net::ReactorIo), a byte sent from the other end must
// arrive in a provided buffer with the recv still armed, and a sendmsg on
// the direct descriptor must reach the other end.
void check_recv(core::Reactor& r, Facts::Ring& out) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    out.recv_detail = std::string("socketpair: ") + std::strerror(errno);
    return;
  }
  const int rc = io_uring_register_files_update(r.ring(), 0, &sv[0], 1);
  ::close(sv[0]);  // the table holds its own reference
  if (rc < 0) {
    out.recv_detail = "io_uring_register_files_update: " + errno_text(rc);
    ::close(sv[1]);
    return;
  }
  net::ReactorIo io(r);
  io.recv(0, 1);
  io_uring_submit(r.ring());
  io_uring_cqe cqe{};
  const char byte = 'x';
  if (::write(sv[1], &byte, 1) != 1 || !wait_for(r, core::pack(core::Op::kRecv, 0, 1), &cqe)) {
    out.recv_detail = "no completion for a recv within a second";
  } else if (cqe.res < 0) {
    out.recv_detail = "recv: " + errno_text(cqe.res);
  } else if (!(cqe.flags & IORING_CQE_F_BUFFER) || !(cqe.flags & IORING_CQE_F_MORE)) {
    out.recv_detail = "recv completed without a provided buffer or ended (no multishot)";
  } else {
    const bool same =
        io.received(&cqe).size() == 1 && static_cast<char>(io.received(&cqe)[0]) == byte;
    r.recycle(static_cast<uint16_t>(cqe.flags >> IORING_CQE_BUFFER_SHIFT));
    msghdr msg{};
    iovec iov{const_cast<char*>(&byte), 1};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    io.send(0, 1, &msg);
    io_uring_submit(r.ring());
    char back = 0;
    const bool sent = wait_for(r, core::pack(core::Op::kSend, 0, 1), &cqe) && cqe.res == 1 &&
                      ::read(sv[1], &back, 1) == 1 && back == byte;
    out.recv_ok = same && sent;
    out.recv_detail = !same  ? "recv delivered other bytes than were sent"
                      : sent ? "works (and sendmsg on the direct descriptor)"
                             : "recv works; sendmsg on the direct descriptor did not";
  }
  io.cancel_all(0);
  io.close(0, 1);
  io_uring_submit(r.ring());
  ::close(sv[1]);
}

// A ring as a shard makes it (its options, a table of the size the server
// would register), then the checks above on it.
void probe_ring(Facts::Ring& out) {
  out.disabled = sysctl1("kernel/io_uring_disabled");
  core::ReactorOptions opts;
  opts.fixed_files = connections_per_shard(raise_nofile_limit());
  core::Reactor r;
  std::string what;
  if (auto ok = r.init(opts, &what); !ok) {
    out.error = errno;
    out.setup = what;
    return;
  }
  out.created = true;
  out.setup = what;
  const unsigned flags = r.ring()->flags;
  out.full_setup = (flags & IORING_SETUP_SINGLE_ISSUER) && (flags & IORING_SETUP_DEFER_TASKRUN);
  out.features = r.ring()->features;
  for (const core::RingOp& op : r.missing_ops()) {
    out.missing_ops.push_back(std::string(op.name) + " (" + op.since + ")");
  }
  check_recv(r, out);
}

// Doctor's own flags, taken out of argv before the server's parser sees it.
struct Args {
  bool json = false, help = false;
  uint64_t target = 0;
  std::vector<const char*> rest;  // for parse_config, "ringchat" first
};

Result<Args, std::string> split_args(int argc, char** argv) {
  Args a;
  a.rest.push_back("ringchat");
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    std::string_view value;
    if (arg == "--json") {
      a.json = true;
      continue;
    }
    if (arg == "--help" || arg == "-h") a.help = true;
    if (arg == "--target-conns") {
      if (i + 1 >= argc) return Err(std::string("--target-conns needs a number"));
      value = argv[++i];
    } else if (arg.starts_with("--target-conns=")) {
      value = arg.substr(std::strlen("--target-conns="));
    } else {
      a.rest.push_back(argv[i]);
      continue;
    }
    const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), a.target);
    if (ec != std::errc() || end != value.data() + value.size() || a.target == 0 ||
        a.target > 100'000'000) {
      return Err("--target-conns: a number from 1 to 100000000, not '" + std::string(value) + "'");
    }
  }
  return a;
}

constexpr const char* kUsage =
    "Usage: ringchat doctor [server options] [--target-conns N] [--json]\n"
    "Judges this machine's kernel and process limits against what the server,\n"
    "started with the same options, needs; exits 1 if any limit fails.\n"
    "  --target-conns N  connections to judge for (default: --max-conns, else 10000)\n"
    "  --json            one JSON object instead of text\n\n";

}  // namespace

Facts gather() {
  Facts f;
  read_kernel(f);
  if (const long page = sysconf(_SC_PAGE_SIZE); page > 0) f.page_size = static_cast<uint64_t>(page);
  f.nofile = limit(RLIMIT_NOFILE);
  f.memlock = limit(RLIMIT_MEMLOCK);
  f.nr_open = sysctl1("fs/nr_open");
  f.file_max = sysctl1("fs/file-max");
  f.somaxconn = sysctl1("net/core/somaxconn");
  f.syn_backlog = sysctl1("net/ipv4/tcp_max_syn_backlog");
  f.syncookies = sysctl1("net/ipv4/tcp_syncookies");
  f.port_range = sysctl_n<2>("net/ipv4/ip_local_port_range");
  f.tcp_rmem = sysctl_n<3>("net/ipv4/tcp_rmem");
  f.tcp_wmem = sysctl_n<3>("net/ipv4/tcp_wmem");
  f.tcp_mem = sysctl_n<3>("net/ipv4/tcp_mem");
  f.rmem_max = sysctl1("net/core/rmem_max");
  f.wmem_max = sysctl1("net/core/wmem_max");
  probe_ring(f.ring);
  if (const long n = sysconf(_SC_NPROCESSORS_ONLN); n > 0) f.online_cpus = static_cast<unsigned>(n);
  f.affinity = affinity_cpus();
  if (auto iso = read_text("/sys/devices/system/cpu/isolated")) f.isolated = parse_cpu_list(*iso);
  return f;
}

int run(int argc, char** argv) {
  auto args = split_args(argc, argv);
  if (!args) {
    std::fprintf(stderr, "ringchat doctor: %s\n", args.error().c_str());
    return 2;
  }
  auto cfg = parse_config(static_cast<int>(args->rest.size()), args->rest.data());
  if (!cfg) {
    if (args->help) std::fputs(kUsage, stdout);
    std::fprintf(cfg.error().code == 0 ? stdout : stderr, "%s\n", cfg.error().message.c_str());
    return cfg.error().code;
  }
  const Facts facts = gather();
  const Needs needs = needs_for(*cfg, facts, args->target);
  const std::vector<Finding> findings = evaluate(facts, needs);
  const std::string out =
      args->json ? to_json(facts, needs, findings) : to_text(facts, needs, findings);
  std::fwrite(out.data(), 1, out.size(), stdout);
  return overall(findings) == Verdict::kFail ? 1 : 0;
}

}  // namespace ringchat::app::doctor
