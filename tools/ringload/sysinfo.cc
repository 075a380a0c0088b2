#include "sysinfo.h"

#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace ringchat::ringload {
namespace {

std::string read_line(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  for (char& c : line) {
    if (c == '\t') c = ' ';
  }
  return in ? line : std::string("?");
}

// Fields 14 and 15 of a stat line (utime, stime in clock ticks), counted
// after the ')' that ends the command name (which may hold spaces).
double stat_cpu_s(const std::string& path) {
  const std::string line = read_line(path);
  const size_t paren = line.rfind(')');
  if (paren == std::string::npos) return -1;
  std::istringstream rest(line.substr(paren + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::strtoull(field.c_str(), nullptr, 10);
    if (i == 15) stime = std::strtoull(field.c_str(), nullptr, 10);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

}  // namespace

KernelSettings read_kernel_settings() {
  KernelSettings k;
  k.somaxconn = read_line("/proc/sys/net/core/somaxconn");
  k.ip_local_port_range = read_line("/proc/sys/net/ipv4/ip_local_port_range");
  k.rmem_max = read_line("/proc/sys/net/core/rmem_max");
  k.wmem_max = read_line("/proc/sys/net/core/wmem_max");
  k.tcp_rmem = read_line("/proc/sys/net/ipv4/tcp_rmem");
  k.tcp_wmem = read_line("/proc/sys/net/ipv4/tcp_wmem");
  rlimit rl{};
  getrlimit(RLIMIT_NOFILE, &rl);
  k.nofile = std::to_string(rl.rlim_cur) + "/" + std::to_string(rl.rlim_max);
  utsname u{};
  if (uname(&u) == 0) k.kernel = u.release;
  return k;
}

double process_cpu_s(pid_t pid) { return stat_cpu_s("/proc/" + std::to_string(pid) + "/stat"); }

double thread_cpu_s(pid_t tid) {
  return stat_cpu_s("/proc/self/task/" + std::to_string(tid) + "/stat");
}

uint64_t process_rss_bytes(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.starts_with("VmRSS:")) return std::strtoull(line.c_str() + 6, nullptr, 10) * 1024;
  }
  return 0;
}

}  // namespace ringchat::ringload
