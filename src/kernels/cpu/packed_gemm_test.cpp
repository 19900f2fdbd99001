#include "kernels/cpu/packed_gemm.h"

#include <cmath>

#include <gtest/gtest.h>

#include "core/rng.h"

namespace tt {
namespace {

std::vector<float> random_vector(int64_t n, uint64_t seed) {
  Rng rng(seed);
  std::vector<float> v(n);
  for (auto& x : v) x = static_cast<float>(rng.normal());
  return v;
}

// A row's result is bit-identical whatever the other rows, their number or the row's place.
TEST(PackedGemm, RowsDoNotDependOnTheBatchAndMatchAReference) {
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
}

}  // namespace
}  // namespace tt
