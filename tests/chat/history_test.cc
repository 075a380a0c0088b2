#include "ringchat/chat/history.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "ringchat/chat/mail.h"
#include "ringchat/ws/frame_encoder.h"

namespace ringchat::chat {
namespace {

Sequenced* record(uint64_t seq, size_t payload = 10) {
  std::string body(payload + 1, 'x');
  body[0] = 'r';  // the room name, one byte
  return Sequenced::create(net::SharedBuf::copy_of(body), 1, Kind::kText, {}, 7, seq, 0);
}

std::vector<uint64_t> after(const History& h, uint64_t seq, size_t limit = SIZE_MAX) {
  std::vector<uint64_t> out;
  h.each_after(seq, limit, [&](Sequenced& m) { out.push_back(m.seq()); });
  return out;
}

TEST(History, KeepsTheLastMessagesInOrder) {
  History h;
  for (uint64_t s = 1; s <= 5; ++s) h.append(record(s), {3, 1 << 20});
  EXPECT_EQ(h.size(), 3u);
  EXPECT_EQ(h.first_seq(), 3u);
  EXPECT_EQ(after(h, 0), (std::vector<uint64_t>{3, 4, 5}));
  EXPECT_EQ(after(h, 3), (std::vector<uint64_t>{4, 5}));
  EXPECT_EQ(after(h, 5), (std::vector<uint64_t>{}));
  EXPECT_EQ(after(h, 2, 1), (std::vector<uint64_t>{3})) << "at most `limit`";
}

TEST(History, ByteLimitDropsTheOldestButKeepsTheNewest) {
  History h;
  Sequenced* one = record(1, 100);
  const size_t each = one->footprint();
  h.append(one, {100, each * 2});
  h.append(record(2, 100), {100, each * 2});
  h.append(record(3, 100), {100, each * 2});
  EXPECT_EQ(after(h, 0), (std::vector<uint64_t>{2, 3}));
  EXPECT_EQ(h.bytes(), 2 * each);
  h.append(record(4, 10000), {100, each * 2});  // bigger than the limit alone
  EXPECT_EQ(after(h, 0), (std::vector<uint64_t>{4})) << "the newest message is always kept";
}

TEST(History, ClearAndShrinkReleaseTheRecords) {
  History h;
  for (uint64_t s = 1; s <= 4; ++s) h.append(record(s), {});
  const size_t one = h.bytes() / 4;
  h.shrink(one * 2);
  EXPECT_EQ(after(h, 0), (std::vector<uint64_t>{3, 4}));
  h.clear();
  EXPECT_TRUE(h.empty());
  EXPECT_EQ(h.bytes(), 0u);
  EXPECT_EQ(h.first_seq(), 0u);
}

TEST(Position, ParsesEpochInHexAndSeqInDecimal) {
  EXPECT_EQ(parse_position("00000000000000ff:12"), (Position{255, 12}));
  EXPECT_EQ(parse_position("ffffffffffffffff:18446744073709551615"),
            (Position{UINT64_MAX, UINT64_MAX}));
  EXPECT_EQ(parse_position("A:0"), (Position{10, 0}));
  for (const char* bad : {"", ":", "1", "1:", ":1", "x:1", "1:x", "1:-1", "11111111111111111:1",
                          "1:18446744073709551616", "1:2:3"}) {
    EXPECT_FALSE(parse_position(bad)) << bad;
  }
}

}  // namespace
}  // namespace ringchat::chat
