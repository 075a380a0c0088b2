// The README's option table is written by hand from the option declarations:
// this keeps the two from drifting apart.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "ringchat/app/config.h"

namespace ringchat::app {
namespace {

std::string read_file(const char* path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::set<std::string> flags_in(const std::string& text, const std::regex& re) {
  std::set<std::string> out;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), re); it != std::sregex_iterator();
       ++it) {
    out.insert((*it)[1].str());
  }
  return out;
}

TEST(Readme, DocumentsEveryCommandLineOption) {
  const char* argv[] = {"ringchat", "--help"};
  auto r = parse_config(2, argv);
  ASSERT_FALSE(r.ok());
  ASSERT_EQ(r.error().code, 0);
  const std::string readme = read_file(RINGCHAT_README);
  ASSERT_FALSE(readme.empty()) << "cannot read " << RINGCHAT_README;
  const auto in_help = flags_in(r.error().message, std::regex(R"((--[a-z][a-z-]+))"));
  const auto in_readme = flags_in(readme, std::regex(R"(`(--[a-z][a-z-]+)`)"));
  ASSERT_GT(in_help.size(), 10u);
  for (const std::string& flag : in_help) {
    if (flag == "--help" || flag == "--version") continue;
    EXPECT_TRUE(in_readme.count(flag)) << flag << " is in --help but not in README.md";
  }
}

}  // namespace
}  // namespace ringchat::app
