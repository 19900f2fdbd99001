#include "kernels/cpu/roofline.h"

#include <omp.h>

#include <gtest/gtest.h>

#include "tests/gradcheck.h"

namespace tt {
namespace {

TEST(Roofline, TriadWritesEveryElementOnEveryThreadCount) {
  const int64_t n = 1001;  // not a multiple of any thread count: the last block is uneven
  const auto b = testing::random_vector(n, 1), c = testing::random_vector(n, 2);
  const int before = omp_get_max_threads();
  for (int threads : {1, 2, 3}) {
    std::vector<float> a(n, -7.0f);
    omp_set_num_threads(threads);
    triad(a.data(), b.data(), c.data(), 3.0f, n);
    for (int64_t i = 0; i < n; ++i) ASSERT_EQ(a[i], b[i] + 3.0f * c[i]) << "element " << i << ", " << threads << " threads";
  }
  omp_set_num_threads(before);
}

TEST(Roofline, ReadSumAddsEveryElement) {
  const int64_t n = 1003;
  std::vector<float> a(n);
  double expected = 0;
  for (int64_t i = 0; i < n; ++i) expected += a[i] = static_cast<float>(i % 17);  // small integers: exact sums
  const int before = omp_get_max_threads();
  for (int threads : {1, 2, 3}) {
    omp_set_num_threads(threads);
    EXPECT_EQ(read_sum(a.data(), n), expected) << threads << " threads";
  }
  omp_set_num_threads(before);
}

TEST(Roofline, MeasuresPositiveFiniteRates) {
  const MemoryBandwidth bw = measure_memory_bandwidth(1 << 20, 2);
  EXPECT_GT(bw.triad_gb_per_s, 0.0);
  EXPECT_GT(bw.read_gb_per_s, 0.0);
  EXPECT_LT(bw.triad_gb_per_s, 1e5);  // not a division by a zero time
  EXPECT_EQ(bw.array_bytes, 4 << 20);
  const double flops = measure_matmul_flops(64, 96, 32, Precision::FP32, 3);
  EXPECT_GT(flops, 0.0);
  EXPECT_LT(flops, 1e15);
}

}  // namespace
}  // namespace tt
