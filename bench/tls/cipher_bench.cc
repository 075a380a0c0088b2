#include <benchmark/benchmark.h>
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/aes.h>
#include <wolfssl/wolfcrypt/chacha20_poly1305.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <vector>

// Bulk AEAD throughput of the system wolfSSL's wolfCrypt, one TLS record per
// iteration: seal (encrypt + 16-byte tag) and open (decrypt + tag check) of
// AES-128-GCM, AES-256-GCM and ChaCha20-Poly1305 at 64 B, 1 KiB and 16 KiB
// (the TLS maximum), with a 5-byte AAD like a TLS 1.3 record header.
// Why: Debian's libwolfssl 5.5.4 is built without AES-NI or AVX (no
// WOLFSSL_AESNI or USE_INTEL_SPEEDUP in <wolfssl/options.h>), so both AEADs
// are plain C and AES-GCM is table-driven even on CPUs with the instructions;
// the TLS server orders its default cipher suites by what these numbers say
// is fastest here. Keys are set once outside the loop, as a connection does;
// the nonce is fixed, which changes no cost.
//
// Build, then run pinned to one CPU (the second command is one line):
//   ninja -C build bench/tls/cipher_bench
//   taskset -c 1 build/bench/tls/cipher_bench
//       --benchmark_repetitions=3 --benchmark_report_aggregates_only=true
namespace ringchat::tls {
namespace {

enum class Cipher { kAes128Gcm, kAes256Gcm, kChaCha20Poly1305 };

constexpr size_t kTagBytes = 16;
constexpr std::array<byte, 12> kNonce{};
constexpr std::array<byte, 5> kAad{0x17, 0x03, 0x03, 0x40, 0x11};
constexpr std::array<byte, 32> kKey{1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16,
                                    17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};

// One direction of a connection's record protection: the key schedule (and,
// for GCM, the GHASH table) is built once, as at the end of a handshake.
// Thread: the benchmark thread only.
class Aead {
 public:
  explicit Aead(Cipher cipher) : cipher_(cipher) {
    if (cipher_ == Cipher::kChaCha20Poly1305) return;
    const word32 key_bytes = cipher_ == Cipher::kAes128Gcm ? 16 : 32;
    ok_ = wc_AesInit(&aes_, nullptr, INVALID_DEVID) == 0 &&
          wc_AesGcmSetKey(&aes_, kKey.data(), key_bytes) == 0;
  }
  Aead(const Aead&) = delete;
  Aead& operator=(const Aead&) = delete;
  ~Aead() {
    if (cipher_ != Cipher::kChaCha20Poly1305) wc_AesFree(&aes_);
  }

  bool ok() const { return ok_; }

  // Encrypts `n` bytes of `in` into `out` and writes the tag. True on success.
  bool seal(const byte* in, byte* out, word32 n, byte* tag) {
    if (cipher_ == Cipher::kChaCha20Poly1305) {
      return wc_ChaCha20Poly1305_Encrypt(kKey.data(), kNonce.data(), kAad.data(), kAad.size(), in,
                                         n, out, tag) == 0;
    }
    return wc_AesGcmEncrypt(&aes_, out, in, n, kNonce.data(), kNonce.size(), tag, kTagBytes,
                            kAad.data(), kAad.size()) == 0;
  }

  // Decrypts and authenticates. False when the tag does not match.
  bool open(const byte* in, byte* out, word32 n, const byte* tag) {
    if (cipher_ == Cipher::kChaCha20Poly1305) {
      return wc_ChaCha20Poly1305_Decrypt(kKey.data(), kNonce.data(), kAad.data(), kAad.size(), in,
                                         n, tag, out) == 0;
    }
    return wc_AesGcmDecrypt(&aes_, out, in, n, kNonce.data(), kNonce.size(), tag, kTagBytes,
                            kAad.data(), kAad.size()) == 0;
  }

 private:
  Cipher cipher_;
  Aes aes_{};
  bool ok_ = true;
};

void BM_Seal(benchmark::State& state, Cipher cipher) {
  const auto n = static_cast<word32>(state.range(0));
  Aead aead(cipher);
  std::vector<byte> plain(n, 0x5A);
  std::vector<byte> sealed(n);
  std::array<byte, kTagBytes> tag{};
  if (!aead.ok()) state.SkipWithError("key setup failed");
  for (auto _ : state) {
    if (!aead.seal(plain.data(), sealed.data(), n, tag.data())) state.SkipWithError("seal failed");
    benchmark::DoNotOptimize(sealed.data());
    benchmark::DoNotOptimize(tag.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * n);
}

void BM_Open(benchmark::State& state, Cipher cipher) {
  const auto n = static_cast<word32>(state.range(0));
  Aead aead(cipher);
  std::vector<byte> plain(n, 0x5A);
  std::vector<byte> sealed(n);
  std::array<byte, kTagBytes> tag{};
  if (!aead.ok() || !aead.seal(plain.data(), sealed.data(), n, tag.data())) {
    state.SkipWithError("key setup or seal failed");
  }
  for (auto _ : state) {
    if (!aead.open(sealed.data(), plain.data(), n, tag.data())) state.SkipWithError("bad tag");
    benchmark::DoNotOptimize(plain.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * n);
}

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

BENCHMARK_CAPTURE(BM_Seal, aes128gcm, Cipher::kAes128Gcm)->Arg(64)->Arg(1024)->Arg(16384);
BENCHMARK_CAPTURE(BM_Seal, aes256gcm, Cipher::kAes256Gcm)->Arg(64)->Arg(1024)->Arg(16384);
BENCHMARK_CAPTURE(BM_Seal, chacha20poly1305, Cipher::kChaCha20Poly1305)
    ->Arg(64)
    ->Arg(1024)
    ->Arg(16384);
BENCHMARK_CAPTURE(BM_Open, aes128gcm, Cipher::kAes128Gcm)->Arg(64)->Arg(1024)->Arg(16384);
BENCHMARK_CAPTURE(BM_Open, aes256gcm, Cipher::kAes256Gcm)->Arg(64)->Arg(1024)->Arg(16384);
BENCHMARK_CAPTURE(BM_Open, chacha20poly1305, Cipher::kChaCha20Poly1305)
    ->Arg(64)
    ->Arg(1024)
    ->Arg(16384);
BENCHMARK(BM_Memcpy)->Arg(64)->Arg(1024)->Arg(16384);

}  // namespace
}  // namespace ringchat::tls

BENCHMARK_MAIN();
