#include "ringchat/tls/tickets.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ringchat::tls {
namespace {

uint64_t fake_now = 0;
uint64_t fake_clock() { return fake_now; }

struct Sealed {
  std::vector<uint8_t> bytes;
  TicketKeys::Name name{};
  uint8_t iv[TicketKeys::kIvSize]{};
  uint8_t mac[TicketKeys::kMacSize]{};
};

const std::string kState = "the session state wolfSSL would put in a ticket";

Sealed seal(TicketKeys& keys) {
  Sealed s;
  s.bytes.assign(kState.begin(), kState.end());
  EXPECT_TRUE(keys.seal(s.bytes, s.name, s.iv, s.mac));
  return s;
}

TicketKeys::Opened open(TicketKeys& keys, Sealed s, std::string* plain = nullptr) {
  const TicketKeys::Opened r = keys.open(s.bytes, s.name, s.iv, s.mac);
  if (plain) plain->assign(s.bytes.begin(), s.bytes.end());
  return r;
}

TEST(TicketKeys, ATicketOpensToWhatWasSealedAndHidesIt) {
  TicketKeys keys(60000);
  const Sealed a = seal(keys);
  const Sealed b = seal(keys);
  EXPECT_NE(std::string(a.bytes.begin(), a.bytes.end()), kState);
  EXPECT_NE(a.bytes, b.bytes) << "a fresh nonce for every ticket";
  EXPECT_EQ(a.name, b.name);
  std::string plain;
  EXPECT_EQ(open(keys, a, &plain), TicketKeys::Opened::kCurrent);
  EXPECT_EQ(plain, kState);
}

TEST(TicketKeys, ATamperedTicketIsRejected) {
  TicketKeys keys(60000);
  Sealed s = seal(keys);
  Sealed bad_byte = s;
  bad_byte.bytes[3] ^= 1;
  EXPECT_EQ(open(keys, bad_byte), TicketKeys::Opened::kRejected);
  Sealed bad_tag = s;
  bad_tag.mac[0] ^= 1;
  EXPECT_EQ(open(keys, bad_tag), TicketKeys::Opened::kRejected);
  Sealed bad_nonce = s;
  bad_nonce.iv[0] ^= 1;
  EXPECT_EQ(open(keys, bad_nonce), TicketKeys::Opened::kRejected);
  Sealed unknown = s;
  unknown.name[0] ^= 1;
  EXPECT_EQ(open(keys, unknown), TicketKeys::Opened::kRejected);
  // Another server's keys (a restart) know none of them.
  TicketKeys other(60000);
  EXPECT_EQ(open(other, s), TicketKeys::Opened::kRejected);
  EXPECT_EQ(open(keys, s), TicketKeys::Opened::kCurrent);
}

TEST(TicketKeys, ThePreviousKeyOpensForOnePeriodMore) {
  fake_now = 1000;
  TicketKeys keys(100, fake_clock);
  const Sealed first = seal(keys);
  fake_now = 1099;
  EXPECT_EQ(open(keys, first), TicketKeys::Opened::kCurrent);
  fake_now = 1100;  // a new period: a new key
  const Sealed second = seal(keys);
  EXPECT_NE(second.name, first.name);
  EXPECT_EQ(open(keys, first), TicketKeys::Opened::kPrevious);
  EXPECT_EQ(open(keys, second), TicketKeys::Opened::kCurrent);
  fake_now = 1200;  // another: the first key is gone
  EXPECT_EQ(open(keys, first), TicketKeys::Opened::kRejected);
  EXPECT_EQ(open(keys, second), TicketKeys::Opened::kPrevious);
  fake_now = 1500;  // idle for periods: nothing that old opens
  EXPECT_EQ(open(keys, second), TicketKeys::Opened::kRejected);
}

TEST(TicketKeys, RotateStartsAPeriodAtOnce) {
  TicketKeys keys(3600000);
  const Sealed s = seal(keys);
  keys.rotate();
  EXPECT_EQ(open(keys, s), TicketKeys::Opened::kPrevious);
  keys.rotate();
  EXPECT_EQ(open(keys, s), TicketKeys::Opened::kRejected);
}

}  // namespace
}  // namespace ringchat::tls
