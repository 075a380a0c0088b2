#include "sse_parser.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace ringchat::ringload {
namespace {

struct Seen {
  std::string type, id, data;
  bool operator==(const Seen&) const = default;
};

// Records what the parser hands out; "#" entries are comments.
struct Recorder : SseSink {
  std::vector<Seen> got;
  void on_event(std::string_view type, std::string_view id, std::string_view data) override {
    got.push_back({std::string(type), std::string(id), std::string(data)});
  }
  void on_comment(std::string_view text) override { got.push_back({"#", "", std::string(text)}); }
};

std::vector<Seen> feed(std::string_view stream) {
  SseParser p;
  Recorder r;
  EXPECT_TRUE(p.feed(stream, r));
  return r.got;
}

// The same stream split into two feeds at every offset, and into three at
// every pair of offsets, gives the same events as one feed.
void expect_split_invariant(std::string_view stream) {
  const std::vector<Seen> whole = feed(stream);
  for (size_t a = 0; a <= stream.size(); ++a) {
    for (size_t b = a; b <= stream.size(); ++b) {
      SseParser p;
      Recorder r;
      p.feed(stream.substr(0, a), r);
      p.feed(stream.substr(a, b - a), r);
      p.feed(stream.substr(b), r);
      ASSERT_EQ(r.got, whole) << "split at " << a << "," << b;
    }
  }
}

const char kRingchat[] =
    "retry: 2000\n\n"
    "event: joined\nid: 5f1c0a2b3c4d5e6f:57\ndata: {\"epoch\":\"5f1c0a2b3c4d5e6f\",\"seq\":57}\n\n"
    "id: 5f1c0a2b3c4d5e6f:58\ndata: hello\n\n"
    ": hb\n\n";

TEST(SseParser, ReadsRingchatStream) {
  const auto got = feed(kRingchat);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0],
            (Seen{"joined", "5f1c0a2b3c4d5e6f:57", R"({"epoch":"5f1c0a2b3c4d5e6f","seq":57})"}));
  EXPECT_EQ(got[1], (Seen{"", "5f1c0a2b3c4d5e6f:58", "hello"}));
  EXPECT_EQ(got[2], (Seen{"#", "", " hb"}));
}

TEST(SseParser, CrLfAndCrEndLinesLikeLf) {
  const std::vector<Seen> want = {{"", "1", "a\nb"}};
  EXPECT_EQ(feed("id: 1\ndata: a\ndata: b\n\n"), want);
  EXPECT_EQ(feed("id: 1\r\ndata: a\r\ndata: b\r\n\r\n"), want);
  EXPECT_EQ(feed("id: 1\rdata: a\rdata: b\r\r"), want);
  EXPECT_EQ(feed("id: 1\r\ndata: a\rdata: b\n\r\n"), want);
}

TEST(SseParser, EverySplitGivesTheSameEvents) {
  expect_split_invariant(kRingchat);
  expect_split_invariant("id: 1\r\ndata: a\rdata: b\r\n\r\n: c\r\rdata\n\n");
  expect_split_invariant(
      "\xEF\xBB\xBF"
      "data: bom\n\n");
}

TEST(SseParser, DataLinesJoinWithLf) {
  EXPECT_EQ(feed("data: x\ndata\ndata:y\n\n"), (std::vector<Seen>{{"", "", "x\n\ny"}}));
}

TEST(SseParser, OnlyOneLeadingSpaceIsDropped) {
  EXPECT_EQ(feed("data:  two\n\n"), (std::vector<Seen>{{"", "", " two"}}));
}

TEST(SseParser, BlockWithoutDataDispatchesNothing) {
  EXPECT_TRUE(feed("retry: 10\n\nid: 4\nevent: x\n\n").empty());
}

TEST(SseParser, IdPersistsAndEventTypeDoesNot) {
  const auto got = feed("event: a\nid: 7\ndata: 1\n\ndata: 2\n\n");
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[1], (Seen{"", "7", "2"}));
}

TEST(SseParser, IgnoresUnknownFieldsAndLeadingBom) {
  EXPECT_EQ(feed("\xEF\xBB\xBF"
                 "foo: bar\ndata: d\n\n"),
            (std::vector<Seen>{{"", "", "d"}}));
}

TEST(SseParser, NchanStream) {
  const auto got = feed(": hi\n\nid: 1796612856:0\ndata: hello\ndata: two\n\n");
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[1], (Seen{"", "1796612856:0", "hello\ntwo"}));
}

TEST(SseParser, RejectsOverlongLine) {
  SseParser p;
  p.set_max_line(8);
  Recorder r;
  EXPECT_FALSE(p.feed("data: 0123456789", r));
  EXPECT_FALSE(p.feed("\n\n", r));
}

TEST(SseParser, RandomStreamsAreSplitInvariant) {
  std::mt19937 rng(7);
  const std::string_view pieces[] = {"data: a", "data:", "id: 9", "event: e", ": c",     "",
                                     "\n",      "\r",    "\r\n",  "x",        "retry: 1"};
  for (int round = 0; round < 40; ++round) {
    std::string s;
    for (int k = 0; k < 12; ++k) s += pieces[rng() % std::size(pieces)];
    const auto whole = feed(s);
    for (size_t a = 0; a <= s.size(); ++a) {
      SseParser p;
      Recorder r;
      p.feed(std::string_view(s).substr(0, a), r);
      p.feed(std::string_view(s).substr(a), r);
      ASSERT_EQ(r.got, whole) << s << " split at " << a;
    }
  }
}

}  // namespace
}  // namespace ringchat::ringload
