// The mma.sync row-invariant GEMM (rowinv_gemm_mma.cuh) run on the CPU through warp_emulator.h: every
// block tile gives the product of bf16-rounded x and w within fp32 rounding, with and without
// accumulation, on partial tiles, odd n and K past the pipeline's depth; every tile gives the same
// bits as every other; a row gets the same bits alone and at any place in batches of any size. Runs
// on every machine (no GPU, no CUDA toolkit needed); rowinv_gemm_test.cpp checks the same kernel
// compiled by nvcc on a GPU (ctest -L cuda), against the wmma kernel too.
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/cuda/rowinv_gemm_mma.cuh"
#include "tests/gradcheck.h"

namespace tt::cuda::mma {
namespace {

using emulation::Block;
using emulation::LaunchShape;
using testing::random_vector;

std::vector<uint16_t> bf16_bits(const std::vector<float>& v) {
  std::vector<uint16_t> out(v.size());
  for (size_t i = 0; i < v.size(); ++i) out[i] = emulation::float_to_bf16_bits(v[i]);
  return out;
}

float round_bf16(float x) { return emulation::bf16_bits_to_float(emulation::float_to_bf16_bits(x)); }

enum class Tile { k64x128, k32x64, k16x64, k16x32 };
constexpr Tile kTiles[] = {Tile::k64x128, Tile::k32x64, Tile::k16x64, Tile::k16x32};
const char* tile_name(Tile tile) {
  return tile == Tile::k64x128 ? "64x128" : tile == Tile::k32x64 ? "32x64" : tile == Tile::k16x64 ? "16x64" : "16x32";
}

// A copy of `values` that ends where an inaccessible page begins: a load past the matrix (rows past m
// or n staged as data instead of zeros) is a crash, not a silent read of the heap.
template <typename V>
class GuardedCopy {
 public:
  explicit GuardedCopy(const std::vector<V>& values) {
    const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE)), bytes = values.size() * sizeof(V);
    data_pages_ = (bytes + page - 1) / page * page;
    mapping_ = mmap(nullptr, data_pages_ + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mapping_ == MAP_FAILED) throw std::runtime_error("mmap failed");
    mprotect(static_cast<char*>(mapping_) + data_pages_, page, PROT_NONE);
    data_ = reinterpret_cast<V*>(static_cast<char*>(mapping_) + data_pages_ - bytes);
    std::memcpy(data_, values.data(), bytes);
  }
  ~GuardedCopy() { munmap(mapping_, data_pages_ + static_cast<size_t>(sysconf(_SC_PAGESIZE))); }
  GuardedCopy(const GuardedCopy&) = delete;
  GuardedCopy& operator=(const GuardedCopy&) = delete;
  const V* get() const { return data_; }

 private:
  void* mapping_ = nullptr;
  size_t data_pages_ = 0;
  V* data_ = nullptr;
};

template <typename T>
void launch_tile(const RowInvGemmArgs& args, uint64_t seed) {
  const LaunchShape shape{(args.n + T::cols - 1) / T::cols, (args.m + T::rows - 1) / T::rows, T::threads,
                          T::shared_bytes, seed};
  Block::launch(shape, [&] { rowinv_gemm_mma_kernel<T>(args); });
}

// y (m x n) = x (m x k) w^T, x and w ending at an inaccessible page; y NaN-poisoned unless
// accumulating onto y0.
std::vector<float> gemm(Tile tile, const float* x, int64_t m, const std::vector<uint16_t>& w, int64_t n, int64_t k,
                        const std::vector<float>* y0, uint64_t seed = 1) {
  std::vector<float> y = y0 ? *y0 : std::vector<float>(m * n, NAN);
  const GuardedCopy<float> x_guarded(std::vector<float>(x, x + m * k));
  const GuardedCopy<uint16_t> w_guarded(w);
  const RowInvGemmArgs args{
      .x = x_guarded.get(), .w = w_guarded.get(), .y = y.data(), .m = m, .n = n, .k = k, .accumulate = y0 != nullptr};
  switch (tile) {
    case Tile::k64x128: launch_tile<GemmTile64x128>(args, seed); break;
    case Tile::k32x64: launch_tile<GemmTile32x64>(args, seed); break;
    case Tile::k16x64: launch_tile<GemmTile16x64>(args, seed); break;
    case Tile::k16x32: launch_tile<GemmTile16x32>(args, seed); break;
  }
  return y;
}

bool same_bits(const float* a, const float* b, size_t count) { return std::memcmp(a, b, sizeof(float) * count) == 0; }

// Every tile on shapes with partial tiles in m and n, an odd n (the unpaired store), K of one stage,
// of several stages and past the pipeline's depth (320 = 10 stages), into poisoned or accumulated y;
// each within rounding of the double-precision product of the bf16-rounded operands, every tile with
// the bits of the first, for several thread orders.
TEST(RowInvGemmMmaEmulated, EveryTileGivesTheProductWithTheSameBits) {
  struct Shape {
    int64_t m, n, k;
  };
  for (const Shape s : {Shape{1, 40, 64}, Shape{37, 200, 96}, Shape{70, 136, 32}, Shape{5, 75, 40}, Shape{20, 48, 320}})
    for (const bool accumulate : {false, true}) {
      const std::vector<float> x = random_vector(s.m * s.k, 31), w = random_vector(s.n * s.k, 32),
                               y0 = random_vector(s.m * s.n, 33);
      const std::vector<uint16_t> w16 = bf16_bits(w);
      std::vector<float> first;
      for (const Tile tile : kTiles) {
        const std::string what = std::to_string(s.m) + "x" + std::to_string(s.n) + "x" + std::to_string(s.k) +
                                 (accumulate ? " accumulate" : "") + " tile " + tile_name(tile);
        const std::vector<float> y = gemm(tile, x.data(), s.m, w16, s.n, s.k, accumulate ? &y0 : nullptr,
                                          static_cast<uint64_t>(tile) + 3);
        for (int64_t r = 0; r < s.m; ++r)
          for (int64_t c = 0; c < s.n; ++c) {
            double want = accumulate ? y0[r * s.n + c] : 0.0, scale = std::fabs(want);
            for (int64_t i = 0; i < s.k; ++i) {
              const double term = double(round_bf16(x[r * s.k + i])) * round_bf16(w[c * s.k + i]);
              want += term;
              scale += std::fabs(term);
            }
            ASSERT_NEAR(y[r * s.n + c], want, 1e-5 * scale + 1e-30) << what << " at " << r << ", " << c;
          }
        if (first.empty()) first = y;
        else EXPECT_TRUE(same_bits(y.data(), first.data(), y.size())) << what << ": not the bits of tile 64x128";
      }
    }
}

// Rows of one 50-row x in batches of 1, 7, 16 and 33 at several offsets, each batch on a different
// tile (as the engine picks one from the batch size): every row has the bits it has in the whole.
TEST(RowInvGemmMmaEmulated, ARowGetsTheSameBitsAloneAndInEveryBatch) {
  const int64_t rows = 50, n = 96, k = 64;
  const std::vector<float> x = random_vector(rows * k, 41);
  const std::vector<uint16_t> w = bf16_bits(random_vector(n * k, 42));
  const std::vector<float> all = gemm(Tile::k64x128, x.data(), rows, w, n, k, nullptr);
  struct Batch {
    int64_t size;
    Tile tile;
  };
  for (const Batch b : {Batch{1, Tile::k16x32}, Batch{7, Tile::k16x64}, Batch{16, Tile::k32x64}, Batch{33, Tile::k16x32}})
    for (const int64_t first : {int64_t{0}, int64_t{9}, rows - b.size}) {
      const std::vector<float> part = gemm(b.tile, x.data() + first * k, b.size, w, n, k, nullptr, first + 5);
      EXPECT_TRUE(same_bits(part.data(), all.data() + first * n, part.size()))
          << "rows " << first << ".." << first + b.size - 1 << " as a batch of " << b.size << " on tile "
          << tile_name(b.tile);
    }
}

}  // namespace
}  // namespace tt::cuda::mma
