#include "client_handshake.h"

#include <gtest/gtest.h>

#include <iterator>
#include <random>

#include "ringchat/ws/handshake.h"

namespace ringchat::ringload {
namespace {

constexpr std::string_view kAccept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";
const std::string kGood =
    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";

TEST(ClientHandshake, KeyIsBase64OfTheNonce) {
  // RFC 6455 §1.3 example nonce "the sample nonce".
  std::array<uint8_t, 16> nonce{};
  const std::string_view text = "the sample nonce";
  std::copy(text.begin(), text.end(), nonce.begin());
  EXPECT_EQ(make_client_key(nonce), "dGhlIHNhbXBsZSBub25jZQ==");
  EXPECT_EQ(ws::accept_key(make_client_key(nonce)), kAccept);
}

TEST(ClientHandshake, RequestNamesPathHostAndKey) {
  const std::string r = build_upgrade_request("127.0.0.1", 8080, "/ws/a", "KEY");
  EXPECT_TRUE(r.starts_with("GET /ws/a HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n"));
  EXPECT_NE(r.find("Sec-WebSocket-Key: KEY\r\n"), std::string::npos);
  EXPECT_TRUE(r.ends_with("\r\n\r\n"));
}

TEST(ClientHandshake, AcceptsGoodResponseSplitAtEveryOffset) {
  const std::string buf = kGood + "\x81\x02hi";
  for (size_t n = 0; n < kGood.size(); ++n) {
    EXPECT_EQ(check_upgrade_response(std::string_view(buf).substr(0, n), kAccept).status,
              HandshakeStatus::kNeedMore)
        << n;
  }
  const HandshakeResult r = check_upgrade_response(buf, kAccept);
  EXPECT_EQ(r.status, HandshakeStatus::kOk);
  EXPECT_EQ(r.header_bytes, kGood.size());
}

TEST(ClientHandshake, RejectsNon101) {
  const auto r = check_upgrade_response("HTTP/1.1 400 Bad Request\r\n\r\n", kAccept);
  EXPECT_EQ(r.status, HandshakeStatus::kBadStatus);
  EXPECT_EQ(r.http_status, 400);
}

TEST(ClientHandshake, RejectsWrongAccept) {
  std::string bad = kGood;
  bad.replace(bad.find("s3pP"), 4, "AAAA");
  EXPECT_EQ(check_upgrade_response(bad, kAccept).status, HandshakeStatus::kBadAccept);
}

TEST(ClientHandshake, RejectsMissingUpgrade) {
  std::string bad = kGood;
  bad.replace(bad.find("Upgrade: websocket"), 18, "X-Nothing: here");
  EXPECT_EQ(check_upgrade_response(bad, kAccept).status, HandshakeStatus::kBadUpgrade);
}

TEST(ClientHandshake, RejectsOversizedHead) {
  const std::string big = "HTTP/1.1 101 OK\r\n" + std::string(kMaxResponseBytes, 'a');
  EXPECT_EQ(check_upgrade_response(big, kAccept).status, HandshakeStatus::kTooLarge);
}

TEST(ClientHandshake, HeaderNamesAreCaseInsensitive) {
  const std::string r =
      "HTTP/1.1 101 Switching Protocols\r\nupgrade: WebSocket\r\nconnection: keep-alive, "
      "upgrade\r\n"
      "sec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
  EXPECT_EQ(check_upgrade_response(r, kAccept).status, HandshakeStatus::kOk);
}

}  // namespace
}  // namespace ringchat::ringload

namespace ringchat::ringload {
namespace {

TEST(ClientHandshake, RandomGarbageIsNeverAccepted) {
  std::mt19937 rng(7);
  const std::string pieces[] = {
      "HTTP/1.1 101 ",        "\r\n", ":", "Upgrade", "websocket", "Connection", "upgrade",
      "Sec-WebSocket-Accept", " ",    "x"};
  for (int i = 0; i < 20000; ++i) {
    std::string s;
    const int n = static_cast<int>(rng() % 12);
    for (int k = 0; k < n; ++k) s += pieces[rng() % std::size(pieces)];
    EXPECT_NE(check_upgrade_response(s, kAccept).status, HandshakeStatus::kOk) << s;
  }
}

}  // namespace
}  // namespace ringchat::ringload
