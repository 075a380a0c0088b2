#include <benchmark/benchmark.h>
#include <simdjson.h>

#include <cstring>
#include <memory>
#include <string>

#include "json_op.h"

// OpParser against references on the same bytes: a memcpy (the floor of any
// copy), simdjson's DOM parse alone on already padded input, and the two ways
// to pad unpadded input (simdjson's own copy, or ours).
namespace ringchat::chat {
namespace {

// A typical pub: about 100 bytes of data, an id.
const std::string kPub =
    R"({"type":"pub","room":"lobby","id":"c-1842","data":{"text":"Anyone up for lunch )"
    R"(at noon? The usual place.","from":"alice","ts":1700000000123,"tags":["food"]}})";
const std::string kJoin = R"({"type":"join","room":"lobby","since":"00000000000000ab:42","id":17})";

// A pub whose data is a string of `n` bytes.
std::string pub_of(size_t n) {
  std::string text = R"({"type":"pub","room":"lobby","data":")";
  for (size_t i = 0; i < n; ++i) text += static_cast<char>('a' + i % 26);
  text += "\"}";
  return text;
}

void count(benchmark::State& state, size_t bytes) {
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
}

void BM_Memcpy(benchmark::State& state, const std::string& text) {
  std::string out(text.size(), '\0');
  for (auto _ : state) {
    std::memcpy(out.data(), text.data(), text.size());
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  count(state, text.size());
}

void BM_SimdjsonPadded(benchmark::State& state, const std::string& text) {
  simdjson::dom::parser parser;
  const simdjson::padded_string padded(text);
  for (auto _ : state) {
    simdjson::dom::element root;
    benchmark::DoNotOptimize(parser.parse(padded).get(root));
    benchmark::DoNotOptimize(root);
  }
  count(state, text.size());
}

// simdjson copies the input into a padded buffer it keeps.
void BM_SimdjsonCopy(benchmark::State& state, const std::string& text) {
  simdjson::dom::parser parser;
  for (auto _ : state) {
    simdjson::dom::element root;
    benchmark::DoNotOptimize(parser.parse(text.data(), text.size(), true).get(root));
    benchmark::DoNotOptimize(root);
  }
  count(state, text.size());
}

// We copy the input into a padded buffer we keep.
void BM_SimdjsonOwnBuffer(benchmark::State& state, const std::string& text) {
  simdjson::dom::parser parser;
  const auto buf = std::make_unique<char[]>(text.size() + simdjson::SIMDJSON_PADDING);
  for (auto _ : state) {
    std::memcpy(buf.get(), text.data(), text.size());
    simdjson::dom::element root;
    benchmark::DoNotOptimize(parser.parse(buf.get(), text.size(), false).get(root));
    benchmark::DoNotOptimize(root);
  }
  count(state, text.size());
}

void BM_OpParse(benchmark::State& state, const std::string& text) {
  OpParser parser;
  if (!parser.parse(text).ok()) state.SkipWithError("op refused");
  for (auto _ : state) {
    auto r = parser.parse(text);
    benchmark::DoNotOptimize(r);
  }
  count(state, text.size());
}

void BM_OpMinify(benchmark::State& state, const std::string& text) {
  OpParser parser;
  for (auto _ : state) {
    auto r = parser.minify(text);
    benchmark::DoNotOptimize(r);
  }
  count(state, text.size());
}

BENCHMARK_CAPTURE(BM_Memcpy, pub, kPub);
BENCHMARK_CAPTURE(BM_SimdjsonPadded, pub, kPub);
BENCHMARK_CAPTURE(BM_SimdjsonCopy, pub, kPub);
BENCHMARK_CAPTURE(BM_SimdjsonOwnBuffer, pub, kPub);
BENCHMARK_CAPTURE(BM_OpParse, pub, kPub);
BENCHMARK_CAPTURE(BM_OpMinify, pub, kPub);
BENCHMARK_CAPTURE(BM_Memcpy, join, kJoin);
BENCHMARK_CAPTURE(BM_SimdjsonPadded, join, kJoin);
BENCHMARK_CAPTURE(BM_SimdjsonCopy, join, kJoin);
BENCHMARK_CAPTURE(BM_SimdjsonOwnBuffer, join, kJoin);
BENCHMARK_CAPTURE(BM_OpParse, join, kJoin);

// A pub of `range(0)` bytes of string data, against simdjson alone.
void BM_PubSized(benchmark::State& state, void (*bm)(benchmark::State&, const std::string&)) {
  bm(state, pub_of(static_cast<size_t>(state.range(0))));
}
BENCHMARK_CAPTURE(BM_PubSized, memcpy, BM_Memcpy)->RangeMultiplier(8)->Range(16, 65536);
BENCHMARK_CAPTURE(BM_PubSized, simdjson, BM_SimdjsonPadded)->RangeMultiplier(8)->Range(16, 65536);
BENCHMARK_CAPTURE(BM_PubSized, op_parse, BM_OpParse)->RangeMultiplier(8)->Range(16, 65536);

}  // namespace
}  // namespace ringchat::chat

BENCHMARK_MAIN();
