#include <benchmark/benchmark.h>

#include <array>
#include <cstring>
#include <string>
#include <vector>

#include "ringchat/ws/frame_encoder.h"

namespace ringchat::ws {
namespace {

// Server frames: what the hub encodes once per message for all members.
void BM_EncodeFrame(benchmark::State& state) {
  const auto n = static_cast<size_t>(state.range(0));
  const std::string payload(n, 'p');
  std::string out;
  out.reserve(n + kMaxHeaderBytes);
  for (auto _ : state) {
    out.clear();
    append_server_frame(out, Opcode::kText, as_bytes(payload));
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * n));
}
BENCHMARK(BM_EncodeFrame)->Arg(16)->Arg(128)->Arg(1024)->Arg(16384)->Arg(65536);

// Client frames: copy plus mask, what ringload sends.
void BM_EncodeClientFrame(benchmark::State& state) {
  const auto n = static_cast<size_t>(state.range(0));
  const std::string payload(n, 'p');
  std::string out;
  out.reserve(n + kMaxHeaderBytes);
  for (auto _ : state) {
    out.clear();
    append_client_frame(out, Opcode::kText, as_bytes(payload), 0x11223344);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * n));
}
BENCHMARK(BM_EncodeClientFrame)->Arg(16)->Arg(128)->Arg(1024)->Arg(16384)->Arg(65536);

void BM_MaskPayload(benchmark::State& state) {
  const auto n = static_cast<size_t>(state.range(0));
  std::vector<std::byte> data(n, std::byte{0x5A});
  for (auto _ : state) {
    mask_bytes(data, 0xA1B2C3D4, 1);
    benchmark::DoNotOptimize(data.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * n));
}
BENCHMARK(BM_MaskPayload)->Arg(16)->Arg(128)->Arg(1024)->Arg(16384)->Arg(65536);

// Baseline: copying the same bytes. Other results read as ratios to this.
void BM_Memcpy(benchmark::State& state) {
  const auto n = static_cast<size_t>(state.range(0));
  std::vector<char> src(n, 'm');
  std::vector<char> dst(n);
  for (auto _ : state) {
    std::memcpy(dst.data(), src.data(), n);
    benchmark::DoNotOptimize(dst.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * n));
}
BENCHMARK(BM_Memcpy)->Arg(16)->Arg(128)->Arg(1024)->Arg(16384)->Arg(65536);

}  // namespace
}  // namespace ringchat::ws

BENCHMARK_MAIN();
