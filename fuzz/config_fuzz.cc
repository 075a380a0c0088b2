// libFuzzer target: the config file reader, app::parse_config() with
// `--config FILE` (CLI11's TOML/INI reader and every option's checks). The
// input is the file. It must end in a Config whose values are within each
// option's declared bounds, or in a ParseExit; nothing may throw past it.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include "fuzz_check.h"
#include "ringchat/app/config.h"
#include "ringchat/ws/frame_parser.h"

namespace {

// One memory file, rewritten for each input.
int file_fd() {
  static const int fd = [] {
    // RINGCHAT_* variables would take part; the input alone should.
    for (char** e = environ; e != nullptr && *e != nullptr;) {
      if (std::strncmp(*e, "RINGCHAT_", 9) == 0) {
        const std::string name(*e, std::strchr(*e, '=') - *e);
        unsetenv(name.c_str());
      } else {
        ++e;
      }
    }
    return memfd_create("ringchat-config", 0);
  }();
  return fd;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const int fd = file_fd();
  FUZZ_CHECK(fd >= 0);
  FUZZ_CHECK(ftruncate(fd, 0) == 0);
  FUZZ_CHECK(pwrite(fd, data, size, 0) == static_cast<ssize_t>(size));
  const std::string path = std::string("/proc/self/fd/").append(std::to_string(fd));
  const char* argv[] = {"ringchat", "--config", path.c_str()};
  auto r = ringchat::app::parse_config(3, argv);
  if (!r.ok()) {
    FUZZ_CHECK(r.error().code == 0 || r.error().code == 2);
    FUZZ_CHECK(!r.error().message.empty());
    return 0;
  }
  // The bounds declared in src/app/config.cc.
  const ringchat::chat::ShardConfig& s = r->shard;
  FUZZ_CHECK(r->threads <= 1024);
  FUZZ_CHECK(s.max_message >= 125 && s.max_message <= (1ull << 30));
  FUZZ_CHECK(s.max_fragments >= 1 && s.max_fragments <= ringchat::ws::kMaxFragmentsLimit);
  FUZZ_CHECK(s.max_header >= 1024 && s.max_header <= (1u << 20));
  FUZZ_CHECK(s.max_header_fields >= 1 && s.max_header_fields <= 10000);
  FUZZ_CHECK(s.pub_rate <= 1000000 && s.pub_burst >= 1 && s.pub_burst <= 1000000);
  FUZZ_CHECK(s.conn_limits.conn_rate <= 1000000 && s.conn_limits.conn_burst >= 1);
  FUZZ_CHECK(s.ping_interval_ms >= 100 && s.ping_interval_ms <= 3600000);
  FUZZ_CHECK(s.handshake_timeout_ms >= 100 && s.handshake_timeout_ms <= 600000);
  FUZZ_CHECK(s.drain_timeout_ms <= 600000);
  FUZZ_CHECK(s.max_backlog >= 4096 && s.max_backlog <= (1ull << 32));
  FUZZ_CHECK(s.history <= 1000000);
  FUZZ_CHECK(s.max_rooms_per_conn >= 1 && s.max_rooms_per_conn <= 100000);
  FUZZ_CHECK(s.sse_heartbeat_ms >= 100 && s.sse_heartbeat_ms <= 3600000);
  FUZZ_CHECK(s.rcvbuf >= 0 && s.sndbuf >= 0);
  FUZZ_CHECK(r->log_level == "debug" || r->log_level == "info" || r->log_level == "warn" ||
             r->log_level == "error");
  return 0;
}
