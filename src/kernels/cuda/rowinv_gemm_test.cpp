// The row-invariant GEMM against the CPU engine's (kernels/cpu/packed_gemm.h): the same bits, fp32 and bf16
// weights, with and without accumulation, odd shapes; and a row alone equals that row in a batch of 64.
// The tensor-core variant, both kernel families (wmma, and mma.sync with cp.async: RowInvGemmKernels):
// row-invariant bit for bit across batch sizes, and within fp32 rounding of the FMA chain (its products
// are exact: bf16 x bf16 in fp32); every block tile gives the same bits as every other, so the tile
// picked from the batch size cannot move a row's bits; the two families give the same bits; the
// picking rule on the model's decode shapes.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <set>
#include <tuple>

#include "core/bf16.h"
#include "kernels/cpu/packed_gemm.h"
#include "kernels/cuda/cuda_test_util.h"
#include "kernels/cuda/generation.h"
#include "kernels/cuda/rowinv_gemm_tiles.h"

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

constexpr RowInvGemmKernels kFamilies[] = {RowInvGemmKernels::wmma, RowInvGemmKernels::mma};

// Runs `body` with each kernel family in use, then restores the one before.
template <typename Body>
void for_each_family(Body body) {
  const RowInvGemmKernels before = rowinv_gemm_kernels();
  for (RowInvGemmKernels family : kFamilies) {
    set_rowinv_gemm_kernels(family);
    SCOPED_TRACE(std::string("kernels ") + rowinv_gemm_kernels_name(family));
    body(family);
  }
  set_rowinv_gemm_kernels(before);
}

TEST(RowInvariantGemm, TensorCoresWithinRoundingOfTheFmaChain) {
  TT_REQUIRE_GPU();
  for_each_family([](RowInvGemmKernels) {
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
  });
}

bool same_bits(const float* a, const float* b, size_t count) { return std::memcmp(a, b, sizeof(float) * count) == 0; }

// The plain entry point picks its tile from the batch size: at n = 2048 the batches below take
// different tiles (checked), and a row still gets the same bits in every one of them.
TEST(RowInvariantGemm, TensorCoresGiveARowTheSameBitsInEveryBatch) {
  TT_REQUIRE_GPU();
  for_each_family([](RowInvGemmKernels) {
  const int64_t k = 576, rows = 300;
  for (int64_t n : {200, 2048}) {
    const std::vector<float> x = bf16_rounded(random_vector(rows * k, 14)), w = random_vector(n * k, 15);
    DeviceBuffer<float> d_x(x), d_all(rows * n);
    DeviceBuffer<uint16_t> d_w(bf16_bits(w));
    rowinv_gemm_bf16_tensor_cores(d_x.get(), rows, d_w.get(), n, k, d_all.get(), false, nullptr);
    const std::vector<float> all = d_all.download();
    std::set<RowInvTile> tiles{rowinv_auto_tile(rows, n)};
    for (int64_t batch : {1, 2, 63, 64, 65, 129}) {
      tiles.insert(rowinv_auto_tile(batch, n));
      for (int64_t first : {int64_t{0}, int64_t{37}, rows - batch}) {
        DeviceBuffer<float> d_part(batch * n);
        rowinv_gemm_bf16_tensor_cores(d_x.get() + first * k, batch, d_w.get(), n, k, d_part.get(), false, nullptr);
        const std::vector<float> part = d_part.download();
        EXPECT_TRUE(same_bits(part.data(), all.data() + first * n, part.size()))
            << "rows " << first << ".." << first + batch - 1 << " as a batch of " << batch << ", n " << n
            << ", tile " << rowinv_tile_name(rowinv_auto_tile(batch, n)) << " vs "
            << rowinv_tile_name(rowinv_auto_tile(rows, n)) << " for all " << rows;
      }
    }
    if (n == 2048) {
      EXPECT_GE(tiles.size(), 2u) << "the batches should take more than one tile at n 2048";
    }
  }
  });
}

// Every tile of both families against the first (wmma 64 x 128, the kernel's only tile before the
// others came): the same bits on edge shapes (m below, at and across 16/32/64, n not a multiple of the
// tile, k not a multiple of the K step: the mma family runs those on wmma), with and without
// accumulation, into a poisoned output. The families agree because both issue the same chain of
// 16-deep bf16 tensor-core products per output (wmma's m16n16k16 is two m16n8k16 steps side by side):
// the default can move from one to the other without moving a generated token.
TEST(RowInvariantGemm, EveryTensorCoreTileGivesTheSameBits) {
  TT_REQUIRE_GPU();
  const int64_t max_m = 300, max_n = 2048, max_k = 2048;
  // x[m, k] and w[n, k] of every shape are the leading m * k and n * k values of one long draw.
  DeviceBuffer<float> d_x(random_vector(max_m * max_k, 21));
  DeviceBuffer<uint16_t> d_w(bf16_bits(random_vector(max_n * max_k, 22)));
  const std::vector<float> y0 = random_vector(max_m * max_n, 23);
  for (int64_t m : {1, 7, 16, 33, 256, 300})
    for (int64_t n : {192, 576, 2048, 1000})
      for (int64_t k : {576, 2048, 100})
        for (bool accumulate : {false, true}) {
          const std::vector<float> y_start(y0.begin(), y0.begin() + m * n);
          std::vector<float> first;
          for (RowInvGemmKernels family : kFamilies)
          for (RowInvTile tile : kRowInvTiles) {
            DeviceBuffer<float> d_y(m * n);  // poisoned: NaN wherever the kernel writes nothing
            if (accumulate) d_y.upload(y_start);
            rowinv_gemm_bf16_tensor_cores_tile(tile, family, d_x.get(), m, d_w.get(), n, k, d_y.get(), accumulate,
                                               nullptr);
            const std::vector<float> out = d_y.download();
            const std::string shape = std::to_string(m) + "x" + std::to_string(n) + "x" + std::to_string(k) +
                                      (accumulate ? " accumulate" : "") + " tile " + rowinv_tile_name(tile) + " " +
                                      rowinv_gemm_kernels_name(family);
            if (first.empty()) {
              first = out;
              ASSERT_TRUE(std::all_of(first.begin(), first.end(), [](float v) { return std::isfinite(v); }))
                  << shape << ": an output left unwritten";
            } else {
              EXPECT_TRUE(same_bits(out.data(), first.data(), first.size())) << shape << " differs from wmma 64x128";
            }
          }
        }
}

// The mma family needs K % 8 == 0 and 16-byte aligned operands; other products run on wmma.
TEST(RowInvariantGemm, MmaKernelsApplyToAlignedProductsWithKAMultipleOf8) {
  alignas(16) static float x[16];
  alignas(16) static uint16_t w[16];
  EXPECT_TRUE(rowinv_gemm_mma_applies(x, w, 576));
  EXPECT_FALSE(rowinv_gemm_mma_applies(x, w, 100));
  EXPECT_FALSE(rowinv_gemm_mma_applies(x + 1, w, 576));
  EXPECT_FALSE(rowinv_gemm_mma_applies(x, w + 4, 576));
}

// The picking rule on an H200's 132 SMs for the model's decode shapes (hidden 576, k/v 192, FFN 2048,
// vocabulary 128256): runs without a GPU.
TEST(RowInvariantGemm, TilePickingFillsTheSmsOnDecodeShapes) {
  constexpr int64_t kSms = 132;
  EXPECT_EQ(rowinv_tile_for(256, 576, kSms), RowInvTile::k16x64);   // 144 blocks (64x128 would give 20)
  EXPECT_EQ(rowinv_tile_for(256, 192, kSms), RowInvTile::k16x32);   // 96: no tile reaches a wave
  EXPECT_EQ(rowinv_tile_for(256, 2048, kSms), RowInvTile::k32x64);  // 256
  EXPECT_EQ(rowinv_tile_for(256, 128256, kSms), RowInvTile::k64x128);
  EXPECT_EQ(rowinv_tile_for(64, 576, kSms), RowInvTile::k16x32);
  EXPECT_EQ(rowinv_tile_for(64, 128256, kSms), RowInvTile::k64x128);
  EXPECT_EQ(rowinv_tile_for(1, 576, kSms), RowInvTile::k16x32);
  EXPECT_EQ(rowinv_tile_for(1, 128256, kSms), RowInvTile::k16x64);  // 64-row tiles are not for one row
  EXPECT_EQ(rowinv_tile_for(2048, 576, kSms), RowInvTile::k64x128);  // prefill: 32 x 5 = 160 blocks
  for (int64_t m : {1, 16, 17, 33, 64, 256, 2048})
    for (int64_t n : {1, 192, 576, 2048, 128256}) {
      const RowInvTile tile = rowinv_tile_for(m, n, kSms);
      EXPECT_LE(rowinv_tile_rows(tile), std::max<int64_t>(16, (m + 15) / 16 * 16)) << m << "x" << n;
      if (rowinv_tile_blocks(tile, m, n) < kSms) {
        EXPECT_EQ(tile, RowInvTile::k16x32) << m << "x" << n;
      }
    }
}

}  // namespace
}  // namespace tt::cuda
