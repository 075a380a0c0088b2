// The process collector: what Prometheus client libraries export as
// process_*, read when /metrics is scraped.
#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>

#include "ringchat/obs/metrics.h"

namespace ringchat::obs {

namespace {

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// When this process started, close enough: when this library was loaded.
const double kStartTime = unix_now();

// Entries of /proc/self/fd, less the one opendir() holds. Connections are
// io_uring direct descriptors and are not among them.
double open_fds() {
  DIR* d = opendir("/proc/self/fd");
  if (d == nullptr) return 0;
  double n = 0;
  while (const dirent* e = readdir(d)) {
    if (e->d_name[0] != '.') ++n;
  }
  closedir(d);
  return n > 0 ? n - 1 : 0;
}

}  // namespace

void append_process_metrics(std::string& out) {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  const double cpu = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                     static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
  append_family(out, "process_cpu_seconds_total", "counter",
                "User and system CPU time spent in seconds");
  append_sample(out, "process_cpu_seconds_total", "", cpu);

  unsigned long pages = 0, resident = 0;
  if (FILE* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%lu %lu", &pages, &resident) != 2) pages = resident = 0;
    std::fclose(f);
  }
  const auto page = static_cast<double>(sysconf(_SC_PAGESIZE));
  append_family(out, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes");
  append_sample(out, "process_resident_memory_bytes", "", static_cast<double>(resident) * page);
  append_family(out, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes");
  append_sample(out, "process_virtual_memory_bytes", "", static_cast<double>(pages) * page);

  append_family(out, "process_open_fds", "gauge",
                "Open file descriptors (connections are io_uring direct descriptors, not "
                "counted here)");
  append_sample(out, "process_open_fds", "", open_fds());
  rlimit rl{};
  getrlimit(RLIMIT_NOFILE, &rl);
  append_family(out, "process_max_fds", "gauge", "RLIMIT_NOFILE: the most open descriptors");
  append_sample(out, "process_max_fds", "", static_cast<double>(rl.rlim_cur));

  append_family(out, "process_start_time_seconds", "gauge",
                "Start time of the process since the Unix epoch in seconds");
  append_sample(out, "process_start_time_seconds", "", kStartTime);
}

}  // namespace ringchat::obs
