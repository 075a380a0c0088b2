// Decoding client frames in place. The same buffer is parsed every
// iteration: unmasking in place flips the payload between its masked and
// unmasked forms, both valid (the key's bytes are ASCII, so text stays
// ASCII), and each pass does the full unmask and validation work.
#include <benchmark/benchmark.h>

#include <string>

#include "ringchat/ws/frame_encoder.h"
#include "ringchat/ws/frame_parser.h"

namespace ringchat::ws {
namespace {

constexpr uint32_t kAsciiMask = 0x375A126C;

std::string make_frame(Opcode op, size_t n) {
  std::string payload(n, '\0');
  for (size_t i = 0; i < n; ++i) payload[i] = static_cast<char>('a' + i % 26);
  std::string wire;
  append_client_frame(wire, op, as_bytes(payload), kAsciiMask);
  return wire;
}

void decode_loop(benchmark::State& state, Opcode op) {
  const auto n = static_cast<size_t>(state.range(0));
  std::string wire = make_frame(op, n);
  FrameParser parser(Role::kServer, 1 << 20);
  for (auto _ : state) {
    std::span<std::byte> in(reinterpret_cast<std::byte*>(wire.data()), wire.size());
    auto ev = parser.next(in);
    if (!ev.ok() || ev->payload.size() != n) {
      state.SkipWithError("decode failed");
      break;
    }
    benchmark::DoNotOptimize(ev->payload.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * n));
}

void BM_DecodeFrame(benchmark::State& state) { decode_loop(state, Opcode::kBinary); }
BENCHMARK(BM_DecodeFrame)->Arg(16)->Arg(128)->Arg(1024)->Arg(16384)->Arg(65536);

void BM_DecodeTextFrame(benchmark::State& state) { decode_loop(state, Opcode::kText); }
BENCHMARK(BM_DecodeTextFrame)->Arg(16)->Arg(128)->Arg(1024)->Arg(16384)->Arg(65536);

// The same binary frame arriving in 1500-byte pieces: the buffered path.
void BM_DecodeFrameInPieces(benchmark::State& state) {
  const auto n = static_cast<size_t>(state.range(0));
  std::string wire = make_frame(Opcode::kBinary, n);
  FrameParser parser(Role::kServer, 1 << 20);
  for (auto _ : state) {
    size_t at = 0;
    while (at < wire.size()) {
      const size_t len = std::min<size_t>(1500, wire.size() - at);
      std::span<std::byte> in(reinterpret_cast<std::byte*>(wire.data()) + at, len);
      at += len;
      auto ev = parser.next(in);
      benchmark::DoNotOptimize(ev);
    }
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * n));
}
BENCHMARK(BM_DecodeFrameInPieces)->Arg(16384)->Arg(65536);

}  // namespace
}  // namespace ringchat::ws
