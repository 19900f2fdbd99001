// The row-invariant GEMM against the CPU engine's (kernels/cpu/packed_gemm.h): the same bits, fp32 and bf16
// weights, with and without accumulation, odd shapes; and a row alone equals that row in a batch of 64.
// The tensor-core variant: row-invariant bit for bit across batch sizes, and within fp32 rounding of
// the FMA chain (its products are exact: bf16 x bf16 in fp32).
#include <gtest/gtest.h>

#include <algorithm>
#include <tuple>

#include "core/bf16.h"
#include "kernels/cpu/packed_gemm.h"
#include "kernels/cuda/cuda_test_util.h"
#include "kernels/cuda/generation.h"

namespace tt::cuda {
namespace {

using testing::DeviceBuffer;
using testing::random_vector;

std::vector<float> device_gemm(const std::vector<float>& x, int64_t m, const PackedMatrix& w,
                               const std::vector<float>& w_f32, const std::vector<float>& y0, bool accumulate) {
  DeviceBuffer<float> d_x(x), d_y(y0);
  if (w.is_bf16()) {
    std::vector<uint16_t> bits(w_f32.size());  // the rounding pack_bf16 uses (nearest even)
    for (size_t i = 0; i < bits.size(); ++i) bits[i] = f32_to_bf16(w_f32[i]);
    DeviceBuffer<uint16_t> d_w(bits);
    rowinv_gemm_bf16(d_x.get(), m, d_w.get(), w.rows, w.cols, d_y.get(), accumulate, nullptr);
    return d_y.download();
  }
  DeviceBuffer<float> d_w(w_f32);
  rowinv_gemm_f32(d_x.get(), m, d_w.get(), w.rows, w.cols, d_y.get(), accumulate, nullptr);
  return d_y.download();
}

void check_same_bits(int64_t m, int64_t n, int64_t k, bool bf16, bool accumulate) {
  const std::vector<float> x = random_vector(m * k, 1), w = random_vector(n * k, 2), y0 = random_vector(m * n, 3);
  const PackedMatrix packed = bf16 ? pack_bf16(w.data(), n, k) : pack_f32(w.data(), n, k);
  std::vector<float> ref = y0;
  packed_gemm(x.data(), m, packed.view(), ref.data(), accumulate);
  const std::vector<float> out = device_gemm(x, m, packed, w, y0, accumulate);
  EXPECT_TRUE(std::equal(out.begin(), out.end(), ref.begin()))
      << m << "x" << n << "x" << k << (bf16 ? " bf16" : " f32") << (accumulate ? " accumulate" : "");
}

TEST(RowInvariantGemm, SameBitsAsTheCpuEngine) {
  TT_REQUIRE_GPU();
  for (bool bf16 : {false, true})
    for (bool accumulate : {false, true}) {
      check_same_bits(1, 96, 64, bf16, accumulate);
      check_same_bits(7, 130, 75, bf16, accumulate);
      check_same_bits(65, 64, 576, bf16, accumulate);
    }
}

TEST(RowInvariantGemm, ARowAloneEqualsItsRowInABatchOf64) {
  TT_REQUIRE_GPU();
  const int64_t m = 64, n = 200, k = 576;
  const std::vector<float> x = random_vector(m * k, 4), w = random_vector(n * k, 5);
  DeviceBuffer<float> d_x(x), d_w(w), d_y(m * n), d_one(n);
  rowinv_gemm_f32(d_x.get(), m, d_w.get(), n, k, d_y.get(), false, nullptr);
  const std::vector<float> batch = d_y.download();
  for (int64_t r : {0, 13, 63}) {
    rowinv_gemm_f32(d_x.get() + r * k, 1, d_w.get(), n, k, d_one.get(), false, nullptr);
    const std::vector<float> alone = d_one.download();
    EXPECT_TRUE(std::equal(alone.begin(), alone.end(), batch.begin() + r * n)) << "row " << r;
  }
}

std::vector<float> bf16_rounded(std::vector<float> v) {
  for (float& e : v) e = bf16_to_f32(f32_to_bf16(e));
  return v;
}

std::vector<uint16_t> bf16_bits(const std::vector<float>& v) {
  std::vector<uint16_t> bits(v.size());
  for (size_t i = 0; i < v.size(); ++i) bits[i] = f32_to_bf16(v[i]);
  return bits;
}

TEST(RowInvariantGemm, TensorCoresWithinRoundingOfTheFmaChain) {
  TT_REQUIRE_GPU();
  for (bool accumulate : {false, true})
    for (auto [m, n, k] : {std::tuple<int64_t, int64_t, int64_t>{1, 96, 64}, {7, 130, 75}, {65, 64, 576},
                           {256, 300, 2048}}) {
      const std::vector<float> x = bf16_rounded(random_vector(m * k, 11)), w = random_vector(n * k, 12),
                               y0 = random_vector(m * n, 13);
      const PackedMatrix packed = pack_bf16(w.data(), n, k);
      std::vector<float> ref = y0;
      packed_gemm(x.data(), m, packed.view(), ref.data(), accumulate);
      DeviceBuffer<float> d_x(x), d_y(y0);
      DeviceBuffer<uint16_t> d_w(bf16_bits(w));
      rowinv_gemm_bf16_tensor_cores(d_x.get(), m, d_w.get(), n, k, d_y.get(), accumulate, nullptr);
      EXPECT_LT(testing::relative_error(d_y.download(), ref), 1e-5)
          << m << "x" << n << "x" << k << (accumulate ? " accumulate" : "");
    }
}

TEST(RowInvariantGemm, TensorCoresGiveARowTheSameBitsInEveryBatch) {
  TT_REQUIRE_GPU();
  const int64_t n = 200, k = 576, rows = 300;
  const std::vector<float> x = bf16_rounded(random_vector(rows * k, 14)), w = random_vector(n * k, 15);
  DeviceBuffer<float> d_x(x), d_all(rows * n);
  DeviceBuffer<uint16_t> d_w(bf16_bits(w));
  rowinv_gemm_bf16_tensor_cores(d_x.get(), rows, d_w.get(), n, k, d_all.get(), false, nullptr);
  const std::vector<float> all = d_all.download();
  for (int64_t batch : {1, 2, 63, 64, 65, 129}) {
    for (int64_t first : {int64_t{0}, int64_t{37}, rows - batch}) {
      DeviceBuffer<float> d_part(batch * n);
      rowinv_gemm_bf16_tensor_cores(d_x.get() + first * k, batch, d_w.get(), n, k, d_part.get(), false, nullptr);
      const std::vector<float> part = d_part.download();
      EXPECT_TRUE(std::equal(part.begin(), part.end(), all.begin() + first * n))
          << "rows " << first << ".." << first + batch - 1 << " as a batch of " << batch;
    }
  }
}

}  // namespace
}  // namespace tt::cuda
