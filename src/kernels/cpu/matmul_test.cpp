#include "kernels/cpu/matmul.h"

#include <cmath>
#include <cstring>

#include <gtest/gtest.h>

#include "kernels/cpu/small_gemm.h"
#include "tests/gradcheck.h"

namespace tt {
namespace {

// C = op(A) op(B) in double, from the row-major storage described in matmul.h.
std::vector<double> reference(const std::vector<float>& a, const std::vector<float>& b, int64_t m, int64_t n, int64_t k,
                              bool ta, bool tb) {
  std::vector<double> c(m * n, 0.0);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j)
      for (int64_t p = 0; p < k; ++p)
        c[i * n + j] += double(ta ? a[p * m + i] : a[i * k + p]) * (tb ? b[j * k + p] : b[p * n + j]);
  return c;
}

TEST(Matmul, AllTransposesAndAccumulate) {
  const int64_t m = 13, n = 21, k = 9;
  auto a = testing::random_vector(m * k, 1), b = testing::random_vector(k * n, 2);
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      auto expected = reference(a, b, m, n, k, ta, tb);
      std::vector<float> c(m * n, 1.0f);
      matmul(a.data(), b.data(), c.data(), m, n, k, {.trans_a = ta, .trans_b = tb, .accumulate = true});
      for (int64_t i = 0; i < m * n; ++i) EXPECT_NEAR(c[i], expected[i] + 1.0, 1e-4) << ta << tb;
    }
}

TEST(Matmul, Bf16RoundsInputsAndAccumulatesInFp32) {
  const int64_t m = 8, n = 16, k = 64;
  auto a = testing::random_vector(m * k, 3), b = testing::random_vector(k * n, 4);
  std::vector<float> ar(a.size()), br(b.size());
  round_to_bf16(a.data(), ar.data(), a.size());
  round_to_bf16(b.data(), br.data(), b.size());
  auto expected = reference(ar, br, m, n, k, false, false);
  std::vector<float> c(m * n);
  matmul(a.data(), b.data(), c.data(), m, n, k, {.precision = Precision::BF16});
  for (int64_t i = 0; i < m * n; ++i) EXPECT_NEAR(c[i], expected[i], 1e-4);
}

TEST(Matmul, RoundToBf16IsNearestEven) {
  // 1 + 2^-8 is halfway between two bf16 values: ties go to the even mantissa (1.0).
  float values[3] = {1.0f + 1.0f / 256.0f, 1.0f + 3.0f / 256.0f, -2.5f};
  float out[3];
  round_to_bf16(values, out, 3);
  EXPECT_EQ(out[0], 1.0f);
  EXPECT_EQ(out[1], 1.0f + 4.0f / 256.0f);
  EXPECT_EQ(out[2], -2.5f);
}

TEST(SmallGemm, MatchesReferenceIncludingTails) {
  const int64_t m = 7, n = 37, k = 11;
  auto a = testing::random_vector(m * k, 5), b = testing::random_vector(k * n, 6);
  auto expected = reference(a, b, m, n, k, false, false);
  std::vector<float> c(m * n);
  small_gemm(m, n, k, a.data(), k, b.data(), n, c.data(), n, false);
  for (int64_t i = 0; i < m * n; ++i) EXPECT_NEAR(c[i], expected[i], 1e-4);
  std::vector<float> t(k * m);
  transpose(a.data(), m, k, k, t.data());
  EXPECT_EQ(t[3 * m + 2], a[2 * k + 3]);
}

}  // namespace
}  // namespace tt
