// A row-invariant GEMM for inference: y[m, n] (+)= sum_k x[m, k] * w[n, k] (w in HF Linear layout
// [out, in]). Each output element is one FMA chain over k = 0..K-1 in order (one lane of a
// register-tiled outer product), so a row's result depends only on that row of x and on w — never
// on how many rows are in the call, where the row sits in a tile, or how threads split the work.
// This is what makes generation batch-invariant (oneDNN picks kernels and K-splits by M, so its rows
// can change with the batch). Weights are packed once into 16-column panels, as fp32 or as bf16
// (16-bit storage halves the bytes decode has to stream).
#pragma once
#include <cstdint>
#include <vector>

namespace tt::infer {

struct WeightMatrix {
  int64_t rows = 0, cols = 0;       // [out, in]
  std::vector<float> f32;           // packed fp32 weights, or
  std::vector<uint16_t> bf16;       // packed bf16 bits
  bool is_bf16() const { return !bf16.empty(); }
};

// Packed fp32 copy of w[rows, cols].
WeightMatrix weight_f32(const float* w, int64_t rows, int64_t cols);
// bf16 copy of w, rounded to nearest even exactly as round_to_bf16 (the training bf16 path) does.
WeightMatrix weight_bf16(const float* w, int64_t rows, int64_t cols);

// y [m, w.rows] (+)= x [m, w.cols] · w^T. x must not alias y.
void gemm(const float* x, int64_t m, const WeightMatrix& w, float* y, bool accumulate = false);

}  // namespace tt::infer
