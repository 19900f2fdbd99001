#include "kernels/cpu/packed_gemm.h"

#include <algorithm>
#include <cstring>

#include "core/bf16.h"
#include "core/cpu_features.h"
#include "kernels/cpu/isa_paths.h"

namespace tt {

// Weights are packed in panels of kPanel output columns: element (n, k) of W [N, K] sits at
// (n / kPanel) * K * kPanel + k * kPanel + n % kPanel, the last panel padded with zeros. A panel is
// contiguous, so the kernel streams it once per block of rows.
namespace {

constexpr int64_t kPanel = kPackedPanel;

}  // namespace

int64_t packed_index(int64_t n, int64_t k, int64_t K) { return (n / kPanel) * K * kPanel + k * kPanel + n % kPanel; }
int64_t packed_size(int64_t N, int64_t K) { return (N + kPanel - 1) / kPanel * kPanel * K; }

PackedMatrix pack_f32(const float* w, int64_t rows, int64_t cols) {
  PackedMatrix m;
  m.rows = rows;
  m.cols = cols;
  m.f32.assign(packed_size(rows, cols), 0.0f);
  for (int64_t n = 0; n < rows; ++n)
    for (int64_t k = 0; k < cols; ++k) m.f32[packed_index(n, k, cols)] = w[n * cols + k];
  return m;
}

PackedMatrix pack_bf16(const float* w, int64_t rows, int64_t cols) {
  PackedMatrix m;
  m.rows = rows;
  m.cols = cols;
  m.bf16.assign(packed_size(rows, cols), 0);
  std::vector<float> rounded(cols);
  for (int64_t n = 0; n < rows; ++n) {
    round_to_bf16(w + n * cols, rounded.data(), cols);
    for (int64_t k = 0; k < cols; ++k) {
      uint32_t bits;
      std::memcpy(&bits, &rounded[k], 4);
      m.bf16[packed_index(n, k, cols)] = static_cast<uint16_t>(bits >> 16);
    }
  }
  return m;
}

void packed_gemm(const float* x, int64_t m, const PackedMatrixView& w, float* y, bool accumulate) {
  if (m == 0 || w.rows == 0) return;
  if (active_isa() >= Isa::AVX512)
    isa_paths::packed_gemm_avx512(x, m, w, y, accumulate);
  else
    isa_paths::packed_gemm_avx2(x, m, w, y, accumulate);
}

}  // namespace tt
