// The fused AdamW pass on AVX2 + FMA.
#include "kernels/cpu/isa_paths.h"
#include "kernels/cpu/vec_avx2.h"
#include "kernels/cpu/adamw_kernel.h"

namespace tt {

void isa_paths::adamw_update_run_avx2(const AdamWBuffers& buffers, int64_t begin, int64_t count, float decay,
                                 const AdamWScalars& scalars) {
  adamw_update_run<Avx2>(buffers, begin, count, decay, scalars);
}

}  // namespace tt
