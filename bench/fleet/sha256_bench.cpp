// SHA256 throughput of the block hashing path (OpenSSL EVP, one-shot per block) and of splitting
// a whole model into blocks. Compare with `openssl speed -evp sha256 -bytes 262144` on the same
// machine (see docs/benchmarks.md).
#include <benchmark/benchmark.h>

#include <cstring>
#include <random>
#include <string>

#include "hadmc/crypto/sha256.h"

namespace {

std::string RandomBytes(size_t n) {
  std::mt19937_64 rng(1);
  std::string s(n, '\0');
  for (size_t i = 0; i + 8 <= n; i += 8) {
    const uint64_t v = rng();
    std::memcpy(&s[i], &v, 8);
  }
  return s;
}

void BM_Sha256Block(benchmark::State& state) {
  const std::string block = RandomBytes(static_cast<size_t>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(hadmc::crypto::Sha256(block));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_Sha256Block)->Arg(16)->Arg(1024)->Arg(8192)->Arg(256 * 1024);

void BM_Sha256HexBlock(benchmark::State& state) {
  const std::string block = RandomBytes(256 * 1024);
  for (auto _ : state) benchmark::DoNotOptimize(hadmc::crypto::Sha256Hex(block));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * 256 * 1024);
}
BENCHMARK(BM_Sha256HexBlock);

}  // namespace

BENCHMARK_MAIN();
