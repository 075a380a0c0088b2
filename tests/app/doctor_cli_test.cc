// The built binary's `ringchat doctor` on this machine (RINGCHAT_BIN names
// it): its JSON parses, its exit status follows its verdict, the server's
// flags and RINGCHAT_* variables reach it, and bad flags exit 2. What this
// machine's limits are is not asserted, only how they are reported.
#include <gtest/gtest.h>
#include <simdjson.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>
#include <string>

namespace {

struct Output {
  int status = -1;
  std::string out;
};

// Runs `env_prefix RINGCHAT_BIN doctor args` through the shell, stdout only.
Output doctor(const std::string& args, const std::string& env_prefix = "") {
  const char* bin = std::getenv("RINGCHAT_BIN");
  Output r;
  if (bin == nullptr) {
    ADD_FAILURE() << "RINGCHAT_BIN is not set";
    return r;
  }
  const std::string cmd = env_prefix + " '" + bin + "' doctor " + args + " 2>/dev/null";
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) {
    ADD_FAILURE() << "popen: " << cmd;
    return r;
  }
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof(buf), p)) > 0;) r.out.append(buf, n);
  const int st = pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

struct Parsed {
  std::string verdict;
  uint64_t shards = 0;
  std::set<std::string> names;
  std::string verdict_of(const std::string& name) const {
    auto it = verdicts.find(name);
    return it == verdicts.end() ? "" : it->second;
  }
  std::string need_of(const std::string& name) const {
    auto it = needs.find(name);
    return it == needs.end() ? "" : it->second;
  }
  std::map<std::string, std::string> verdicts, needs;
};

// Parses doctor's JSON, checking every finding's shape on the way.
Parsed parse(const std::string& json) {
  Parsed p;
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(json).get(doc) != simdjson::SUCCESS) {
    ADD_FAILURE() << "not JSON: " << json;
    return p;
  }
  std::string_view s;
  EXPECT_EQ(doc["verdict"].get(s), simdjson::SUCCESS);
  p.verdict = std::string(s);
  EXPECT_EQ(doc["shards"].get(p.shards), simdjson::SUCCESS);
  simdjson::dom::array findings;
  EXPECT_EQ(doc["findings"].get(findings), simdjson::SUCCESS);
  for (simdjson::dom::element f : findings) {
    for (const char* key : {"seen", "fix"}) {
      EXPECT_EQ(f[key].get(s), simdjson::SUCCESS) << key << " in " << json;
    }
    std::string_view name, verdict, need;
    EXPECT_EQ(f["name"].get(name), simdjson::SUCCESS) << json;
    EXPECT_EQ(f["verdict"].get(verdict), simdjson::SUCCESS) << json;
    EXPECT_EQ(f["need"].get(need), simdjson::SUCCESS) << json;
    EXPECT_TRUE(verdict == "ok" || verdict == "warn" || verdict == "fail") << verdict;
    p.names.emplace(name);
    p.verdicts[std::string(name)] = std::string(verdict);
    p.needs[std::string(name)] = std::string(need);
  }
  return p;
}

TEST(DoctorCli, JsonParsesAndTheExitStatusFollowsTheVerdict) {
  const Output r = doctor("--json --threads 2 --target-conns 1000");
  const Parsed p = parse(r.out);
  EXPECT_EQ(p.shards, 2u);
  for (const char* name : {"RLIMIT_NOFILE", "fs.nr_open", "RLIMIT_MEMLOCK", "net.core.somaxconn",
                           "net.ipv4.ip_local_port_range", "net.ipv4.tcp_mem", "io_uring setup",
                           "CPUs", "CPU isolation"}) {
    EXPECT_TRUE(p.names.count(name)) << name << " missing from " << r.out;
  }
  ASSERT_TRUE(p.verdict == "ok" || p.verdict == "warn" || p.verdict == "fail") << p.verdict;
  EXPECT_EQ(r.status, p.verdict == "fail" ? 1 : 0) << r.out;
}

TEST(DoctorCli, ATargetNoShardCanHoldFails) {
  // 100M connections on one shard: more than any direct-descriptor table.
  const Output r = doctor("--json --threads 1 --target-conns 100000000");
  const Parsed p = parse(r.out);
  EXPECT_EQ(p.verdict_of("RLIMIT_NOFILE"), "fail") << r.out;
  EXPECT_EQ(p.verdict, "fail");
  EXPECT_EQ(r.status, 1);
}

TEST(DoctorCli, ServerFlagsAndEnvironmentAreJudged) {
  Parsed p = parse(doctor("--json --rcvbuf 1G --max-conns 2000").out);
  EXPECT_EQ(p.need_of("net.core.rmem_max"), ">= 1073741824 (--rcvbuf)");
  EXPECT_NE(p.need_of("fs.file-max").find("2500"), std::string::npos)  // --max-conns + 25%
      << p.need_of("fs.file-max");
  p = parse(doctor("--json", "RINGCHAT_THREADS=3").out);
  EXPECT_EQ(p.shards, 3u);
}

TEST(DoctorCli, TextHasAHeaderALinePerFindingAndAVerdict) {
  const Output r = doctor("--threads 1");
  ASSERT_FALSE(r.out.empty());
  EXPECT_EQ(r.out.rfind("ringchat doctor: 10000 connections (default", 0), 0u) << r.out;
  const size_t last = r.out.rfind("\nverdict: ");
  ASSERT_NE(last, std::string::npos) << r.out;
  EXPECT_EQ(r.out.back(), '\n');
  const bool line = r.out.find("\nok    CPU isolation") != std::string::npos ||
                    r.out.find("\nWARN  CPU isolation") != std::string::npos;
  EXPECT_TRUE(line) << r.out;
}

TEST(DoctorCli, BadFlagsExit2) {
  EXPECT_EQ(doctor("--no-such-flag").status, 2);
  EXPECT_EQ(doctor("--target-conns x").status, 2);
  EXPECT_EQ(doctor("--target-conns 0").status, 2);
  EXPECT_EQ(doctor("--threads 5000").status, 2);
  const Output help = doctor("--help");
  EXPECT_EQ(help.status, 0);
  EXPECT_NE(help.out.find("--target-conns"), std::string::npos);
  EXPECT_NE(help.out.find("--max-conns"), std::string::npos);
}

}  // namespace
