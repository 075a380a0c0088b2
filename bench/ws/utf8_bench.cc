#include <benchmark/benchmark.h>

#include <string>

#include "ringchat/ws/frame_encoder.h"
#include "ringchat/ws/utf8.h"

namespace ringchat::ws {
namespace {

void validate_loop(benchmark::State& state, const std::string& text) {
  for (auto _ : state) {
    benchmark::DoNotOptimize(is_valid_utf8(as_bytes(text)));
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}

void BM_Utf8ValidateAscii(benchmark::State& state) {
  const auto n = static_cast<size_t>(state.range(0));
  std::string text(n, '\0');
  for (size_t i = 0; i < n; ++i) text[i] = static_cast<char>(' ' + i % 90);
  validate_loop(state, text);
}
BENCHMARK(BM_Utf8ValidateAscii)->Arg(16)->Arg(128)->Arg(1024)->Arg(16384)->Arg(65536);

// Chat-like mixed text: ASCII words with accented letters, CJK and emoji.
void BM_Utf8ValidateMixed(benchmark::State& state) {
  const auto n = static_cast<size_t>(state.range(0));
  const std::string unit = "h\xC3\xA9llo w\xC3\xB6rld \xE4\xBD\xA0\xE5\xA5\xBD \xF0\x9F\x98\x80 ";
  std::string text;
  while (text.size() + unit.size() <= n) text += unit;
  text.append(n - text.size(), 'x');
  validate_loop(state, text);
}
BENCHMARK(BM_Utf8ValidateMixed)->Arg(16)->Arg(128)->Arg(1024)->Arg(16384)->Arg(65536);

// All multi-byte: 3-byte CJK only, the DFA's worst steady state.
void BM_Utf8ValidateCjk(benchmark::State& state) {
  const auto n = static_cast<size_t>(state.range(0));
  std::string text;
  while (text.size() + 3 <= n) text += "\xE4\xBD\xA0";
  text.append(n - text.size(), 'x');
  validate_loop(state, text);
}
BENCHMARK(BM_Utf8ValidateCjk)->Arg(16)->Arg(128)->Arg(1024)->Arg(16384)->Arg(65536);

}  // namespace
}  // namespace ringchat::ws
