#include <benchmark/benchmark.h>

#include <string>

#include "ringchat/auth/room_pattern.h"
#include "ringchat/auth/verifier.h"
#include "token_signer.h"

// Verifier::verify() per algorithm, against its parts: the signature check
// alone is most of RS256 and ES256; HS256 is bounded by two JSON parses and
// the MAC. A baseline of parsing only (a token whose signature is refused
// early for its algorithm) sits alongside.
namespace ringchat::auth {
namespace {

constexpr int64_t kNow = 1'700'000'000;
const std::string kSecret = "0123456789abcdef0123456789abcdef";
const std::string kPayload =
    R"({"sub":"alice","exp":1700003600,"iat":1700000000,"iss":"https://idp.example",)"
    R"("rooms":["lobby","team-*"],"pub":["lobby"]})";

Verifier make(VerifierConfig config) {
  return std::move(Verifier::create(std::move(config))).value();
}

void run(benchmark::State& state, const Verifier& v, const std::string& token, bool want_ok) {
  for (auto _ : state) {
    auto r = v.verify(token, kNow);
    if (r.ok() != want_ok) state.SkipWithError("unexpected verify result");
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

void BM_VerifyHs256(benchmark::State& state) {
  const Verifier v = make({.hs256_secret = kSecret});
  run(state, v, testing::hs256_token(kSecret, kPayload), true);
}

void BM_VerifyRs256(benchmark::State& state) {
  const Verifier v = make({.public_key = testing::rsa2048().public_der()});
  run(state, v, testing::rsa2048().token(kPayload), true);
}

void BM_VerifyEs256(benchmark::State& state) {
  const Verifier v = make({.public_key = testing::p256().public_der()});
  run(state, v, testing::p256().token(kPayload), true);
}

// Baseline: split, base64url and the header's JSON, then bad_alg.
void BM_VerifyRefusedAlg(benchmark::State& state) {
  const Verifier v = make({.hs256_secret = kSecret});
  run(state, v, testing::p256().token(kPayload), false);
}

void BM_PatternMatch(benchmark::State& state) {
  const std::string room = "team-" + std::string(static_cast<size_t>(state.range(0)), 'a');
  for (auto _ : state) {
    benchmark::DoNotOptimize(pattern_matches("team-*a*b", room));
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

BENCHMARK(BM_VerifyHs256);
BENCHMARK(BM_VerifyRs256);
BENCHMARK(BM_VerifyEs256);
BENCHMARK(BM_VerifyRefusedAlg);
BENCHMARK(BM_PatternMatch)->Arg(16)->Arg(195);

}  // namespace
}  // namespace ringchat::auth

BENCHMARK_MAIN();
