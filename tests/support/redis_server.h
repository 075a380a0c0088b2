#pragma once
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace ringchat::testing {

// A real redis-server for one test: its own config file and data dir in a
// fresh temp dir, listening on a free 127.0.0.1 port (and, with
// Options::unix_socket, on a unix socket in that dir). The constructor picks
// the port (port() is known before the server runs, for tests of a server
// that is not there yet) but does not start it; start() does, and returns once the server answers
// PING (or says why it could not, with the end of its log). The destructor kills it (SIGKILL; a
// paused server too) and removes the temp dir. If the test process dies, the server gets SIGKILL
// too (PR_SET_PDEATHSIG).
//
//   RedisServer redis;                      // --save '' --appendonly no
//   if (!RedisServer::available()) GTEST_SKIP() << RedisServer::why_unavailable();
//   ASSERT_TRUE(redis.start()) << redis.error();
//   redis.url();          // redis://127.0.0.1:PORT (with the password, if any)
//   redis.kill();         // SIGKILL (a paused one too: it answers nothing more), waits for it;
//                         // start() or restart() brings it back on the same port
//   redis.pause();        // SIGSTOP: connections stay, nothing is answered; resume() = SIGCONT
//   redis.query({"SET", "k", "v"});   // a blocking client for test setup: "+OK"
//
// Several servers (a cluster) each take their own RedisServer; pass
// "cluster-enabled yes" in Options::config and form the cluster with
// redis-cli (redis_cli() names the binary).
// Thread: the test's thread.
class RedisServer {
 public:
  struct Options {
    bool unix_socket = false;  // also listen on dir()/redis.sock
    std::string password;      // requirepass (AUTH <password>)
    bool appendonly = false;   // appendonly yes, fsync everysec
    // More redis.conf lines, e.g. "databases 4", "cluster-enabled yes".
    std::vector<std::string> config;
    int start_timeout_ms = 15000;
  };

  RedisServer();
  explicit RedisServer(Options o);
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;
  ~RedisServer();

  // Whether redis-server is installed ($RINGCHAT_REDIS_SERVER, else
  // /usr/bin/redis-server, else redis-server on PATH).
  static bool available();
  static std::string why_unavailable();
  static std::string binary();
  static std::string redis_cli();  // the redis-cli beside it

  // Starts the server (on port(), in dir()) and waits until it answers
  // PING. False: error() says why. If port() was taken by someone else
  // before the first start, that start picks another port. Call it from a
  // thread that outlives the server: PR_SET_PDEATHSIG follows the thread
  // that forked.
  bool start();
  // SIGKILL and wait: connections drop at once, nothing is saved. A paused
  // server dies without running again.
  void kill();
  // SIGTERM and wait (a clean shutdown: with appendonly, data is kept).
  void stop();
  // kill() if running, then start() on the same port and dir.
  bool restart();
  // SIGSTOP / SIGCONT: the server stays connected but answers nothing.
  void pause();
  void resume();
  bool running() const { return pid_ > 0; }

  uint16_t port() const { return port_; }
  const std::string& dir() const { return dir_; }
  std::string unix_path() const;  // dir()/redis.sock
  // redis://[:password@]127.0.0.1:port, or unix://path with unix_socket.
  std::string url() const;
  std::string tcp_url() const;
  const std::string& error() const { return error_; }
  // The server's log so far.
  std::string log() const;

  // Sends one command over a fresh blocking connection (AUTH first when
  // there is a password) and returns the reply as redis::Reply's
  // debug_string ("+OK", "\"v\"", "-ERR ...", "[...]"), or "ERROR: why".
  // For test setup and checks, not for the code under test.
  std::string query(const std::vector<std::string>& argv, int timeout_ms = 5000) const;

 private:
  bool launch(const std::string& bin);
  bool write_config();
  bool wait_ready();
  void reap(int sig);

  Options opts_;
  std::string dir_;
  uint16_t port_ = 0;
  pid_t pid_ = -1;
  bool started_ = false;  // once: the port is fixed
  std::string error_;
};

}  // namespace ringchat::testing
