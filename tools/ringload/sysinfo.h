#pragma once
#include <sys/types.h>

#include <string>

namespace ringchat::ringload {

// The kernel and process limits that bound a run, recorded with its results.
struct KernelSettings {
  std::string somaxconn;
  std::string ip_local_port_range;
  std::string rmem_max;
  std::string wmem_max;
  std::string tcp_rmem;
  std::string tcp_wmem;
  std::string nofile;  // soft/hard
  std::string kernel;  // uname -r
};

// Thread: any.
KernelSettings read_kernel_settings();
// user + system CPU seconds of a process (/proc/PID/stat); < 0 if unreadable.
double process_cpu_s(pid_t pid);
// CPU seconds of one thread of this process; < 0 if unreadable.
double thread_cpu_s(pid_t tid);
// Resident set of a process in bytes (/proc/PID/status VmRSS); 0 if unreadable.
uint64_t process_rss_bytes(pid_t pid);

}  // namespace ringchat::ringload
