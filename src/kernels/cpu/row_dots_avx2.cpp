// Row dot products, 16 rows a group, on AVX2 + FMA.
#include "kernels/cpu/isa_paths.h"
#include "kernels/cpu/row_dots_kernel.h"

namespace tt {

int isa_paths::row_dots_group_rows_avx2() { return kDotRowsPerSet * kDotSets; }

void isa_paths::row_dots_group_avx2(const float* a, const float* b, int64_t n, int64_t stride, float* sums) {
  row_dots_group(a, b, n, stride, sums);
}

}  // namespace tt
