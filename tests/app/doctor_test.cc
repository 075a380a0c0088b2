// evaluate() on fabricated facts: every check at the edges of its verdicts,
// and both ways of printing the findings.
#include "ringchat/app/doctor.h"

#include <gtest/gtest.h>
#include <liburing.h>
#include <simdjson.h>

#include <cerrno>
#include <sstream>

namespace ringchat::app::doctor {
namespace {

Facts healthy() {
  Facts f;
  f.kernel = "6.1.0-test";
  f.kernel_major = 6;
  f.kernel_minor = 1;
  f.nofile = Rlimit{1u << 20, 1u << 20};
  f.memlock = Rlimit{8u << 20, 8u << 20};
  f.nr_open = 1u << 20;
  f.file_max = uint64_t{1} << 40;
  f.somaxconn = 4096;
  f.syn_backlog = 4096;
  f.syncookies = 1;
  f.port_range = std::array<uint64_t, 2>{1024, 65535};
  f.tcp_rmem = std::array<uint64_t, 3>{4096, 131072, 6291456};
  f.tcp_wmem = std::array<uint64_t, 3>{4096, 16384, 4194304};
  f.tcp_mem = std::array<uint64_t, 3>{1u << 21, 3u << 20, 1u << 22};  // max 16 GiB
  f.rmem_max = 4194304;
  f.wmem_max = 4194304;
  f.ring.disabled = 0;
  f.ring.created = true;
  f.ring.setup = "SINGLE_ISSUER+DEFER_TASKRUN";
  f.ring.full_setup = true;
  f.ring.features = IORING_FEAT_NODROP | IORING_FEAT_FAST_POLL | IORING_FEAT_EXT_ARG;
  f.ring.recv_ok = true;
  f.ring.recv_detail = "works";
  f.online_cpus = 4;
  f.affinity = {0, 1, 2, 3};
  return f;
}

Needs needs(uint64_t target, unsigned shards) {
  Needs n;
  n.target_conns = target;
  n.shards = shards;
  n.listen_backlog = 4096;
  n.ring_bytes = 1u << 20;
  return n;
}

class DoctorTest : public ::testing::Test {
 protected:
  // The finding called `name` in evaluate(facts_, needs_); fails the test
  // (and returns an empty one) if there is none.
  Finding get(const std::string& name) {
    for (Finding& f : evaluate(facts_, needs_)) {
      if (f.name == name) return f;
    }
    ADD_FAILURE() << "no finding " << name;
    return {};
  }
  Verdict verdict(const std::string& name) { return get(name).verdict; }
  bool has(const std::string& name) {
    for (const Finding& f : evaluate(facts_, needs_)) {
      if (f.name == name) return true;
    }
    return false;
  }

  Facts facts_ = healthy();
  Needs needs_ = needs(10000, 2);
};

TEST_F(DoctorTest, HealthyMachineIsAllOkWithNoFixes) {
  const auto all = evaluate(facts_, needs_);
  EXPECT_EQ(all.size(), 17u);
  for (const Finding& f : all) {
    EXPECT_EQ(f.verdict, Verdict::kOk) << f.name << ": " << f.seen << " / " << f.need;
    EXPECT_TRUE(f.fix.empty()) << f.name;
    EXPECT_FALSE(f.seen.empty()) << f.name;
    EXPECT_FALSE(f.need.empty()) << f.name;
  }
  EXPECT_EQ(overall(all), Verdict::kOk);
}

TEST_F(DoctorTest, NofileJudgesEachShardsTableWithAQuarterToSpare) {
  // 10000 connections on 2 shards: 5000 each, 6250 with headroom.
  facts_.nofile = Rlimit{1024, 6250};
  EXPECT_EQ(verdict("RLIMIT_NOFILE"), Verdict::kOk);
  facts_.nofile = Rlimit{1024, 6249};
  EXPECT_EQ(verdict("RLIMIT_NOFILE"), Verdict::kWarn);
  facts_.nofile = Rlimit{1024, 5000};
  EXPECT_EQ(verdict("RLIMIT_NOFILE"), Verdict::kWarn);
  facts_.nofile = Rlimit{1024, 4999};
  const Finding f = get("RLIMIT_NOFILE");
  EXPECT_EQ(f.verdict, Verdict::kFail);
  EXPECT_NE(f.seen.find("hard 4999"), std::string::npos) << f.seen;
  EXPECT_NE(f.seen.find("9998 conns"), std::string::npos) << f.seen;
  EXPECT_NE(f.fix.find("ulimit -n 8192"), std::string::npos) << f.fix;
  EXPECT_NE(f.fix.find("LimitNOFILE=8192"), std::string::npos) << f.fix;
  facts_.nofile = Rlimit{kUnlimited, kUnlimited};
  EXPECT_EQ(verdict("RLIMIT_NOFILE"), Verdict::kOk);
}

TEST_F(DoctorTest, NofileBeyondOneRingsTableAsksForMoreShards) {
  needs_ = needs(4'000'000, 2);  // 2M per shard; a table holds 1M
  facts_.nofile = Rlimit{kUnlimited, kUnlimited};
  const Finding f = get("RLIMIT_NOFILE");
  EXPECT_EQ(f.verdict, Verdict::kFail);
  EXPECT_EQ(f.fix.rfind("--threads 5 ", 0), 0u) << f.fix;  // 5M with headroom / 1M
  needs_ = needs(4'000'000, 5);
  EXPECT_EQ(verdict("RLIMIT_NOFILE"), Verdict::kOk);
}

TEST_F(DoctorTest, NrOpenCapsTheHardLimit) {
  facts_.nr_open = 6250;
  EXPECT_EQ(verdict("fs.nr_open"), Verdict::kOk);
  facts_.nr_open = 6249;
  EXPECT_EQ(verdict("fs.nr_open"), Verdict::kWarn);
  facts_.nr_open = 4999;
  EXPECT_EQ(verdict("fs.nr_open"), Verdict::kFail);
  EXPECT_EQ(get("fs.nr_open").fix, "sysctl -w fs.nr_open=8192");
}

TEST_F(DoctorTest, FileMaxCountsEveryConnection) {
  facts_.file_max = 12500;
  EXPECT_EQ(verdict("fs.file-max"), Verdict::kOk);
  facts_.file_max = 12499;
  EXPECT_EQ(verdict("fs.file-max"), Verdict::kWarn);
  facts_.file_max = 10000;
  EXPECT_EQ(verdict("fs.file-max"), Verdict::kWarn);
  facts_.file_max = 9999;
  EXPECT_EQ(verdict("fs.file-max"), Verdict::kFail);
  EXPECT_EQ(get("fs.file-max").fix, "sysctl -w fs.file-max=16384");
}

TEST_F(DoctorTest, MemlockFailsOnlyWhereTheKernelChargesRings) {
  // Two shards of 1 MiB each.
  facts_.kernel_major = 5;
  facts_.kernel_minor = 11;
  facts_.memlock = Rlimit{2u << 20, 2u << 20};
  EXPECT_EQ(verdict("RLIMIT_MEMLOCK"), Verdict::kOk);
  facts_.memlock = Rlimit{(2u << 20) - 1, 2u << 20};  // the soft limit is what counts
  const Finding f = get("RLIMIT_MEMLOCK");
  EXPECT_EQ(f.verdict, Verdict::kFail);
  EXPECT_EQ(f.fix, "ulimit -l 2048, or LimitMEMLOCK=2048K in the systemd unit");
  facts_.memlock = Rlimit{kUnlimited, kUnlimited};
  EXPECT_EQ(verdict("RLIMIT_MEMLOCK"), Verdict::kOk);
  facts_.kernel_minor = 12;
  facts_.memlock = Rlimit{65536, 65536};
  EXPECT_EQ(verdict("RLIMIT_MEMLOCK"), Verdict::kOk);
  EXPECT_NE(get("RLIMIT_MEMLOCK").need.find("not charged"), std::string::npos);
}

TEST_F(DoctorTest, SomaxconnBelowTheListenBacklogWarns) {
  facts_.somaxconn = 4095;
  const Finding f = get("net.core.somaxconn");
  EXPECT_EQ(f.verdict, Verdict::kWarn);
  EXPECT_EQ(f.fix, "sysctl -w net.core.somaxconn=4096");
  facts_.somaxconn = 4096;
  EXPECT_EQ(verdict("net.core.somaxconn"), Verdict::kOk);
}

TEST_F(DoctorTest, SynBacklogMattersOnlyWithoutSyncookies) {
  facts_.syn_backlog = 128;
  EXPECT_EQ(verdict("net.ipv4.tcp_max_syn_backlog"), Verdict::kOk);
  facts_.syncookies = 0;
  EXPECT_EQ(verdict("net.ipv4.tcp_max_syn_backlog"), Verdict::kWarn);
  facts_.syn_backlog = 4096;
  EXPECT_EQ(verdict("net.ipv4.tcp_max_syn_backlog"), Verdict::kOk);
  facts_.syn_backlog = 4095;
  EXPECT_EQ(get("net.ipv4.tcp_max_syn_backlog").fix, "sysctl -w net.ipv4.tcp_max_syn_backlog=4096");
}

TEST_F(DoctorTest, PortRangeBoundsALoadTestFromOneAddress) {
  facts_.port_range = std::array<uint64_t, 2>{50001, 60000};  // 10000 ports
  EXPECT_EQ(verdict("net.ipv4.ip_local_port_range"), Verdict::kOk);
  facts_.port_range = std::array<uint64_t, 2>{50002, 60000};
  EXPECT_EQ(verdict("net.ipv4.ip_local_port_range"), Verdict::kWarn);
  needs_ = needs(100000, 2);  // more than any range holds
  facts_.port_range = std::array<uint64_t, 2>{1024, 65535};
  EXPECT_NE(get("net.ipv4.ip_local_port_range").fix.find("several client addresses"),
            std::string::npos);
}

TEST_F(DoctorTest, TcpMemHoldsEveryConnectionsDefaultBuffers) {
  // 10000 x (131072 + 16384) bytes = 360000 pages of 4 KiB.
  facts_.tcp_mem = std::array<uint64_t, 3>{1, 2, 360000};
  EXPECT_EQ(verdict("net.ipv4.tcp_mem"), Verdict::kOk);
  facts_.tcp_mem = std::array<uint64_t, 3>{1, 2, 359999};
  const Finding f = get("net.ipv4.tcp_mem");
  EXPECT_EQ(f.verdict, Verdict::kWarn);
  EXPECT_EQ(f.fix, "sysctl -w net.ipv4.tcp_mem=\"180000 240000 360000\" (RAM permitting)");
  facts_.tcp_rmem.reset();
  EXPECT_EQ(verdict("net.ipv4.tcp_mem"), Verdict::kWarn);  // unknown
}

TEST_F(DoctorTest, SocketBufferMaximaMatterOnlyForSetBuffers) {
  facts_.rmem_max = 212992;
  facts_.wmem_max = 212992;
  EXPECT_EQ(verdict("net.core.rmem_max"), Verdict::kOk);  // autotuning
  needs_.rcvbuf = 212992;
  EXPECT_EQ(verdict("net.core.rmem_max"), Verdict::kOk);
  needs_.rcvbuf = 212993;
  EXPECT_EQ(verdict("net.core.rmem_max"), Verdict::kWarn);
  EXPECT_EQ(get("net.core.rmem_max").fix, "sysctl -w net.core.rmem_max=212993");
  needs_.sndbuf = 1u << 20;
  EXPECT_EQ(verdict("net.core.wmem_max"), Verdict::kWarn);
  EXPECT_EQ(get("net.core.wmem_max").fix, "sysctl -w net.core.wmem_max=1048576");
}

TEST_F(DoctorTest, IoUringDisabledFailsUnlessThisUserMayStillMakeRings) {
  facts_.ring.disabled.reset();  // before Linux 6.6
  EXPECT_EQ(verdict("kernel.io_uring_disabled"), Verdict::kOk);
  facts_.ring.disabled = 1;
  EXPECT_EQ(verdict("kernel.io_uring_disabled"), Verdict::kOk);
  facts_.ring.created = false;
  facts_.ring.error = EPERM;
  EXPECT_EQ(verdict("kernel.io_uring_disabled"), Verdict::kFail);
  facts_.ring.disabled = 2;
  EXPECT_EQ(get("kernel.io_uring_disabled").fix, "sysctl -w kernel.io_uring_disabled=0");
}

TEST_F(DoctorTest, RingSetupFallbackWarnsAndFailureFailsAlone) {
  facts_.ring.full_setup = false;
  facts_.ring.setup = "COOP_TASKRUN (no DEFER_TASKRUN)";
  EXPECT_EQ(verdict("io_uring setup"), Verdict::kWarn);
  facts_.ring.created = false;
  facts_.ring.setup = "io_uring_queue_init";
  facts_.ring.error = EPERM;
  const Finding f = get("io_uring setup");
  EXPECT_EQ(f.verdict, Verdict::kFail);
  EXPECT_EQ(f.seen.rfind("io_uring_queue_init: ", 0), 0u) << f.seen;
  EXPECT_NE(f.fix.find("seccomp"), std::string::npos) << f.fix;
  // Without a ring there is nothing more to probe: one failure, not four.
  EXPECT_FALSE(has("io_uring opcodes"));
  EXPECT_FALSE(has("io_uring multishot recv"));
}

TEST_F(DoctorTest, MissingOpcodeOrRecvFailsAndMissingFeatureWarns) {
  facts_.ring.missing_ops = {"MSG_RING (5.18)"};
  EXPECT_EQ(verdict("io_uring opcodes"), Verdict::kFail);
  EXPECT_EQ(get("io_uring opcodes").seen, "missing MSG_RING (5.18)");
  facts_.ring.features &= ~IORING_FEAT_EXT_ARG;
  EXPECT_EQ(verdict("io_uring features"), Verdict::kWarn);
  EXPECT_EQ(get("io_uring features").seen, "missing EXT_ARG");
  facts_.ring.recv_ok = false;
  EXPECT_EQ(verdict("io_uring multishot recv"), Verdict::kFail);
}

TEST_F(DoctorTest, MoreShardsThanCpusWarns) {
  needs_ = needs(10000, 4);
  EXPECT_EQ(verdict("CPUs"), Verdict::kOk);
  needs_ = needs(10000, 5);
  const Finding f = get("CPUs");
  EXPECT_EQ(f.verdict, Verdict::kWarn);
  EXPECT_EQ(f.fix.rfind("--threads 4", 0), 0u) << f.fix;
}

TEST_F(DoctorTest, IsolatedCpusOutsideTheMaskWarn) {
  facts_.isolated = {2, 3};
  facts_.affinity = {0, 1};
  const Finding f = get("CPU isolation");
  EXPECT_EQ(f.verdict, Verdict::kWarn);
  EXPECT_EQ(f.seen, "isolated 2-3, mask 0-1");
  EXPECT_EQ(f.fix, "taskset -c 2-3 ringchat ...");
  facts_.affinity = {1, 2, 3};  // a housekeeping CPU among them
  EXPECT_EQ(verdict("CPU isolation"), Verdict::kWarn);
  facts_.affinity = {2, 3};
  EXPECT_EQ(verdict("CPU isolation"), Verdict::kOk);
}

TEST_F(DoctorTest, UnreadableFactsWarn) {
  facts_.somaxconn.reset();
  facts_.nofile.reset();
  EXPECT_EQ(verdict("net.core.somaxconn"), Verdict::kWarn);
  EXPECT_EQ(verdict("RLIMIT_NOFILE"), Verdict::kWarn);
  EXPECT_EQ(overall(evaluate(facts_, needs_)), Verdict::kWarn);
}

TEST(DoctorNeeds, TargetIsGivenOrMaxConnsOrTheDefault) {
  Config cfg;
  Facts f = healthy();
  Needs n = needs_for(cfg, f, 0);
  EXPECT_EQ(n.target_conns, kDefaultTarget);
  EXPECT_FALSE(n.target_given);
  EXPECT_EQ(n.shards, 4u);  // one per CPU of the mask
  EXPECT_EQ(n.listen_backlog, 4096u);
  EXPECT_GT(n.ring_bytes, 256u * 1024);
  cfg.shard.conn_limits.max_conns = 50000;
  cfg.threads = 3;
  cfg.shard.rcvbuf = 65536;
  n = needs_for(cfg, f, 0);
  EXPECT_EQ(n.target_conns, 50000u);
  EXPECT_TRUE(n.target_given);
  EXPECT_EQ(n.shards, 3u);
  EXPECT_EQ(n.rcvbuf, 65536u);
  EXPECT_EQ(needs_for(cfg, f, 7).target_conns, 7u);
}

std::vector<std::string> lines_of(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

TEST(DoctorText, OneAlignedLinePerFindingThenTheVerdict) {
  Facts f = healthy();
  f.somaxconn = 128;
  const Needs n = needs(10000, 2);
  const auto findings = evaluate(f, n);
  const auto lines = lines_of(to_text(f, n, findings));
  ASSERT_EQ(lines.size(), findings.size() + 2);
  EXPECT_EQ(lines[0].rfind("ringchat doctor: 10000 connections", 0), 0u) << lines[0];
  size_t seen_col = std::string::npos;
  for (size_t i = 0; i < findings.size(); ++i) {
    const std::string& line = lines[i + 1];
    const std::string v = findings[i].verdict == Verdict::kOk ? "ok  " : "WARN";
    EXPECT_EQ(line.substr(0, 4), v) << line;
    EXPECT_EQ(line.substr(6, findings[i].name.size()), findings[i].name) << line;
    const size_t col = line.find(findings[i].seen, 6 + findings[i].name.size());
    if (seen_col == std::string::npos) seen_col = col;
    EXPECT_EQ(col, seen_col) << line;
  }
  EXPECT_NE(lines[5].find("fix: sysctl -w net.core.somaxconn=4096"), std::string::npos) << lines[5];
  EXPECT_EQ(lines.back(), "verdict: warn (16 ok, 1 warn, 0 fail)");
}

TEST(DoctorJson, ParsesAndKeepsEveryStringExactly) {
  Facts f = healthy();
  f.kernel = "6.1 \"quoted\" back\\slash\nnew\x01line";
  f.ring.recv_ok = false;
  f.ring.recv_detail = "tab\there \x7f";
  const Needs n = needs(10000, 2);
  const auto findings = evaluate(f, n);
  const std::string json = to_json(f, n, findings);
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  ASSERT_EQ(parser.parse(json).get(doc), simdjson::SUCCESS) << json;
  std::string_view s;
  ASSERT_EQ(doc["kernel"].get(s), simdjson::SUCCESS);
  EXPECT_EQ(s, f.kernel);
  ASSERT_EQ(doc["verdict"].get(s), simdjson::SUCCESS);
  EXPECT_EQ(s, "fail");
  uint64_t v = 0;
  ASSERT_EQ(doc["target_conns"].get(v), simdjson::SUCCESS);
  EXPECT_EQ(v, 10000u);
  simdjson::dom::array arr;
  ASSERT_EQ(doc["findings"].get(arr), simdjson::SUCCESS);
  ASSERT_EQ(arr.size(), findings.size());
  size_t i = 0;
  for (simdjson::dom::element e : arr) {
    const Finding& want = findings[i++];
    const std::vector<std::pair<const char*, std::string>> fields = {
        {"name", want.name},
        {"seen", want.seen},
        {"need", want.need},
        {"fix", want.fix},
        {"verdict", std::string(to_string(want.verdict))}};
    for (const auto& [key, value] : fields) {
      ASSERT_EQ(e[key].get(s), simdjson::SUCCESS) << key;
      EXPECT_EQ(s, value) << key;
    }
  }
}

TEST(DoctorCpuList, PrintsRangesAndParsesThemBack) {
  EXPECT_EQ(cpu_list({}), "none");
  EXPECT_EQ(cpu_list({0, 1, 2, 3, 8, 10, 11}), "0-3,8,10-11");
  EXPECT_EQ(parse_cpu_list("0-3,8,10-11\n"), (std::vector<int>{0, 1, 2, 3, 8, 10, 11}));
  EXPECT_EQ(parse_cpu_list("\n"), std::vector<int>{});
  EXPECT_EQ(parse_cpu_list("5"), std::vector<int>{5});
  for (const char* bad : {"3x", "-1", "3-", "5-3", "1-2-3", "a", "1,,2"}) {
    EXPECT_EQ(parse_cpu_list(bad), std::vector<int>{}) << bad;
  }
}

}  // namespace
}  // namespace ringchat::app::doctor
