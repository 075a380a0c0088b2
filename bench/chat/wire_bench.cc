// What the owner shard does once per message: encode each wire format
// (kRawWs, a header and a copy, is the reference), keep the record in the
// room's history, and read a range of it back (the reference: the same walk
// over a plain vector). Each encode allocates its SharedBuf, as in the server.
#include <benchmark/benchmark.h>

#include <cstring>
#include <string>
#include <vector>

#include "ringchat/chat/history.h"
#include "ringchat/chat/message.h"
#include "wire.h"

namespace ringchat::chat {
namespace {

// Payload shapes. kPlain: chat text with nothing to escape or split.
// kLines: text with a '"' and a newline in every 32 bytes (JSON escapes,
// SSE splits). kJsonValue: a JSON object. kBinaryBytes: any bytes.
enum Shape : int64_t { kPlain, kLines, kJsonValue, kBinaryBytes };

std::string payload_of(Shape shape, size_t n) {
  std::string s;
  if (shape == kJsonValue) {
    s = R"({"t":")";
    while (s.size() + 2 < n) s += "word ";
    s.resize(n - 2);
    return s.append("\"}");
  }
  for (size_t i = 0; s.size() < n; ++i) s += static_cast<char>('a' + i % 23);
  for (size_t i = 0; i < n; ++i) {
    if (shape == kLines && i % 32 == 10) s[i] = '"';
    if (shape == kLines && i % 32 == 20) s[i] = '\n';
    if (i % 8 == 7) s[i] = ' ';
    if (shape == kBinaryBytes) s[i] = static_cast<char>(i * 131);
  }
  return s;
}

Kind kind_of(Shape shape) {
  return shape == kJsonValue ? Kind::kJson : shape == kBinaryBytes ? Kind::kBinary : Kind::kText;
}

// A record as the owner makes it: the body (room, payload) copied once.
Sequenced* make_record(const std::string& payload, uint64_t seq, Kind kind = Kind::kText) {
  const std::string_view room = "lobby.general";
  net::SharedBuf* body = net::SharedBuf::create(room.size() + payload.size());
  std::memcpy(body->data(), room.data(), room.size());
  std::memcpy(body->data() + room.size(), payload.data(), payload.size());
  return Sequenced::create(body, static_cast<uint16_t>(room.size()), kind, {4242, 7, 3},
                           0x9e3779b97f4a7c15, seq, 1765000000123);
}

// Encodes the message of a record, as the owner does: the payload sits where
// it does in the server (after the room, in the body), so every format
// copies from the same alignment.
void encode_loop(benchmark::State& state, Format f) {
  const auto n = static_cast<size_t>(state.range(0));
  const auto shape = static_cast<Shape>(state.range(1));
  Sequenced* rec = make_record(payload_of(shape, n), 1234567, kind_of(shape));
  const Message m = rec->message();
  for (auto _ : state) {
    net::SharedBuf* b = encode(f, m);
    benchmark::DoNotOptimize(b->data());
    b->release();
  }
  rec->release();
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * n));
}

// Baseline: the raw frame. The other formats read as ratios to it.
void BM_EncodeRawWs(benchmark::State& state) { encode_loop(state, Format::kRawWs); }
void BM_EncodeJsonWs(benchmark::State& state) { encode_loop(state, Format::kJsonWs); }
void BM_EncodeSse(benchmark::State& state) { encode_loop(state, Format::kSse); }

void encode_args(benchmark::internal::Benchmark* b) {
  b->ArgNames({"bytes", "shape"});
  for (int64_t shape : {kPlain, kLines, kJsonValue, kBinaryBytes}) {
    for (int64_t n : {32, 256, 4096}) b->Args({n, shape});
  }
}
BENCHMARK(BM_EncodeRawWs)->Apply(encode_args);
BENCHMARK(BM_EncodeJsonWs)->Apply(encode_args);
BENCHMARK(BM_EncodeSse)->Apply(encode_args);

constexpr HistoryLimits kLimits{1000, size_t{1} << 30};

// Baseline: making and freeing the record, which every publish does anyway.
void BM_RecordCreateRelease(benchmark::State& state) {
  const std::string payload = payload_of(kPlain, static_cast<size_t>(state.range(0)));
  uint64_t seq = 0;
  for (auto _ : state) {
    Sequenced* r = make_record(payload, ++seq);
    benchmark::DoNotOptimize(r);
    r->release();
  }
}
BENCHMARK(BM_RecordCreateRelease)->Arg(32)->Arg(256)->Arg(4096);

// The same records appended to a full history: each append drops the oldest.
void BM_HistoryAppend(benchmark::State& state) {
  const std::string payload = payload_of(kPlain, static_cast<size_t>(state.range(0)));
  History h;
  uint64_t seq = 0;
  while (h.size() < kLimits.max_messages) h.append(make_record(payload, ++seq), kLimits);
  for (auto _ : state) {
    h.append(make_record(payload, ++seq), kLimits);
    benchmark::DoNotOptimize(h.bytes());
  }
}
BENCHMARK(BM_HistoryAppend)->Arg(32)->Arg(256)->Arg(4096);

// A history answer: the last `n` records of a full history, each retained
// for the answer and released when it is sent.
template <class Walk>
void read_loop(benchmark::State& state, Walk walk) {
  const auto n = static_cast<size_t>(state.range(0));
  std::vector<Sequenced*> out;
  out.reserve(n);
  for (auto _ : state) {
    out.clear();
    walk(n, [&out](Sequenced& m) {
      m.retain();
      out.push_back(&m);
    });
    for (Sequenced* m : out) m->release();
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * n));
}

// Baseline: the same walk over a vector of the same records.
void BM_VectorReadRange(benchmark::State& state) {
  const std::string payload = payload_of(kPlain, 256);
  std::vector<Sequenced*> recs;
  for (uint64_t seq = 1; seq <= kLimits.max_messages; ++seq)
    recs.push_back(make_record(payload, seq));
  read_loop(state, [&recs](size_t n, auto&& fn) {
    for (size_t i = recs.size() - n; i < recs.size(); ++i) fn(*recs[i]);
  });
  for (Sequenced* r : recs) r->release();
}
BENCHMARK(BM_VectorReadRange)->Arg(10)->Arg(100)->Arg(1000);

void BM_HistoryReadRange(benchmark::State& state) {
  const std::string payload = payload_of(kPlain, 256);
  History h;
  for (uint64_t seq = 1; seq <= kLimits.max_messages; ++seq) {
    h.append(make_record(payload, seq), kLimits);
  }
  read_loop(state, [&h](size_t n, auto&& fn) { h.each_after(h.size() - n, n, fn); });
}
BENCHMARK(BM_HistoryReadRange)->Arg(10)->Arg(100)->Arg(1000);

}  // namespace
}  // namespace ringchat::chat

BENCHMARK_MAIN();
