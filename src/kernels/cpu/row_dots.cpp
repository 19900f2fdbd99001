#include "kernels/cpu/row_dots.h"

#include "core/cpu_features.h"
#include "kernels/cpu/isa_paths.h"
#include "kernels/cpu/parallel.h"

namespace tt {

float row_dot(const float* a, const float* b, int64_t n) {
  float sum = 0.0f;
  for (int64_t i = 0; i < n; ++i) sum += a[i] * b[i];
  return sum;
}

void row_dots(const float* a, const float* b, int64_t rows, int64_t n, int64_t stride, float* sums) {
  const bool avx512 = active_isa() >= Isa::AVX512;
  const int64_t group = avx512 ? isa_paths::row_dots_group_rows_avx512() : isa_paths::row_dots_group_rows_avx2();
  const int64_t groups = rows / group;  // then the rows left over, one by one
  const int64_t items = groups + (rows - groups * group);
#pragma omp parallel for schedule(static) if (rows * n > kMinParallelWork)
  for (int64_t item = 0; item < items; ++item) {
    const int64_t r = item < groups ? item * group : groups * group + (item - groups);
    if (item >= groups)
      sums[r] = row_dot(a + r * stride, b + r * stride, n);
    else if (avx512)
      isa_paths::row_dots_group_avx512(a + r * stride, b + r * stride, n, stride, sums + r);
    else
      isa_paths::row_dots_group_avx2(a + r * stride, b + r * stride, n, stride, sums + r);
  }
}

}  // namespace tt
