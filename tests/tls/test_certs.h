#pragma once
// A self-signed certificate and its key, made at test time with the openssl
// command line (never checked in): CN and subjectAltName localhost and
// 127.0.0.1, valid for two days.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

namespace ringchat::testing {

struct TestCert {
  std::string dir;
  std::string cert;
  std::string key;

  // `kind`: "ec" (P-256) or "rsa" (2048 bits). Empty paths if openssl failed.
  static TestCert make(const std::string& kind = "ec", const std::string& name = "localhost") {
    TestCert t;
    char tmpl[] = "/tmp/ringchat-cert-XXXXXX";
    if (!mkdtemp(tmpl)) return t;
    t.dir = tmpl;
    const std::string key =
        kind == "rsa" ? "-newkey rsa:2048" : "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1";
    const std::string cmd = "openssl req -x509 " + key + " -nodes -days 2 -subj /CN=" + name +
                            " -addext subjectAltName=DNS:" + name + ",IP:127.0.0.1 -keyout " +
                            t.dir + "/key.pem -out " + t.dir + "/cert.pem >/dev/null 2>&1";
    if (std::system(cmd.c_str()) != 0) return t;
    t.cert = t.dir + "/cert.pem";
    t.key = t.dir + "/key.pem";
    return t;
  }
  ~TestCert() {
    if (!dir.empty()) std::filesystem::remove_all(dir);
  }
  TestCert() = default;
  TestCert(TestCert&& o) noexcept
      : dir(std::move(o.dir)), cert(std::move(o.cert)), key(std::move(o.key)) {
    o.dir.clear();
  }
  TestCert& operator=(TestCert&&) = delete;
};

}  // namespace ringchat::testing
