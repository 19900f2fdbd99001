// Row dot products, 16 rows a group, on AVX-512 (the same 8-float operations, EVEX-encoded with 32
// registers; called only when the CPU has it).
#include "kernels/cpu/isa_paths.h"
#include "kernels/cpu/row_dots_kernel.h"

namespace tt {

int isa_paths::row_dots_group_rows_avx512() { return kDotRowsPerSet * kDotSets; }

void isa_paths::row_dots_group_avx512(const float* a, const float* b, int64_t n, int64_t stride, float* sums) {
  row_dots_group(a, b, n, stride, sums);
}

}  // namespace tt
