#include "kernels/cpu/rmsnorm.h"

#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#include "core/parallel_for.h"
#include "core/op_profile.h"
#include "kernels/cpu/parallel.h"
#include "kernels/cpu/row_dots.h"
#include "kernels/cpu/row_dots_kernel.h"

// The row sums of the forward and of the QK-norm backward come from row_dots, several rows per vector
// instruction with the bits of a row summed alone; the rest runs along each row.
//
// This file is compiled with -ffp-contract=off (CMakeLists.txt): every fused multiply-add below is
// written out (std::fma, _mm256_fmadd_ps), where the x86-64-v3 build of the plain loops these
// functions replaced put one, so each value keeps the bits it had when the loops were scalar.

namespace tt {

namespace {

void scale_row(float* y, const float* x, const float* weight, float s, int64_t dim) {
  if (weight)
    for (int64_t i = 0; i < dim; ++i) y[i] = x[i] * s * weight[i];
  else
    for (int64_t i = 0; i < dim; ++i) y[i] = x[i] * s;
}

}  // namespace

void rmsnorm_forward(float* y, float* rstd, const float* x, const float* weight, int64_t rows, int64_t dim,
                     float eps) {
  OpScope scope("rmsnorm fwd");
  for_each_row_dot(x, x, rows, dim, [&](int64_t r, float sum) {
    float s = 1.0f / std::sqrt(sum / static_cast<float>(dim) + eps);
    if (rstd) rstd[r] = s;
    scale_row(y + r * dim, x + r * dim, weight, s, dim);
  });
}

void rmsnorm_forward_from_rstd(float* y, const float* x, const float* weight, const float* rstd, int64_t rows,
                               int64_t dim) {
  OpScope scope("rmsnorm fwd (saved rstd)");
  parallel_for(rows, rows * dim > kMinParallelStreamingWork,
               [&](int64_t r) { scale_row(y + r * dim, x + r * dim, weight, rstd[r], dim); });
}

namespace {

constexpr int kRowsPerGroup = 8;

struct NormBackward {
  float* dx;
  const float* dy;
  const float* x;
  const float* weight;
  const float* rstd;
  int64_t dim;
  bool accumulate;  // dx += the input gradient
};

// sum(dxhat * xhat) of one row, dxhat = dy * w: the plain loop's chain `dot = fma((dy * w) * x, s, dot)`;
// without weight `dot = fma(dy * x, s, dot)` (spelled out: compilers contract `dot += dy * x * s`
// differently, GCC into this FMA, clang 14 not always).
float row_mean_term(const NormBackward& a, int64_t r) {
  const float* dyr = a.dy + r * a.dim;
  const float* xr = a.x + r * a.dim;
  const float s = a.rstd[r];
  float dot = 0.0f;
  if (a.weight)
    for (int64_t i = 0; i < a.dim; ++i) dot = std::fma(dyr[i] * a.weight[i] * xr[i], s, dot);
  else
    for (int64_t i = 0; i < a.dim; ++i) dot = std::fma(dyr[i] * xr[i], s, dot);
  return dot;
}

// row_mean_term of 8 weighted rows from r0 at once: lane k of a vector carries row k's chain (8 x 8
// blocks of (dy * w) * x transposed to columns, then fused in column order), the same bits.
void weighted_mean_terms8(const NormBackward& a, int64_t r0, float* dots) {
  const int64_t dim = a.dim;
  const float* dy = a.dy + r0 * dim;
  const float* x = a.x + r0 * dim;
  const __m256 s = _mm256_loadu_ps(a.rstd + r0);
  __m256 acc = _mm256_setzero_ps();
  int64_t c = 0;
  for (; c + 8 <= dim; c += 8) {
    const __m256 w = _mm256_loadu_ps(a.weight + c);
    __m256 t[8];
    for (int k = 0; k < kRowsPerGroup; ++k)
      t[k] = _mm256_mul_ps(_mm256_mul_ps(_mm256_loadu_ps(dy + k * dim + c), w), _mm256_loadu_ps(x + k * dim + c));
    transpose8x8(t);
    for (int j = 0; j < 8; ++j) acc = _mm256_fmadd_ps(t[j], s, acc);
  }
  _mm256_storeu_ps(dots, acc);
  for (; c < dim; ++c)
    for (int k = 0; k < kRowsPerGroup; ++k)
      dots[k] = std::fma(dy[k * dim + c] * a.weight[c] * x[k * dim + c], a.rstd[r0 + k], dots[k]);
}

// dweight += dy * xhat for one row: `dw = fma(dy * x, s, dw)`, lane by lane.
void add_row_weight_gradient(float* dweight, const NormBackward& a, int64_t r) {
  const float* dyr = a.dy + r * a.dim;
  const float* xr = a.x + r * a.dim;
  const float s = a.rstd[r];
  const __m256 vs = _mm256_set1_ps(s);
  int64_t i = 0;
  for (; i + 8 <= a.dim; i += 8)
    _mm256_storeu_ps(dweight + i, _mm256_fmadd_ps(_mm256_mul_ps(_mm256_loadu_ps(dyr + i), _mm256_loadu_ps(xr + i)),
                                                  vs, _mm256_loadu_ps(dweight + i)));
  for (; i < a.dim; ++i) dweight[i] = std::fma(dyr[i] * xr[i], s, dweight[i]);
}

// dx = s * (dy * w - (x * s) * mean) with the multiply by w fused; without weight
// s * (dy - (x * s) * mean) with the multiply by mean fused. Added to dx when accumulating.
void row_input_gradient(const NormBackward& a, int64_t r, float dot) {
  const float* dyr = a.dy + r * a.dim;
  const float* xr = a.x + r * a.dim;
  float* dxr = a.dx + r * a.dim;
  const float s = a.rstd[r], mean = dot / static_cast<float>(a.dim);
  const __m256 vs = _mm256_set1_ps(s), vmean = _mm256_set1_ps(mean);
  int64_t i = 0;
  for (; i + 8 <= a.dim; i += 8) {
    const __m256 xs = _mm256_mul_ps(_mm256_loadu_ps(xr + i), vs);
    const __m256 dyv = _mm256_loadu_ps(dyr + i);
    const __m256 centred = a.weight ? _mm256_fmsub_ps(dyv, _mm256_loadu_ps(a.weight + i), _mm256_mul_ps(xs, vmean))
                                    : _mm256_fnmadd_ps(xs, vmean, dyv);
    __m256 g = _mm256_mul_ps(vs, centred);
    if (a.accumulate) g = _mm256_add_ps(_mm256_loadu_ps(dxr + i), g);
    _mm256_storeu_ps(dxr + i, g);
  }
  for (; i < a.dim; ++i) {
    const float xs = xr[i] * s;
    const float centred = a.weight ? std::fma(dyr[i], a.weight[i], -(xs * mean)) : std::fma(-xs, mean, dyr[i]);
    const float g = s * centred;
    dxr[i] = a.accumulate ? dxr[i] + g : g;
  }
}

// Rows [begin, end) in order, 8 at a time: the weight gradient adds row after row as before.
void backward_rows(const NormBackward& a, int64_t begin, int64_t end, float* my_dweight) {
  for (int64_t r0 = begin; r0 < end; r0 += kRowsPerGroup) {
    const int64_t n = std::min<int64_t>(kRowsPerGroup, end - r0);
    float dots[kRowsPerGroup];
    if (a.weight && n == kRowsPerGroup)
      weighted_mean_terms8(a, r0, dots);
    else
      for (int64_t k = 0; k < n; ++k) dots[k] = row_mean_term(a, r0 + k);
    for (int64_t k = 0; k < n; ++k) {
      if (my_dweight) add_row_weight_gradient(my_dweight, a, r0 + k);
      row_input_gradient(a, r0 + k, dots[k]);
    }
  }
}

// Rows [begin, end) of `chunk` of `chunks` as libgomp's schedule(static) deals `rows` iterations to
// `chunks` threads: contiguous runs, the first rows % chunks one row longer.
std::pair<int64_t, int64_t> static_schedule_chunk(int64_t rows, int chunks, int chunk) {
  const int64_t base = rows / chunks, longer = rows % chunks;
  const int64_t begin = chunk < longer ? chunk * (base + 1) : chunk * base + longer;
  return {begin, begin + base + (chunk < longer ? 1 : 0)};
}

void rmsnorm_backward_impl(const NormBackward& a, float* dweight, int64_t rows) {
  const int64_t dim = a.dim;
  const bool want_dweight = a.weight && dweight;
  const int threads = omp_get_max_threads();
  // The rows fall into the chunks that this kernel's parallel loop over rows (schedule(static), one
  // thread below kMinParallelWork) has always given its threads, and each chunk sums its own
  // weight-gradient partial in row order: the bits depend on this partition only. Whether the
  // chunks then run on several threads is a matter of speed: below kMinParallelStreamingWork they
  // run one after another, with no barrier to wait at.
  const int chunks = rows * dim > kMinParallelWork ? threads : 1;
  std::vector<float> partial(want_dweight ? static_cast<size_t>(threads) * dim : 0, 0.0f);
  parallel_for(chunks, rows * dim > kMinParallelStreamingWork, [&](int64_t chunk) {
    const auto [begin, end] = static_schedule_chunk(rows, chunks, chunk);
    if (begin < end) backward_rows(a, begin, end, want_dweight ? partial.data() + chunk * dim : nullptr);
  });
  if (want_dweight)
    for (int t = 0; t < threads; ++t)
      for (int64_t i = 0; i < dim; ++i) dweight[i] += partial[t * dim + i];
}

}  // namespace

void rmsnorm_backward(float* dx, float* dweight, const float* dy, const float* x, const float* weight,
                      const float* rstd, int64_t rows, int64_t dim) {
  OpScope scope("rmsnorm bwd");
  rmsnorm_backward_impl({dx, dy, x, weight, rstd, dim, false}, dweight, rows);
}

void rmsnorm_backward_add(float* dx_sum, float* dweight, const float* dy, const float* x, const float* weight,
                          const float* rstd, int64_t rows, int64_t dim) {
  OpScope scope("rmsnorm bwd (+ residual add)");
  rmsnorm_backward_impl({dx_sum, dy, x, weight, rstd, dim, true}, dweight, rows);
}

}  // namespace tt

namespace tt {

void l2norm_backward_from_output(float* dx, const float* dy, const float* y, const float* rstd, int64_t rows,
                                 int64_t dim) {
  OpScope scope("qk-norm bwd");
  for_each_row_dot(dy, y, rows, dim, [&](int64_t r, float dot) {
    const float* yr = y + r * dim;
    const float* dyr = dy + r * dim;
    float* dxr = dx + r * dim;
    float mean = dot / static_cast<float>(dim);
    for (int64_t i = 0; i < dim; ++i) dxr[i] = rstd[r] * std::fma(-yr[i], mean, dyr[i]);
  });
}

}  // namespace tt
