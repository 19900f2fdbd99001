#include "kernels/cpu/row_dots.h"

#include "core/cpu_features.h"
#include "kernels/cpu/isa_paths.h"

namespace tt {

float row_dot(const float* a, const float* b, int64_t n) {
  float sum = 0.0f;
  for (int64_t i = 0; i < n; ++i) sum += a[i] * b[i];
  return sum;
}

void row_dots(const float* a, const float* b, int64_t rows, int64_t n, int64_t stride, float* sums) {
  const bool avx512 = active_isa() >= Isa::AVX512;
  const int64_t group = avx512 ? isa_paths::row_dots_group_rows_avx512() : isa_paths::row_dots_group_rows_avx2();
  int64_t r = 0;
  for (; r + group <= rows; r += group)
    if (avx512)
      isa_paths::row_dots_group_avx512(a + r * stride, b + r * stride, n, stride, sums + r);
    else
      isa_paths::row_dots_group_avx2(a + r * stride, b + r * stride, n, stride, sums + r);
  for (; r < rows; ++r) sums[r] = row_dot(a + r * stride, b + r * stride, n);
}

}  // namespace tt
