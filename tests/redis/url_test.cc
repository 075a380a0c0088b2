#include "ringchat/redis/url.h"

#include <gtest/gtest.h>

#include <string>

namespace ringchat::redis {
namespace {

Endpoint ok(std::string_view url) {
  auto r = parse_url(url);
  EXPECT_TRUE(r.ok()) << url << ": " << (r.ok() ? "" : r.error());
  return r.ok() ? *r : Endpoint{};
}

std::string fails(std::string_view url) {
  auto r = parse_url(url);
  EXPECT_FALSE(r.ok()) << url << " parsed";
  return r.ok() ? std::string() : r.error();
}

TEST(ParseUrl, HostAloneTakesTheDefaults) {
  Endpoint ep = ok("redis://cache.internal");
  EXPECT_EQ(ep.host, "cache.internal");
  EXPECT_EQ(ep.port, 6379);
  EXPECT_EQ(ep.db, 0u);
  EXPECT_TRUE(ep.user.empty());
  EXPECT_TRUE(ep.password.empty());
  EXPECT_TRUE(ep.unix_path.empty());
}

TEST(ParseUrl, PortAndDb) {
  Endpoint ep = ok("redis://127.0.0.1:7000/3");
  EXPECT_EQ(ep.host, "127.0.0.1");
  EXPECT_EQ(ep.port, 7000);
  EXPECT_EQ(ep.db, 3u);
  EXPECT_EQ(ok("redis://h/").db, 0u);
  EXPECT_EQ(ok("redis://h:65535").port, 65535);
}

TEST(ParseUrl, PasswordOnlyAndUserWithPassword) {
  Endpoint a = ok("redis://:secret@h:1");
  EXPECT_EQ(a.user, "");
  EXPECT_EQ(a.password, "secret");
  Endpoint b = ok("redis://alice:secret@h");
  EXPECT_EQ(b.user, "alice");
  EXPECT_EQ(b.password, "secret");
  EXPECT_EQ(b.host, "h");
}

TEST(ParseUrl, CredentialsArePercentDecoded) {
  Endpoint ep = ok("redis://al%69ce:p%40ss%3Aw%2fd@h");
  EXPECT_EQ(ep.user, "alice");
  EXPECT_EQ(ep.password, "p@ss:w/d");
  EXPECT_EQ(ok("redis://:a%00b@h").password, std::string("a\0b", 3));
}

TEST(ParseUrl, ColonInPasswordNeedsNoEncoding) { EXPECT_EQ(ok("redis://u:a:b@h").password, "a:b"); }

TEST(ParseUrl, Ipv6InBrackets) {
  Endpoint ep = ok("redis://[::1]:6380/2");
  EXPECT_EQ(ep.host, "::1");
  EXPECT_EQ(ep.port, 6380);
  EXPECT_EQ(ep.db, 2u);
  EXPECT_EQ(ok("redis://[fe80::1]").port, 6379);
}

TEST(ParseUrl, UnixSocketWithAndWithoutDb) {
  Endpoint a = ok("unix:///run/redis/redis.sock");
  EXPECT_EQ(a.unix_path, "/run/redis/redis.sock");
  EXPECT_TRUE(a.host.empty());
  EXPECT_EQ(a.db, 0u);
  EXPECT_EQ(ok("unix:///tmp/r.sock?db=5").db, 5u);
}

TEST(ParseUrl, RedissIsNotSupported) {
  EXPECT_NE(fails("rediss://h:6380").find("not supported"), std::string::npos);
}

TEST(ParseUrl, OtherSchemesNameTheForms) {
  std::string e = fails("http://h");
  EXPECT_NE(e.find("redis://"), std::string::npos) << e;
  EXPECT_NE(e.find("unix://"), std::string::npos) << e;
  fails("");
  fails("redis:/h");
  fails("h:6379");
}

TEST(ParseUrl, BadPorts) {
  EXPECT_NE(fails("redis://h:0").find("bad port"), std::string::npos);
  fails("redis://h:65536");
  fails("redis://h:-1");
  fails("redis://h:12ab");
  fails("redis://h:");
  fails("redis://[::1]:");
}

TEST(ParseUrl, BadDatabases) {
  EXPECT_NE(fails("redis://h/x").find("bad database"), std::string::npos);
  fails("redis://h/-1");
  fails("redis://h/2147483648");
  fails("redis://h/1/2");
  fails("unix:///s?db=");
  fails("unix:///s?db=a");
  fails("unix:///s?foo=1");
}

TEST(ParseUrl, BadHostsAndCredentials) {
  EXPECT_NE(fails("redis://").find("no host"), std::string::npos);
  fails("redis://:6379");
  fails("redis://[::1");
  fails("redis://[]:1");
  fails("redis://[::1]x");
  fails("redis://::1:6379");
  EXPECT_NE(fails("redis://user@h").find("password"), std::string::npos);
  fails("redis://u:@h");
  fails("redis://:p%4@h");
  fails("redis://:p%zz@h");
  fails("redis://h?x=1");
  fails("unix://relative/path");
  fails("unix://");
}

TEST(ParseUrl, ErrorsNeverQuoteThePassword) {
  // Errors reach logs and the console: they name the part that is wrong,
  // never the whole URL.
  for (std::string_view url : {"redis://u:hunter2@h:bad", "redis://:hunter2@h/x",
                               "redis://:hunter2@[::1", "redis://:hunter2%zz@h"}) {
    EXPECT_EQ(fails(url).find("hunter2"), std::string::npos) << url;
  }
}

TEST(Redacted, HidesThePassword) {
  Endpoint ep = ok("redis://alice:s3cret@h:7000/4");
  std::string r = redacted(ep);
  EXPECT_EQ(r, "redis://alice:***@h:7000/4");
  EXPECT_EQ(r.find("s3cret"), std::string::npos);
  EXPECT_EQ(redacted(ok("redis://:pw@h")), "redis://:***@h:6379");
}

TEST(Redacted, RoundTripsWithoutSecrets) {
  for (std::string_view url : {"redis://h:6379", "redis://[::1]:6380/2", "unix:///tmp/r.sock",
                               "unix:///tmp/r.sock?db=3", "redis://h:1/9"}) {
    EXPECT_EQ(redacted(ok(url)), url);
  }
  EXPECT_EQ(redacted(ok("redis://a%20b:x@h")), "redis://a%20b:***@h:6379");
}

}  // namespace
}  // namespace ringchat::redis
