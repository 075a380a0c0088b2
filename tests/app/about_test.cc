#include "ringchat/app/about.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <string_view>
#include <vector>

namespace ringchat::app {
namespace {

Config parsed(std::vector<const char*> argv) {
  argv.insert(argv.begin(), "ringchat");
  auto c = parse_config(static_cast<int>(argv.size()), argv.data());
  EXPECT_TRUE(c.ok());
  return c.ok() ? *c : Config{};
}

TEST(AboutJson, StatesTheBuildTheConfigurationAndDoctorsVerdicts) {
  const std::string about = about_json(parsed(
      {"--port", "9123", "--no-echo", "--api-key", "sekrit-sekrit-sekrit-sekrit-sekrit-sekrit"}));
  simdjson::dom::parser p;
  simdjson::dom::element root;
  ASSERT_EQ(p.parse(about).get(root), simdjson::SUCCESS) << about;
  std::string_view version, verdict, key;
  EXPECT_EQ(root.at_pointer("/build/version").get(version), simdjson::SUCCESS);
  EXPECT_FALSE(version.empty());
  EXPECT_EQ(root.at_pointer("/build/compiler").error(), simdjson::SUCCESS);
  int64_t port = 0;
  EXPECT_EQ(root.at_pointer("/config/port").get(port), simdjson::SUCCESS);
  EXPECT_EQ(port, 9123);
  bool no_echo = false;
  EXPECT_EQ(root.at_pointer("/config/no-echo").get(no_echo), simdjson::SUCCESS);
  EXPECT_TRUE(no_echo);
  EXPECT_EQ(root.at_pointer("/config/api-key").get(key), simdjson::SUCCESS);
  EXPECT_EQ(key, "<set>");
  EXPECT_EQ(about.find("sekrit"), std::string::npos);
  EXPECT_EQ(root.at_pointer("/doctor/verdict").get(verdict), simdjson::SUCCESS);
  EXPECT_TRUE(verdict == "ok" || verdict == "warn" || verdict == "fail") << verdict;
  EXPECT_GT(root.at_pointer("/doctor/findings").get_array().size(), 5u);
}

}  // namespace
}  // namespace ringchat::app
