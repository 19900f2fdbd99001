// A row-invariant GEMM for inference: y[m, n] (+)= sum_k x[m, k] * w[n, k] (w in HF Linear layout
// [out, in]). Each output element is one fixed chain of roundings over k in a fixed order (one lane
// of a register-tiled outer product), so a row's result depends only on that row of x and on w —
// never on how many rows are in the call, where the row sits in a tile, or how threads split the
// work. This is what makes generation batch-invariant (oneDNN picks kernels and K-splits by M, so its
// rows can change with the batch). Weights are packed once into 16-column panels:
//   fp32 weights: one FMA chain over k = 0..K-1 in order, x as given.
//   bf16 weights: the bf16 product. x is rounded to bf16 (nearest even, as round_to_bf16), and the
//     chain runs over the pairs (k, k+1) = (0, 1), (2, 3), ... in order, adding within a pair the odd
//     product first, then the even one (K odd: a zero pads the last pair). That is the order in which
//     AVX512-BF16's VDPBF16PS adds (checked bit for bit against it on AMD Zen 5; Intel's manual gives
//     the same), and a product of two bf16 values is exact in fp32, so the native bf16 dot-product path
//     and the fp32-FMA paths give the same bits. (VDPBF16PS flushes subnormal inputs and outputs to
//     zero; the FMA paths do not, so only sums and products below 2^-126 could differ between paths.)
//     16-bit storage also halves the bytes decode has to stream.
//
// The kernel takes plain views (pointers and sizes, no hidden state): PackedMatrix owns host memory,
// and a device backend packs the same layout into its own buffers.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace tt {

constexpr int64_t kPackedPanel = 16;  // output columns per panel

// Packed panels of a weight [rows, cols]: exactly one of f32 / bf16 (bf16 bits) is set.
struct PackedMatrixView {
  int64_t rows = 0, cols = 0;
  const float* f32 = nullptr;
  const uint16_t* bf16 = nullptr;
};

// Host storage of a packed weight.
struct PackedMatrix {
  int64_t rows = 0, cols = 0;       // [out, in]
  std::vector<float> f32;           // packed fp32 weights, or
  std::vector<uint16_t> bf16;       // packed bf16 bits
  bool is_bf16() const { return !bf16.empty(); }
  int64_t bytes() const { return static_cast<int64_t>(f32.size() * sizeof(float) + bf16.size() * sizeof(uint16_t)); }
  PackedMatrixView view() const { return {rows, cols, is_bf16() ? nullptr : f32.data(), is_bf16() ? bf16.data() : nullptr}; }
};

// Floats the packed fp32 layout of a [rows, cols] weight takes, and where element (n, k) sits: panel
// n / 16, then k, then n % 16.
int64_t packed_size(int64_t rows, int64_t cols);
int64_t packed_index(int64_t n, int64_t k, int64_t cols);
// The same for bf16: panel n / 16, then the pair k / 2, then n % 16, then k % 2 — a panel's pair of
// k is 32 consecutive values, one VDPBF16PS operand. cols is padded to even with zeros.
int64_t packed_bf16_size(int64_t rows, int64_t cols);
int64_t packed_bf16_index(int64_t n, int64_t k, int64_t cols);

// Packed fp32 copy of w[rows, cols].
PackedMatrix pack_f32(const float* w, int64_t rows, int64_t cols);
// bf16 copy of w, rounded to nearest even exactly as round_to_bf16 (the training bf16 path) does, in
// the pair layout above.
PackedMatrix pack_bf16(const float* w, int64_t rows, int64_t cols);

// Weights that share an input (q/k/v, gate/up) packed one after another, each from a panel boundary:
// one packed_gemm over view() computes them all — one pass over the weights and one parallel region
// instead of one each, what a decode step's few rows need — with part i's columns at offsets[i] of each
// output row (columns of the padding between parts are zeros). part(i) is weight i alone. A column's
// bits do not depend on the columns around it, so both give the same values.
struct PackedStack {
  PackedMatrix matrix;                // rows = the last part's end
  std::vector<int64_t> offsets, rows;  // per part: its first column in the stack, its rows
  PackedMatrixView view() const { return matrix.view(); }
  PackedMatrixView part(size_t i) const;
};

// weights[i] is [rows[i], cols]; bf16 packs as pack_bf16 does, else as pack_f32.
PackedStack pack_stack(const std::vector<const float*>& weights, const std::vector<int64_t>& rows, int64_t cols,
                       bool bf16);

// y [m, w.rows] (+)= x [m, w.cols] · w^T. x must not alias y.
void packed_gemm(const float* x, int64_t m, const PackedMatrixView& w, float* y, bool accumulate = false);

}  // namespace tt
