#include "kernels/cpu/row_dots.h"

#include <cmath>

#include "core/cpu_features.h"
#include "kernels/cpu/isa_paths.h"

namespace tt {

// The loop `for i: sum += a[i] * b[i]` as GCC's x86-64-v3 build compiles it (its vector body rounds
// the products of the first n - n % 4 elements, its scalar tail fuses), written out so that every
// compiler gives these bits (this file is compiled with -ffp-contract=off): clang fused every term,
// so a row summed alone differed from the same row summed in a group (row_dots_kernel.h).
float row_dot(const float* a, const float* b, int64_t n) {
  const int64_t body = n - n % 4;
  float sum = 0.0f;
  for (int64_t i = 0; i < body; ++i) sum += a[i] * b[i];
  for (int64_t i = body; i < n; ++i) sum = std::fma(a[i], b[i], sum);
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
