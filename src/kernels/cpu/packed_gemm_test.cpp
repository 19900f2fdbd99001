#include "kernels/cpu/packed_gemm.h"

#include <algorithm>
#include <cmath>

#include <gtest/gtest.h>

#include "core/bf16.h"
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

// Magnitudes spread over 2^-12..2^12, so that the order of the roundings shows in the bits.
std::vector<float> spread_vector(int64_t n, uint64_t seed) {
  Rng rng(seed);
  std::vector<float> v(n);
  for (auto& x : v) x = static_cast<float>(rng.normal() * std::ldexp(1.0, static_cast<int>(rng.uniform() * 24) - 12));
  return v;
}

float bf16_rounded(float x) { return bf16_to_f32(f32_to_bf16(x)); }

// The bf16 product's definition (packed_gemm.h), one scalar fmaf at a time: x and w rounded to bf16,
// pairs of k in order, the odd product first (or, for the check below, the even one).
float bf16_chain(const float* x, const float* w, int64_t K, bool odd_first = true) {
  float acc = 0.0f;
  for (int64_t k = 0; k < K; k += 2) {
    const float xe = bf16_rounded(x[k]), we = bf16_rounded(w[k]);
    const float xo = k + 1 < K ? bf16_rounded(x[k + 1]) : 0.0f, wo = k + 1 < K ? bf16_rounded(w[k + 1]) : 0.0f;
    acc = odd_first ? std::fma(xe, we, std::fma(xo, wo, acc)) : std::fma(xo, wo, std::fma(xe, we, acc));
  }
  return acc;
}

// Every path (VDPBF16PS included where the CPU has it) runs exactly the defined chain; the data are
// such that adding the even product first would give other bits.
TEST(PackedGemm, Bf16WeightsRunTheOddThenEvenPairChainOnEveryPath) {
  for (int64_t K : {64, 45, 576}) {
    const int64_t N = 70, M = 9;
    const auto w = spread_vector(N * K, 5), x = spread_vector(M * K, 6);
    const PackedMatrix packed = pack_bf16(w.data(), N, K);
    int64_t order_shows = 0;
    for (int64_t m = 0; m < M; ++m)
      for (int64_t n = 0; n < N; ++n)
        order_shows += bf16_chain(&x[m * K], &w[n * K], K) != bf16_chain(&x[m * K], &w[n * K], K, false);
    ASSERT_GT(order_shows, 0) << "K " << K << ": the data cannot tell the orders apart";
    testing::on_every_isa([&](Isa isa) {
      std::vector<float> y(M * N, -1.0f);
      packed_gemm(x.data(), M, packed.view(), y.data());
      for (int64_t m = 0; m < M; ++m)
        for (int64_t n = 0; n < N; ++n)
          ASSERT_EQ(y[m * N + n], bf16_chain(&x[m * K], &w[n * K], K))
              << isa_name(isa) << " K " << K << " row " << m << " col " << n;
    });
  }
}

TEST(PackedGemm, Bf16LayoutPlacesEveryWeightOnceInPairs) {
  for (int64_t K : {6, 7}) {
    const int64_t N = 20;
    std::vector<int> seen(packed_bf16_size(N, K), 0);
    for (int64_t n = 0; n < N; ++n)
      for (int64_t k = 0; k < K; ++k) {
        const int64_t i = packed_bf16_index(n, k, K);
        ASSERT_LT(i, static_cast<int64_t>(seen.size()));
        ++seen[i];
        if (k % 2 == 1) ASSERT_EQ(i, packed_bf16_index(n, k - 1, K) + 1);  // a pair is one 32-bit word
      }
    EXPECT_EQ(std::count(seen.begin(), seen.end(), 1), N * K);
    EXPECT_EQ(std::count(seen.begin(), seen.end(), 0), static_cast<int64_t>(seen.size()) - N * K);
  }
}

// A stack of weights (q/k/v-like: sizes that are not whole panels) computes each part's columns with
// the bits of that weight packed alone, at its offset, zeros in the padding; its parts alone too.
TEST(PackedGemm, AStackGivesEachWeightsBitsAtItsOffset) {
  const int64_t K = 45;
  const std::vector<int64_t> rows = {20, 7, 33};
  std::vector<std::vector<float>> w;
  for (int64_t r : rows) w.push_back(random_vector(r * K, 10 + w.size()));
  for (bool bf16 : {false, true}) {
    const PackedStack stack = pack_stack({w[0].data(), w[1].data(), w[2].data()}, rows, K, bf16);
    ASSERT_EQ(stack.offsets, (std::vector<int64_t>{0, 32, 48}));
    ASSERT_EQ(stack.matrix.rows, 81);
    testing::on_every_isa([&](Isa) {
      for (int64_t M : {1, 7, 50}) {
        const auto x = random_vector(M * K, 20 + M);
        const int64_t S = stack.matrix.rows;
        std::vector<float> y(M * S, -1.0f);
        packed_gemm(x.data(), M, stack.view(), y.data());
        for (size_t i = 0; i < rows.size(); ++i) {
          const PackedMatrix alone = bf16 ? pack_bf16(w[i].data(), rows[i], K) : pack_f32(w[i].data(), rows[i], K);
          std::vector<float> expected(M * rows[i]), part(M * rows[i], -1.0f);
          packed_gemm(x.data(), M, alone.view(), expected.data());
          packed_gemm(x.data(), M, stack.part(i), part.data());
          for (int64_t m = 0; m < M; ++m)
            for (int64_t n = 0; n < rows[i]; ++n) {
              ASSERT_EQ(y[m * S + stack.offsets[i] + n], expected[m * rows[i] + n]) << "part " << i << " M " << M;
              ASSERT_EQ(part[m * rows[i] + n], expected[m * rows[i] + n]) << "part " << i << " alone, M " << M;
            }
        }
        for (int64_t m = 0; m < M; ++m)
          for (int64_t n : {20, 31, 39, 47}) ASSERT_EQ(y[m * S + n], 0.0f) << "padding column " << n;
      }
    });
  }
}

// Each output is one fixed chain of roundings in one lane, so the paths agree to the bit.
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
