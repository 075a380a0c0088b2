#include "rolling.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <fstream>
#include <sstream>

#include "clock.h"

namespace ringchat::ringload {
namespace {

constexpr uint64_t kListenTimeoutNs = 10'000'000'000;
constexpr uint64_t kStopGraceNs = 5'000'000'000;

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

void pause_ms(long ms) {
  timespec ts{0, ms * 1'000'000};
  nanosleep(&ts, nullptr);
}

int exit_status(int wstatus) {
  if (WIFEXITED(wstatus)) return WEXITSTATUS(wstatus);
  if (WIFSIGNALED(wstatus)) return 128 + WTERMSIG(wstatus);
  return -1;
}

}  // namespace

RollingRestart::RollingRestart(const Scenario& s, const sockaddr_in& addr)
    : s_(s), port_(ntohs(addr.sin_port)) {
  char ip[INET_ADDRSTRLEN] = {};
  inet_ntop(AF_INET, &addr.sin_addr, ip, sizeof ip);
  bind_ = ip;
}

RollingRestart::~RollingRestart() { stop(); }

Result<pid_t, std::string> RollingRestart::spawn(int n) {
  // Everything the child needs is built before fork(): it only execs.
  std::vector<std::string> args = {s_.rolling_server, "--port", std::to_string(port_),
                                   "--bind",          bind_,    "--reuse-port"};
  for (std::string& a : split_args(s_.rolling_args)) args.push_back(std::move(a));
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const std::string log =
      s_.rolling_log.empty() ? "/dev/null" : s_.rolling_log + "." + std::to_string(n) + ".log";
  const int out = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (out < 0) return Err("cannot open " + log + ": " + strerror(errno));
  const int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) {
    close(out);
    close(in);
    return Err(std::string("fork: ") + strerror(errno));
  }
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    dup2(in, 0);
    dup2(out, 1);
    dup2(out, 2);
    // Nothing of ringload's may outlive it in the server: its rings hold
    // every client socket.
    close_range(3, UINT_MAX, 0);
    // ringload ignores SIGPIPE, which exec keeps: a server starts with the default.
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    sigaction(SIGPIPE, &dfl, nullptr);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(out);
  close(in);
  return pid;
}

// A process listens on the port when one of its descriptors is a LISTEN
// socket on it (/proc/PID/fd against /proc/PID/net/tcp{,6}).
bool RollingRestart::listening(pid_t pid) const {
  const std::string base = "/proc/" + std::to_string(pid);
  std::vector<uint64_t> inodes = listen_inodes(read_text(base + "/net/tcp"), port_);
  for (uint64_t i : listen_inodes(read_text(base + "/net/tcp6"), port_)) inodes.push_back(i);
  if (inodes.empty()) return false;
  DIR* d = opendir((base + "/fd").c_str());
  if (!d) return false;
  bool found = false;
  while (dirent* e = readdir(d)) {
    char target[64] = {};
    const std::string link = base + "/fd/" + e->d_name;
    const ssize_t n = readlink(link.c_str(), target, sizeof target - 1);
    unsigned long long inode = 0;
    if (n > 0 && std::sscanf(target, "socket:[%llu]", &inode) == 1 &&
        std::find(inodes.begin(), inodes.end(), inode) != inodes.end()) {
      found = true;
      break;
    }
  }
  closedir(d);
  return found;
}

void RollingRestart::reap(uint64_t now) {
  for (size_t n = 0; n < servers_.size(); ++n) {
    Server& sv = servers_[n];
    if (sv.exited || sv.pid <= 0) continue;
    int ws = 0;
    if (waitpid(sv.pid, &ws, WNOHANG) != sv.pid) continue;
    sv.exited = true;
    sv.status = exit_status(ws);
    sv.exit_ns = now;
    // Only the first is meant to end during the run.
    if (n != 0 && problem_.empty() && stage_ != Stage::kDone)
      problem_ = "server " + std::to_string(n) + " (pid " + std::to_string(sv.pid) +
                 ") exited with status " + std::to_string(sv.status) + " during the run";
  }
}

Result<void, std::string> RollingRestart::wait_listening(const Server& sv, uint64_t deadline) {
  while (now_ns() < deadline) {
    reap(now_ns());
    if (sv.exited) {
      return Err("server pid " + std::to_string(sv.pid) + " exited with status " +
                 std::to_string(sv.status) + " before it listened" +
                 (s_.rolling_log.empty() ? " (--rolling-log keeps its output)" : ""));
    }
    if (listening(sv.pid)) return {};
    pause_ms(20);
  }
  return Err("server pid " + std::to_string(sv.pid) + " did not listen on port " +
             std::to_string(port_) + " within 10 s");
}

Result<void, std::string> RollingRestart::start() {
  // One at a time: the first alone decides whether the port is free.
  for (int n = 0; n < 2; ++n) {
    auto pid = spawn(n);
    if (!pid) return Err(pid.error());
    servers_.push_back(Server{*pid});
    if (auto r = wait_listening(servers_.back(), now_ns() + kListenTimeoutNs); !r) {
      problem_ = r.error();
      return r;
    }
  }
  return {};
}

void RollingRestart::step(uint64_t now, uint64_t phases_ns) {
  reap(now);
  switch (stage_) {
    case Stage::kBoth:
      if (phases_ns == 0 || now < phases_ns + static_cast<uint64_t>(s_.rolling_at_s * 1e9)) return;
      if (auto pid = spawn(2); pid) {
        servers_.push_back(Server{*pid});
      } else {
        problem_ = pid.error();
        servers_.push_back(Server{-1, true});
      }
      started_ns_ = now;
      stage_ = Stage::kStarting;
      return;
    case Stage::kStarting: {
      const Server& r = servers_[2];
      const bool ready = !r.exited && listening(r.pid);
      if (!ready && !r.exited && now - started_ns_ < kListenTimeoutNs) return;
      if (ready) {
        ready_ns_ = now;
      } else if (problem_.empty()) {
        problem_ = "the replacement did not listen within 10 s";
      }
      // Without a replacement the second server takes everyone: the
      // restart still happens, and the report says what went wrong.
      kill(servers_[0].pid, SIGTERM);
      term_ns_ = now_ns();
      stage_ = Stage::kDraining;
      return;
    }
    case Stage::kDraining:
    case Stage::kDone:
      return;
  }
}

void RollingRestart::stop() {
  if (stage_ == Stage::kDone) return;
  stage_ = Stage::kDone;
  // The first already has its SIGTERM: a second one may end its drain
  // at once (and change its exit status).
  for (size_t n = 0; n < servers_.size(); ++n) {
    const Server& sv = servers_[n];
    if (!sv.exited && sv.pid > 0 && !(n == 0 && term_ns_ != 0)) kill(sv.pid, SIGTERM);
  }
  const uint64_t deadline = now_ns() + kStopGraceNs;
  auto running = [this] {
    return std::any_of(servers_.begin(), servers_.end(),
                       [](const Server& sv) { return !sv.exited && sv.pid > 0; });
  };
  while (running() && now_ns() < deadline) {
    reap(now_ns());
    pause_ms(20);
  }
  for (Server& sv : servers_) {
    if (sv.exited || sv.pid <= 0) continue;
    kill(sv.pid, SIGKILL);
    int ws = 0;
    waitpid(sv.pid, &ws, 0);
    sv.exited = true;
    sv.status = exit_status(ws);
  }
}

RollingEvents RollingRestart::events(uint64_t t0) const {
  auto rel = [t0](uint64_t ns) { return ns > t0 ? static_cast<double>(ns - t0) / 1e9 : -1.0; };
  RollingEvents e;
  for (const Server& sv : servers_) e.pids.push_back(sv.pid);
  if (started_ns_) e.replacement_started_s = rel(started_ns_);
  if (ready_ns_) e.replacement_ready_s = rel(ready_ns_);
  if (term_ns_) e.term_s = rel(term_ns_);
  if (!servers_.empty() && servers_[0].exit_ns && term_ns_) {
    e.old_exit_s = rel(servers_[0].exit_ns);
    e.old_exit_status = servers_[0].status;
  }
  e.problem = problem_;
  return e;
}

}  // namespace ringchat::ringload
