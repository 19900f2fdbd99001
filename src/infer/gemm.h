// A row-invariant GEMM for inference: y[m, n] (+)= sum_k x[m, k] * w[n, k] (w in HF Linear layout
// [out, in]). Each output element is one 8-lane FMA dot product over k in a fixed order followed by
// a fixed horizontal sum, so a row's result depends only on that row of x and on w — never on how
// many rows are in the call, where the row sits, or how threads split the work. This is what makes
// generation batch-invariant (oneDNN picks kernels and K-splits by M, so its rows can change with
// the batch). Weights are fp32 or bf16 (stored as 16-bit, halving the bytes decode has to stream).
#pragma once
#include <cstdint>
#include <vector>

namespace tt::infer {

struct WeightMatrix {
  int64_t rows = 0, cols = 0;       // [out, in]
  const float* f32 = nullptr;       // fp32 weights (not owned), or
  std::vector<uint16_t> bf16;       // bf16 bits, owned
  bool is_bf16() const { return f32 == nullptr; }
};

// fp32 view of w[rows, cols] (not copied).
WeightMatrix weight_f32(const float* w, int64_t rows, int64_t cols);
// bf16 copy of w, rounded to nearest even exactly as round_to_bf16 (the training bf16 path) does.
WeightMatrix weight_bf16(const float* w, int64_t rows, int64_t cols);

// y [m, w.rows] (+)= x [m, w.cols] · w^T. x must not alias y.
void gemm(const float* x, int64_t m, const WeightMatrix& w, float* y, bool accumulate = false);

}  // namespace tt::infer
