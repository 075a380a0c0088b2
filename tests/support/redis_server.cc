#include "redis_server.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string_view>
#include <thread>

#include "free_port.h"
#include "ringchat/redis/command.h"
#include "ringchat/redis/reply.h"

namespace ringchat::testing {
namespace {

namespace fs = std::filesystem;

bool executable(const std::string& path) { return access(path.c_str(), X_OK) == 0; }

int connect_loopback(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

std::string tail(const std::string& s, size_t n) {
  return s.size() <= n ? s : s.substr(s.size() - n);
}

}  // namespace

RedisServer::RedisServer() : RedisServer(Options{}) {}

RedisServer::RedisServer(Options o) : opts_(std::move(o)) {
  std::string tmpl = (fs::temp_directory_path() / "ringchat-redis-XXXXXX").string();
  if (mkdtemp(tmpl.data()) != nullptr) dir_ = tmpl;
  port_ = free_port();
}

RedisServer::~RedisServer() {
  reap(SIGKILL);
  if (!dir_.empty()) {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
}

std::string RedisServer::binary() {
  if (const char* env = std::getenv("RINGCHAT_REDIS_SERVER"); env && *env) return env;
  if (executable("/usr/bin/redis-server")) return "/usr/bin/redis-server";
  if (const char* path = std::getenv("PATH")) {
    std::stringstream ss(path);
    std::string d;
    while (std::getline(ss, d, ':')) {
      if (!d.empty() && executable(d + "/redis-server")) return d + "/redis-server";
    }
  }
  return "";
}

std::string RedisServer::redis_cli() {
  std::string b = binary();
  if (b.empty()) return "";
  return (fs::path(b).parent_path() / "redis-cli").string();
}

bool RedisServer::available() { return !binary().empty(); }

std::string RedisServer::why_unavailable() {
  return "redis-server not found (install Debian's redis-server: tools/setup-deps.sh --test, "
         "or set RINGCHAT_REDIS_SERVER)";
}

std::string RedisServer::unix_path() const { return dir_ + "/redis.sock"; }

std::string RedisServer::tcp_url() const {
  std::string u = "redis://";
  if (!opts_.password.empty()) {
    u += ':';
    u += opts_.password;
    u += '@';
  }
  u += "127.0.0.1:";
  u += std::to_string(port_);
  return u;
}

std::string RedisServer::url() const {
  if (!opts_.unix_socket) return tcp_url();
  std::string u = "unix://";
  u += unix_path();
  return u;
}

bool RedisServer::write_config() {
  std::ofstream f(dir_ + "/redis.conf");
  f << "port " << port_ << "\n"
    << "bind 127.0.0.1\n"
    << "protected-mode no\n"
    << "daemonize no\n"
    << "dir " << dir_ << "\n"
    << "logfile " << dir_ << "/redis.log\n"
    << "save \"\"\n"
    << "appendonly " << (opts_.appendonly ? "yes" : "no") << "\n";
  if (opts_.unix_socket) f << "unixsocket " << unix_path() << "\nunixsocketperm 700\n";
  if (!opts_.password.empty()) f << "requirepass \"" << opts_.password << "\"\n";
  for (const std::string& line : opts_.config) f << line << "\n";
  f.close();
  return static_cast<bool>(f);
}

bool RedisServer::start() {
  error_.clear();
  if (pid_ > 0) return true;
  const std::string bin = binary();
  if (bin.empty()) {
    error_ = why_unavailable();
    return false;
  }
  if (dir_.empty()) {
    error_ = "could not make a temp dir";
    return false;
  }
  // The port was free when picked; another process may have taken it since.
  // Only before the first start may it change (later ones keep it: clients
  // reconnect to it).
  for (int attempt = 0;; ++attempt) {
    const size_t log_before = log().size();
    if (launch(bin)) {
      started_ = true;
      return true;
    }
    if (started_ || attempt == 3 ||
        log().find("Address already in use", log_before) == std::string::npos) {
      return false;
    }
    port_ = free_port();
  }
}

bool RedisServer::launch(const std::string& bin) {
  if (port_ == 0 || !write_config()) {
    error_ = "could not pick a port or write redis.conf in " + dir_;
    return false;
  }
  const std::string conf = dir_ + "/redis.conf";
  const pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    error_ = std::string("fork: ") + std::strerror(errno);
    return false;
  }
  if (pid == 0) {
    // The child: die with the test; keep the test's stdout clean.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    int null = open("/dev/null", O_RDWR);
    if (null >= 0) {
      dup2(null, 0);
      dup2(null, 1);
    }
    execl(bin.c_str(), bin.c_str(), conf.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  pid_ = pid;
  return wait_ready();
}

bool RedisServer::wait_ready() {
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(opts_.start_timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      error_ = "redis-server exited at start; its log ends:\n" + tail(log(), 2000);
      return false;
    }
    const std::string r = query({"PING"}, 1000);
    // With requirepass, query() AUTHs first; any PONG means it serves.
    if (r == "+PONG") return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  error_ = "redis-server did not answer PING in time; its log ends:\n" + tail(log(), 2000);
  reap(SIGKILL);
  return false;
}

void RedisServer::reap(int sig) {
  if (pid_ <= 0) return;
  ::kill(pid_, sig);
  // SIGKILL ends a stopped process too; any other signal waits for SIGCONT.
  if (sig != SIGKILL) ::kill(pid_, SIGCONT);
  int status = 0;
  while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
}

// A paused server is killed as it is: it answers nothing more.
void RedisServer::kill() { reap(SIGKILL); }

void RedisServer::stop() { reap(SIGTERM); }

bool RedisServer::restart() {
  kill();
  return start();
}

void RedisServer::pause() {
  if (pid_ > 0) ::kill(pid_, SIGSTOP);
}

void RedisServer::resume() {
  if (pid_ > 0) ::kill(pid_, SIGCONT);
}

std::string RedisServer::log() const {
  std::ifstream f(dir_ + "/redis.log");
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string RedisServer::query(const std::vector<std::string>& argv, int timeout_ms) const {
  int fd = connect_loopback(port_);
  if (fd < 0) return std::string("ERROR: connect: ") + std::strerror(errno);
  std::string out;
  size_t replies = 1;
  if (!opts_.password.empty()) {
    const std::string_view auth[] = {"AUTH", opts_.password};
    redis::append_command(out, auth);
    replies = 2;
  }
  std::vector<std::string_view> args(argv.begin(), argv.end());
  redis::append_command(out, args);
  std::string result;
  for (size_t off = 0; off < out.size();) {
    ssize_t n = send(fd, out.data() + off, out.size() - off, MSG_NOSIGNAL);
    if (n <= 0) {
      close(fd);
      return std::string("ERROR: send: ") + std::strerror(errno);
    }
    off += static_cast<size_t>(n);
  }
  redis::Decoder d;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  char buf[4096];
  while (replies > 0) {
    auto r = d.next();
    if (!r.ok()) {
      result = "ERROR: " + r.error();
      break;
    }
    if (r->has_value()) {
      result = (*r)->view().debug_string();
      --replies;
      continue;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd p{fd, POLLIN, 0};
    if (left.count() <= 0 || poll(&p, 1, static_cast<int>(left.count())) <= 0) {
      result = "ERROR: timeout";
      break;
    }
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) {
      result = "ERROR: connection closed";
      break;
    }
    d.feed(std::string_view(buf, static_cast<size_t>(n)));
  }
  close(fd);
  return result;
}

}  // namespace ringchat::testing
