// RMSNorm over the last dimension: y = x * rstd * w, rstd = 1 / sqrt(mean(x^2) + eps).
// With weight == nullptr it is the weightless "L2 norm" Llama4 applies to q and k (w = 1).
#pragma once
#include <cstdint>

namespace tt {

// x, y: [rows, dim]; weight: [dim] or nullptr; rstd: [rows] (saved for backward; may be nullptr).
// x and y may alias.
void rmsnorm_forward(float* y, float* rstd, const float* x, const float* weight, int64_t rows, int64_t dim,
                     float eps);

// y as rmsnorm_forward gives it, from the rstd it saved (no row sums): what the backward recomputes.
void rmsnorm_forward_from_rstd(float* y, const float* x, const float* weight, const float* rstd, int64_t rows,
                               int64_t dim);

// dx = rstd * (dxhat - xhat * mean(dxhat * xhat)), dxhat = dy * w, xhat = x * rstd.
// dweight (if weight and dweight are non-null) += sum over rows of dy * xhat. dx may alias dy.
void rmsnorm_backward(float* dx, float* dweight, const float* dy, const float* x, const float* weight,
                      const float* rstd, int64_t rows, int64_t dim);
// The same, with dx added to dx_sum (the residual stream's gradient) in the same pass: the bits of
// rmsnorm_backward into a scratch buffer followed by dx_sum += scratch. dx_sum must not alias dy or x.
void rmsnorm_backward_add(float* dx_sum, float* dweight, const float* dy, const float* x, const float* weight,
                          const float* rstd, int64_t rows, int64_t dim);

}  // namespace tt

namespace tt {

// Backward of the weightless norm from its output: with y = x * rstd, dx = rstd * (dy - y * mean(dy * y)).
// Lets the caller keep only y (which attention needs anyway), not x. dx may alias dy.
void l2norm_backward_from_output(float* dx, const float* dy, const float* y, const float* rstd, int64_t rows,
                                 int64_t dim);

}  // namespace tt
