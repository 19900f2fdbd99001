#include "kernels/cpu/rmsnorm.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/op_profile.h"
#include "kernels/cpu/parallel.h"
#include "kernels/cpu/row_dots.h"

namespace tt {

// The row sums (sums of squares, dot products) come from row_dots, several rows per vector
// instruction with the bits of a row summed alone; the rest runs along each row.

void rmsnorm_forward(float* y, float* rstd, const float* x, const float* weight, int64_t rows, int64_t dim,
                     float eps) {
  OpScope scope("rmsnorm fwd");
  for_each_row_dot(x, x, rows, dim, [&](int64_t r, float sum) {
    const float* xr = x + r * dim;
    float* yr = y + r * dim;
    float s = 1.0f / std::sqrt(sum / static_cast<float>(dim) + eps);
    if (rstd) rstd[r] = s;
    if (weight)
      for (int64_t i = 0; i < dim; ++i) yr[i] = xr[i] * s * weight[i];
    else
      for (int64_t i = 0; i < dim; ++i) yr[i] = xr[i] * s;
  });
}

void rmsnorm_backward(float* dx, float* dweight, const float* dy, const float* x, const float* weight,
                      const float* rstd, int64_t rows, int64_t dim) {
  OpScope scope("rmsnorm bwd");
  const bool want_dweight = weight && dweight;
  int threads = omp_get_max_threads();
  std::vector<float> partial(want_dweight ? static_cast<size_t>(threads) * dim : 0, 0.0f);
#pragma omp parallel if (rows * dim > kMinParallelWork)
  {
    float* my_dweight = want_dweight ? partial.data() + omp_get_thread_num() * dim : nullptr;
#pragma omp for schedule(static)
    for (int64_t r = 0; r < rows; ++r) {
      const float* xr = x + r * dim;
      const float* dyr = dy + r * dim;
      float* dxr = dx + r * dim;
      float s = rstd[r];
      float dot = 0.0f;  // sum(dxhat * xhat)
      for (int64_t i = 0; i < dim; ++i) {
        float dxhat = weight ? dyr[i] * weight[i] : dyr[i];
        dot += dxhat * xr[i] * s;
        if (my_dweight) my_dweight[i] += dyr[i] * xr[i] * s;
      }
      float mean = dot / static_cast<float>(dim);
      for (int64_t i = 0; i < dim; ++i) {
        float dxhat = weight ? dyr[i] * weight[i] : dyr[i];
        dxr[i] = s * (dxhat - xr[i] * s * mean);
      }
    }
  }
  if (want_dweight)
    for (int t = 0; t < threads; ++t)
      for (int64_t i = 0; i < dim; ++i) dweight[i] += partial[t * dim + i];
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
    for (int64_t i = 0; i < dim; ++i) dxr[i] = rstd[r] * (dyr[i] - yr[i] * mean);
  });
}

}  // namespace tt
