#include "kernels/cpu/packed_gemm.h"

#include <algorithm>
#include <vector>

#include "core/parallel_for.h"
#include "core/bf16.h"
#include "core/cpu_features.h"
#include "kernels/cpu/isa_paths.h"
#include "kernels/cpu/scratch.h"

namespace tt {

// Weights are packed in panels of kPanel output columns: fp32 element (n, k) of W [N, K] sits at
// (n / kPanel) * K * kPanel + k * kPanel + n % kPanel, the last panel padded with zeros; bf16 panels
// hold pairs of k (packed_gemm.h). A panel is contiguous, so the kernel streams it once per block of
// rows.
namespace {

constexpr int64_t kPanel = kPackedPanel;

int64_t even(int64_t k) { return k + (k & 1); }

// Rows of x rounded to bf16 (nearest even) and padded to an even width with zeros: as fp32 values for
// the FMA paths, or as pairs (odd k in the high half) for VDPBF16PS. Large conversions use the threads.
const float* rounded_rows(const float* x, int64_t m, int64_t k) {
  thread_local std::vector<float> rounded;
  const int64_t kp = even(k);
  float* out = grown(rounded, m * kp);
  parallel_for(m, m * k > (int64_t{1} << 16), [&](int64_t r) {
    for (int64_t j = 0; j < k; ++j) out[r * kp + j] = bf16_to_f32(f32_to_bf16(x[r * k + j]));
    if (kp != k) out[r * kp + k] = 0.0f;
  });
  return out;
}

const uint32_t* bf16_pair_rows(const float* x, int64_t m, int64_t k) {
  thread_local std::vector<uint32_t> pairs;
  const int64_t kh = even(k) / 2;
  uint32_t* out = grown(pairs, m * kh);
  parallel_for(m, m * k > (int64_t{1} << 16), [&](int64_t r) {
    const float* row = x + r * k;
    for (int64_t j = 0; j < kh; ++j) {
      const uint32_t odd = 2 * j + 1 < k ? f32_to_bf16(row[2 * j + 1]) : 0;
      out[r * kh + j] = odd << 16 | f32_to_bf16(row[2 * j]);
    }
  });
  return out;
}

}  // namespace

int64_t packed_index(int64_t n, int64_t k, int64_t K) { return (n / kPanel) * K * kPanel + k * kPanel + n % kPanel; }
int64_t packed_size(int64_t N, int64_t K) { return (N + kPanel - 1) / kPanel * kPanel * K; }
int64_t packed_bf16_index(int64_t n, int64_t k, int64_t K) {
  return (n / kPanel) * even(K) * kPanel + (k / 2) * 2 * kPanel + (n % kPanel) * 2 + k % 2;
}
int64_t packed_bf16_size(int64_t N, int64_t K) { return (N + kPanel - 1) / kPanel * kPanel * even(K); }

PackedStack pack_stack(const std::vector<const float*>& weights, const std::vector<int64_t>& rows, int64_t cols,
                       bool bf16) {
  PackedStack s;
  s.rows = rows;
  int64_t end = 0;
  for (int64_t r : rows) {
    s.offsets.push_back((end + kPanel - 1) / kPanel * kPanel);
    end = s.offsets.back() + r;
  }
  PackedMatrix& m = s.matrix;
  m.rows = end;
  m.cols = cols;
  if (bf16)
    m.bf16.assign(packed_bf16_size(end, cols), 0);
  else
    m.f32.assign(packed_size(end, cols), 0.0f);
  for (size_t i = 0; i < weights.size(); ++i)
    for (int64_t n = 0; n < rows[i]; ++n)
      for (int64_t k = 0; k < cols; ++k) {
        const float v = weights[i][n * cols + k];
        const int64_t row = s.offsets[i] + n;
        if (bf16)
          m.bf16[packed_bf16_index(row, k, cols)] = f32_to_bf16(v);
        else
          m.f32[packed_index(row, k, cols)] = v;
      }
  return s;
}

PackedMatrixView PackedStack::part(size_t i) const {
  const int64_t offset = offsets.at(i), cols = matrix.cols;
  return {rows[i], cols, matrix.is_bf16() ? nullptr : matrix.f32.data() + offset * cols,
          matrix.is_bf16() ? matrix.bf16.data() + offset * even(cols) : nullptr};
}

PackedMatrix pack_f32(const float* w, int64_t rows, int64_t cols) { return pack_stack({w}, {rows}, cols, false).matrix; }

PackedMatrix pack_bf16(const float* w, int64_t rows, int64_t cols) { return pack_stack({w}, {rows}, cols, true).matrix; }

void packed_gemm(const float* x, int64_t m, const PackedMatrixView& w, float* y, bool accumulate) {
  if (m == 0 || w.rows == 0) return;
  const Isa isa = active_isa();
  if (w.bf16 == nullptr) {
    if (isa >= Isa::AVX512)
      isa_paths::packed_gemm_avx512(x, m, w, y, accumulate);
    else
      isa_paths::packed_gemm_avx2(x, m, w, y, accumulate);
    return;
  }
  const isa_paths::PackedBf16Gemm g{m, w.rows, w.cols, w.bf16, y, accumulate};
  if (isa >= Isa::AVX512_BF16)
    isa_paths::packed_gemm_bf16_avx512bf16(bf16_pair_rows(x, m, w.cols), g);
  else if (isa >= Isa::AVX512)
    isa_paths::packed_gemm_bf16_avx512(rounded_rows(x, m, w.cols), g);
  else
    isa_paths::packed_gemm_bf16_avx2(rounded_rows(x, m, w.cols), g);
}

}  // namespace tt
