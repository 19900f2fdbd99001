#include "kernels/cpu/packed_gemm.h"

#include <cmath>

#include <gtest/gtest.h>

#include "core/rng.h"
#include "tests/isa_paths.h"

namespace tt {
namespace {

std::vector<float> random_vector(int64_t n, uint64_t seed) {
  Rng rng(seed);
  std::vector<float> v(n);
  for (auto& x : v) x = static_cast<float>(rng.normal());
  return v;
}

// A row's result is bit-identical whatever the other rows, their number or the row's place, on
// every instruction-set path.
TEST(PackedGemm, RowsDoNotDependOnTheBatchAndMatchAReference) {
  testing::on_every_isa([](Isa) {
  for (int64_t N : {37, 64, 260}) {
    const int64_t K = 45, M = 29;
    auto w = random_vector(N * K, 1);
    auto x = random_vector(M * K, 2);
    for (const PackedMatrix& packed : {pack_f32(w.data(), N, K), pack_bf16(w.data(), N, K)}) {
      const PackedMatrixView wm = packed.view();
      std::vector<float> all(M * N), one(N);
      packed_gemm(x.data(), M, wm, all.data());
      for (int64_t m = 0; m < M; ++m) {
        packed_gemm(x.data() + m * K, 1, wm, one.data());
        for (int64_t n = 0; n < N; ++n) ASSERT_EQ(one[n], all[m * N + n]) << "row " << m << " col " << n;
        std::vector<float> pair(2 * N);
        packed_gemm(x.data() + (m > 0 ? m - 1 : m) * K, 2, wm, pair.data());
        const float* row = pair.data() + (m > 0 ? N : 0);
        for (int64_t n = 0; n < N; ++n) ASSERT_EQ(row[n], one[n]);
      }
      if (!packed.is_bf16())
        for (int64_t m = 0; m < M; ++m)
          for (int64_t n = 0; n < N; ++n) {
            double ref = 0;
            for (int64_t k = 0; k < K; ++k) ref += static_cast<double>(x[m * K + k]) * w[n * K + k];
            ASSERT_NEAR(all[m * N + n], ref, 1e-4);
          }
      // accumulate adds to what is there
      std::vector<float> acc(M * N, 1.0f);
      packed_gemm(x.data(), M, wm, acc.data(), true);
      for (int64_t i = 0; i < M * N; ++i) ASSERT_EQ(acc[i], 1.0f + all[i]);
    }
  }
  });
}

// Each output is one FMA chain over k in order in one lane, so the paths agree to the bit.
TEST(PackedGemm, EveryPathGivesTheSameBits) {
  const int64_t N = 300, K = 70, M = 13;
  auto w = random_vector(N * K, 3);
  auto x = random_vector(M * K, 4);
  testing::RestoreIsa restore;
  for (const PackedMatrix& packed : {pack_f32(w.data(), N, K), pack_bf16(w.data(), N, K)}) {
    std::vector<float> avx2(M * N);
    select_isa(Isa::AVX2);
    packed_gemm(x.data(), M, packed.view(), avx2.data());
    testing::on_every_isa([&](Isa) {
      std::vector<float> y(M * N, 0.5f), y1(N, 0.5f);
      packed_gemm(x.data(), M, packed.view(), y.data());
      for (int64_t i = 0; i < M * N; ++i) ASSERT_EQ(y[i], avx2[i]) << i;
      packed_gemm(x.data() + 5 * K, 1, packed.view(), y1.data(), true);
      for (int64_t n = 0; n < N; ++n) ASSERT_EQ(y1[n], 0.5f + avx2[5 * N + n]) << n;
    });
  }
}

}  // namespace
}  // namespace tt
