#include "ringchat/redis/command.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "ringchat/redis/reply.h"

namespace ringchat::redis {
namespace {

std::string encode(std::vector<std::string_view> argv) {
  std::string out;
  append_command(out, argv);
  EXPECT_EQ(out.size(), command_size(argv));
  return out;
}

// Decodes `bytes` as one reply: a command is an array of bulk strings.
std::vector<std::string> decode_args(const std::string& bytes) {
  Decoder d;
  d.feed(bytes);
  auto r = d.next();
  EXPECT_TRUE(r.ok());
  if (!r.ok() || !r->has_value()) return {};
  Reply v = (*r)->view();
  EXPECT_EQ(v.type(), ReplyType::kArray);
  std::vector<std::string> out;
  for (size_t i = 0; i < v.size(); ++i) {
    EXPECT_EQ(v[i].type(), ReplyType::kString);
    out.emplace_back(v[i].str());
  }
  auto rest = d.next();
  EXPECT_TRUE(rest.ok() && !rest->has_value()) << "bytes after the command";
  return out;
}

TEST(AppendCommand, ExactBytes) {
  EXPECT_EQ(encode({"PING"}), "*1\r\n$4\r\nPING\r\n");
  EXPECT_EQ(encode({"SET", "k", ""}), "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n");
}

TEST(AppendCommand, AppendsAfterWhatIsThere) {
  std::string out = "x";
  std::vector<std::string_view> a = {"GET", "k"};
  append_command(out, a);
  append_command(out, a);
  EXPECT_EQ(out, "x*2\r\n$3\r\nGET\r\n$1\r\nk\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n");
}

TEST(AppendCommand, BinaryArgumentsRoundTripThroughTheDecoder) {
  const std::string nasty("a\r\nb\0c$*\r\n", 10);
  const std::string big(100000, 'z');
  std::vector<std::string_view> argv = {"PUBLISH", nasty, big, ""};
  std::vector<std::string> back = decode_args(encode(argv));
  ASSERT_EQ(back.size(), 4u);
  EXPECT_EQ(back[0], "PUBLISH");
  EXPECT_EQ(back[1], nasty);
  EXPECT_EQ(back[2], big);
  EXPECT_EQ(back[3], "");
}

TEST(AppendCommand, RandomArgvRoundTrips) {
  std::mt19937 rng(12);
  for (int round = 0; round < 200; ++round) {
    std::vector<std::string> args(1 + rng() % 12);
    for (std::string& a : args) {
      a.resize(rng() % (round % 10 == 0 ? 3000 : 40));
      for (char& c : a) c = static_cast<char>(rng());
    }
    std::vector<std::string_view> argv(args.begin(), args.end());
    EXPECT_EQ(decode_args(encode(argv)), args) << "round " << round;
  }
}

}  // namespace
}  // namespace ringchat::redis
