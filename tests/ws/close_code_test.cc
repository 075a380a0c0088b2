#include "ringchat/ws/close_code.h"

#include <gtest/gtest.h>

#include <set>
#include <string_view>

namespace ringchat::ws {
namespace {

TEST(CloseCode, AcceptsCodesAPeerMaySend) {
  for (int code : {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000,
                   3999, 4000, 4999}) {
    EXPECT_TRUE(is_valid_wire_close_code(code)) << code;
  }
}

TEST(CloseCode, RejectsReservedAndUnassignedCodes) {
  for (int code : {0, 1, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535}) {
    EXPECT_FALSE(is_valid_wire_close_code(code)) << code;
  }
}

TEST(CloseCode, NamesEveryCodeDistinctly) {
  std::set<std::string_view> names;
  for (CloseCode c :
       {CloseCode::kNormal, CloseCode::kGoingAway, CloseCode::kProtocolError,
        CloseCode::kUnsupportedData, CloseCode::kNoStatus, CloseCode::kAbnormal,
        CloseCode::kInvalidPayload, CloseCode::kPolicyViolation, CloseCode::kMessageTooBig,
        CloseCode::kMandatoryExtension, CloseCode::kInternalError}) {
    EXPECT_NE(to_string(c), "unknown close code");
    names.insert(to_string(c));
  }
  EXPECT_EQ(names.size(), 11u);
  EXPECT_EQ(to_string(CloseCode::kMessageTooBig), "message too big");
}

}  // namespace
}  // namespace ringchat::ws
